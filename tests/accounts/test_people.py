"""A supervisor unlocks a packer and gives them a new password; never more than that."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, User
from django.urls import reverse

from fulfillment.accounts import roles

pytestmark = pytest.mark.django_db
PASSWORD = "a-good-password-for-tests"


def _user(username, *groups, **extra):
    user = User.objects.create_user(username, password=PASSWORD, **extra)
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def _lock_out(client, username, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("accounts:login"), {"username": username, "password": "wrong"})
    client.logout()


@pytest.fixture
def floor():
    return {
        "pat": _user("pat", roles.PACKER), "sofia": _user("sofia", roles.SUPERVISOR),
        "sam": _user("sam", roles.SUPERVISOR), "ada": _user("ada", roles.ADMIN, is_staff=True, is_superuser=True),
    }


def test_a_supervisor_sees_a_locked_out_packer_and_unlocks_them(client, floor, settings):
    _lock_out(client, "pat", settings)
    assert client.post(reverse("accounts:login"), {"username": "pat", "password": PASSWORD}).status_code == 429
    client.force_login(floor["sofia"])
    page = client.get(reverse("accounts:people")).content.decode()
    assert 'data-person="pat" class="locked"' in page and "Locked out until" in page
    assert 'data-person="sam"' not in page and 'data-person="ada"' not in page  # packers only
    response = client.post(reverse("accounts:unlock", args=[floor["pat"].pk]), follow=True)
    assert "pat can sign in again." in response.content.decode()
    assert not AccessAttempt.objects.filter(username="pat").exists()
    client.logout()
    assert client.post(reverse("accounts:login"), {"username": "pat", "password": PASSWORD}).status_code == 302


def test_a_supervisor_gives_a_packer_a_new_password_with_djangos_form(client, floor):
    client.force_login(floor["pat"])
    packer_session = client.cookies[("sessionid")].value
    other = client.__class__()
    other.force_login(floor["sofia"])
    url = reverse("accounts:set_password", args=[floor["pat"].pk])
    mismatch = other.post(url, {"new_password1": "brand-new-pass-77", "new_password2": "other-pass-77"})
    assert "The two password fields" in mismatch.content.decode()
    assert other.post(url, {"new_password1": "brand-new-pass-77", "new_password2": "brand-new-pass-77"}).status_code == 302
    floor["pat"].refresh_from_db()
    assert floor["pat"].check_password("brand-new-pass-77")
    # The packer's old session ended with the old password.
    client.cookies["sessionid"] = packer_session
    assert client.get(reverse("shipments:queue"))["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("target", ["sam", "ada"])
def test_a_supervisor_cannot_touch_another_supervisor_or_an_admin(client, floor, target):
    client.force_login(floor["sofia"])
    assert client.post(reverse("accounts:unlock", args=[floor[target].pk])).status_code == 404
    url = reverse("accounts:set_password", args=[floor[target].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"new_password1": "takeover-pass-77", "new_password2": "takeover-pass-77"}).status_code == 404
    floor[target].refresh_from_db()
    assert floor[target].check_password(PASSWORD)


def test_a_packer_manages_nobody(client, floor):
    client.force_login(floor["pat"])
    assert client.get(reverse("accounts:people")).status_code == 403
    assert client.post(reverse("accounts:unlock", args=[floor["pat"].pk])).status_code == 403


def test_an_admin_looks_after_everyone_else(client, floor, settings):
    _lock_out(client, "sam", settings)
    client.force_login(floor["ada"])
    page = client.get(reverse("accounts:people")).content.decode()
    assert all(f'data-person="{name}"' in page for name in ("pat", "sofia", "sam"))
    assert 'data-person="sam" class="locked"' in page and 'data-person="ada"' not in page
    url = reverse("accounts:set_password", args=[floor["sam"].pk])
    assert client.post(url, {"new_password1": "sams-new-pass-77", "new_password2": "sams-new-pass-77"}).status_code == 302
    assert not AccessAttempt.objects.filter(username="sam").exists()  # a new password also unlocks
