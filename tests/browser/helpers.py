"""Steps every browser test takes: a packer signs in and picks the station."""

import re

from django.contrib.auth.models import Group, User

from fulfillment.accounts import roles

PASSWORD = "packer-password-for-tests"


def make_user(username, role):
    user = User.objects.create_user(username, password=PASSWORD)
    user.groups.add(Group.objects.get_or_create(name=role)[0])  # transactional tests flush migrated rows
    return user


def make_packer(username="packer"):
    return make_user(username, roles.PACKER)


def sign_in_at_station(page, live_server, user, station_name):
    """Sign in and pick the station; packers land on the queue, supervisors on the floor board."""
    start = re.compile(rf"^{re.escape(live_server.url)}/(shipments|supervision)/$")
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(start)
    page.goto(f"{live_server.url}/stations/")
    page.get_by_role("button", name=station_name).click()
    page.wait_for_url(start)
