"""Signing in on a shared floor: a lockout that ends when it says, whoever keeps trying; the real
workstation address behind the trusted proxy; sessions that end with a shift; passwords every
user changes."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.urls import reverse

from fulfillment.accounts.client_ip import client_ip

pytestmark = pytest.mark.django_db
PASSWORD = "a-good-packer-password"


@pytest.fixture
def pat():
    return User.objects.create_user("pat", password=PASSWORD)


def _sign_in(client, password, address="10.1.1.5", **extra):
    return client.post(reverse("accounts:login"), {"username": "pat", "password": password},
                       REMOTE_ADDR=address, **extra)


def _lockout_began(minutes_ago):
    AccessAttempt.objects.filter(username="pat").update(
        attempt_time=AccessAttempt.objects.get(username="pat").attempt_time - timedelta(minutes=minutes_ago))


def test_tries_during_a_lockout_do_not_start_it_again(client, pat, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "wrong")
    assert _sign_in(client, PASSWORD).status_code == 429  # locked: even the right password
    _lockout_began(minutes_ago=14)
    began = AccessAttempt.objects.get(username="pat").attempt_time
    for _ in range(3):  # a colleague keeps trying in the last minute
        assert _sign_in(client, "wrong").status_code == 429
    attempt = AccessAttempt.objects.get(username="pat")
    assert attempt.attempt_time == began and attempt.failures_since_start == settings.AXES_FAILURE_LIMIT
    _lockout_began(minutes_ago=2)  # 16 minutes since it began
    response = _sign_in(client, PASSWORD)
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_the_lockout_page_says_the_wait_does_not_restart(client, pat, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        page = _sign_in(client, "wrong")
    assert page.status_code == 429
    text = page.content.decode()
    assert "15 minutes" in text and "does not start the wait again" in text and "People page" in text


def _request(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.mark.parametrize(("proxies", "remote", "forwarded", "client"), [
    pytest.param([], "10.0.0.2", "203.0.113.9", "10.0.0.2", id="no-proxy-configured-header-ignored"),
    pytest.param(["10.0.0.2"], "10.0.0.2", "192.168.7.31", "192.168.7.31", id="behind-the-proxy"),
    pytest.param(["10.0.0.0/24"], "10.0.0.2", "1.2.3.4, 192.168.7.31", "192.168.7.31", id="forged-left-part-ignored"),
    pytest.param(["10.0.0.0/24"], "10.0.0.2", "192.168.7.31, 10.0.0.9", "192.168.7.31", id="two-trusted-hops"),
    pytest.param(["10.0.0.2"], "192.168.7.31", "1.2.3.4", "192.168.7.31", id="direct-request-cannot-name-itself"),
    pytest.param(["10.0.0.2"], "10.0.0.2", "not-an-address", "10.0.0.2", id="garbage-header"),
    pytest.param(["10.0.0.2"], "10.0.0.2", None, "10.0.0.2", id="no-header"),
    pytest.param(["::1"], "::1", "2001:db8::7", "2001:db8::7", id="ipv6"),
])
def test_the_client_address_behind_a_trusted_proxy(settings, proxies, remote, forwarded, client):
    settings.TRUSTED_PROXIES = proxies
    assert client_ip(_request(remote, forwarded)) == client


def test_a_lockout_behind_the_proxy_keeps_other_workstations_signing_in(client, pat, settings):
    """Everyone comes through the proxy at 10.0.0.2: one workstation locked out is not the floor."""
    settings.TRUSTED_PROXIES = ["10.0.0.2"]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(client, "wrong", address="10.0.0.2", HTTP_X_FORWARDED_FOR="192.168.7.31")
    assert _sign_in(client, PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="192.168.7.31").status_code == 429
    assert AccessAttempt.objects.get(username="pat").ip_address == "192.168.7.31"
    other = _sign_in(client, PASSWORD, address="10.0.0.2", HTTP_X_FORWARDED_FOR="192.168.7.32")
    assert other.status_code == 302


def test_a_session_lasts_a_shift(client, pat, settings):
    assert settings.SESSION_COOKIE_AGE == 12 * 3600
    _sign_in(client, PASSWORD)
    assert client.session.get_expiry_age() == 12 * 3600
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == 12 * 3600


def test_every_user_changes_their_own_password(client, pat):
    client.force_login(pat)
    page = client.get(reverse("accounts:password_change"))
    assert page.status_code == 200 and 'name="old_password"' in page.content.decode()
    wrong = client.post(reverse("accounts:password_change"),
                        {"old_password": "nope", "new_password1": "a-new-one-for-pat-2", "new_password2": "a-new-one-for-pat-2"})
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    done = client.post(reverse("accounts:password_change"), {"old_password": PASSWORD,
                       "new_password1": "a-new-one-for-pat-2", "new_password2": "a-new-one-for-pat-2"})
    assert done["Location"] == reverse("home")
    pat.refresh_from_db()
    assert pat.check_password("a-new-one-for-pat-2")
    after = client.get(reverse("accounts:password_change"))  # still signed in, and told
    assert after.status_code == 200 and "Your password is changed." in after.content.decode()
