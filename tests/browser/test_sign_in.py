"""Signing in, in Chromium: a packer locked out after too many wrong passwords is told how long and
who can help; their supervisor sees it on the People page and unlocks them; every user changes
their own password."""

import pytest
from playwright.sync_api import expect

from fulfillment.accounts import roles
from tests.conftest import SCREENSHOTS

from .helpers import PASSWORD, make_packer, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_a_supervisor_unlocks_a_locked_out_packer(page, browser, browser_context_args, live_server, settings, shoot):
    make_packer("pat")
    make_user("sofia", roles.SUPERVISOR)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _sign_in(page, live_server, "pat", "wrong password")
    expect(page.get_by_role("alert")).to_contain_text("Wait 15 minutes")
    expect(page.get_by_role("alert")).to_contain_text("ask a supervisor to unlock it")
    shoot("70-locked-out")
    _sign_in(page, live_server, "pat", PASSWORD)  # the right password changes nothing while locked
    expect(page.get_by_role("heading", name="Too many sign-in attempts")).to_be_visible()

    supervisor = browser.new_context(**browser_context_args).new_page()
    _sign_in(supervisor, live_server, "sofia", PASSWORD)
    supervisor.get_by_role("link", name="People").click()
    row = supervisor.locator("[data-person=pat]")
    expect(row.locator("[data-locked]")).to_contain_text("Locked out until")
    SCREENSHOTS.mkdir(exist_ok=True)
    supervisor.screenshot(path=str(SCREENSHOTS / "71-people-locked-1366x768.png"))
    row.locator("[data-action=UNLOCK]").click()
    expect(supervisor.get_by_text("pat can sign in again.")).to_be_visible()
    expect(supervisor.locator("[data-person=pat] [data-locked]")).to_have_count(0)
    supervisor.context.close()

    _sign_in(page, live_server, "pat", PASSWORD)
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    expect(page.locator(".topbar .user")).to_have_text("pat")


def test_a_packer_changes_their_password(page, live_server, shoot):
    make_packer("pat")
    _sign_in(page, live_server, "pat", PASSWORD)
    page.wait_for_url(lambda url: "/accounts/login" not in url)
    page.locator(".topbar").get_by_role("link", name="Password").click()
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "pats-brand-new-pass-7")
    page.fill("#id_new_password2", "pats-brand-new-pass-7")
    shoot("72-password-change")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    page.locator(".topbar").get_by_role("button", name="Sign out").click()
    _sign_in(page, live_server, "pat", "pats-brand-new-pass-7")
    page.wait_for_url(lambda url: "/accounts/login" not in url)
