"""The project's foundation: configuration, login and roles."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse

from fulfillment.accounts import roles

ROOT = Path(__file__).resolve().parent.parent


def _django_check(**env_overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PACKBENCH_", "AMAZON_"))}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_embedded_stations_web_process_serves_the_css_and_scripts_its_pages_link(tmp_path):
    """Regression: `make run` served pages without their CSS and htmx (runserver's static serving was
    off and WhiteNoise only on in production). Runs the web process exactly as supervisord.conf does."""
    import re
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "PACKBENCH_", "AMAZON_", "DATABASE_", "REDIS_"))}
    env.update(PACKBENCH_ENV="development", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    web = subprocess.Popen([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"], cwd=ROOT,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    login = http.get("/accounts/login/")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and web.poll() is None, "the web process did not start"
                    time.sleep(0.2)
            assert login.status_code == 200
            assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', login.text)
            assert any(a.endswith(".css") for a in assets) and any("htmx" in a for a in assets), assets
            for asset in assets:
                answer = http.get(asset)
                assert answer.status_code == 200 and answer.content, asset
    finally:
        web.terminate()
        web.wait(timeout=10)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("AMAZON_TIMEOUT_SECONDS", "soon"),
        ("SHIPMENT_SYNC_INTERVAL_SECONDS", "every-minute"),
        ("PACKBENCH_ENV", "staging"),
        ("DJANGO_DEBUG", "perhaps"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_the_variable(variable, value):
    result = _django_check(**{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr.splitlines()[-1]


def test_production_refuses_to_start_without_a_secret_key():
    result = _django_check(PACKBENCH_ENV="production", DJANGO_ALLOWED_HOSTS="packbench.example")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deploy_check():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            # Browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; a deployment never has it.
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "PACKBENCH_ENV": "production",
            "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-value-1234567890",
            "DJANGO_ALLOWED_HOSTS": "packbench.example",
            "PACKBENCH_ENCRYPTION_SALT": "a-production-salt",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "AMAZON_ENDPOINT": "eu",
            "AMAZON_LWA_TOKEN_URL": "https://api.amazon.com/auth/o2/token",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.mark.django_db
def test_every_page_but_login_needs_a_signed_in_user(client):
    for url in (reverse("home"), reverse("shipments:queue"), reverse("stations:choose"), "/admin/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:login")) or "/admin/login" in response["Location"]
    assert client.get(reverse("accounts:login")).status_code == 200


@pytest.mark.django_db
def test_demo_users_sign_in_with_their_printed_passwords(client):
    call_command("seed_demo_users", stdout=open(os.devnull, "w"))
    response = client.post(reverse("accounts:login"), {"username": "packer", "password": "packbench-packer"})
    assert response.status_code == 302
    packer = User.objects.get(username="packer")
    assert roles.has_role(packer, roles.PACKER)
    assert not roles.has_role(packer, roles.SUPERVISOR, roles.ADMIN)
    assert roles.has_role(User.objects.get(username="admin"), roles.ADMIN)


@pytest.mark.django_db
def test_a_wrong_password_is_refused_with_a_message(client):
    call_command("seed_demo_users", stdout=open(os.devnull, "w"))
    response = client.post(reverse("accounts:login"), {"username": "packer", "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


@pytest.mark.django_db
def test_the_roles_exist_as_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)


@pytest.mark.django_db
def test_choosing_a_station_sticks_to_the_session(client):
    call_command("seed_demo_users", stdout=open(os.devnull, "w"))
    call_command("seed_station", stdout=open(os.devnull, "w"))
    client.force_login(User.objects.get(username="supervisor"))  # at both demo locations
    from fulfillment.stations.models import Station

    station = Station.objects.get(name="Station 2")
    client.post(reverse("stations:use", args=[station.pk]))
    page = client.get(reverse("stations:choose"))
    assert page.context["current_station"] == station
    # The demo packer belongs to Station 1's location only: Station 2 is refused, Station 1 needs no choice.
    client.force_login(User.objects.get(username="packer"))
    refused = client.post(reverse("stations:use", args=[station.pk]))
    assert refused.status_code == 404 and "not a station of your location" in refused.content.decode()
    page = client.get(reverse("stations:choose"))
    assert [s.name for s in page.context["stations"]] == ["Station 1"]
    assert page.context["current_station"].name == "Station 1"


@pytest.mark.django_db
def test_seller_secrets_are_encrypted_at_rest_and_never_in_repr():
    from django.db import connection

    from fulfillment.accounts.models import SellerAccount

    account = SellerAccount.objects.create(
        name="acme", lwa_client_id="amzn1.application-oa2-client.x",
        lwa_client_secret="amzn1.oa2-cs.v1.topsecret", refresh_token="Atzr|IwEBIrefresh",
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT lwa_client_secret, refresh_token FROM accounts_selleraccount WHERE id = %s", [account.pk])
        stored_secret, stored_token = cursor.fetchone()
    assert "topsecret" not in stored_secret and "IwEBI" not in stored_token
    reloaded = SellerAccount.objects.get(pk=account.pk)
    assert reloaded.lwa_client_secret == "amzn1.oa2-cs.v1.topsecret"
    assert reloaded.refresh_token == "Atzr|IwEBIrefresh"
    assert "topsecret" not in repr(reloaded) and "topsecret" not in str(reloaded)


@pytest.mark.django_db
def test_the_admin_form_never_shows_a_stored_secret_and_blank_keeps_it(admin_client):
    from fulfillment.accounts.models import SellerAccount

    account = SellerAccount.objects.create(
        name="acme", lwa_client_id="cid", lwa_client_secret="amzn1.oa2-cs.v1.topsecret", refresh_token="Atzr|IwEBIrefresh"
    )
    url = f"/admin/accounts/selleraccount/{account.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "topsecret" not in page and "IwEBIrefresh" not in page
    # Not even the last characters of either secret, anywhere on the page.
    words_gone = re.sub(r"(?i)secrets?|refresh", "", page)
    assert "cret" not in words_gone and "resh" not in words_gone
    assert page.count("A value is stored. Leave blank to keep it") == 2
    response = admin_client.post(url, {
        "name": "acme", "endpoint": "eu", "token_url": "https://api.amazon.com/auth/o2/token",
        "marketplace_ids": "A1PA6795UKMFR9", "lwa_client_id": "cid", "lwa_client_secret": "", "refresh_token": "",
        "active": "on",
    })
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.lwa_client_secret == "amzn1.oa2-cs.v1.topsecret"
    assert account.marketplace_ids == "A1PA6795UKMFR9"


@pytest.mark.django_db
def test_failed_logins_lock_one_user_name_not_the_whole_warehouse_address(client):
    call_command("seed_demo_users", stdout=open(os.devnull, "w"))
    login = reverse("accounts:login")
    for _ in range(5):
        client.post(login, {"username": "packer", "password": "wrong"})
    locked = client.post(login, {"username": "packer", "password": "packbench-packer"})
    assert locked.status_code == 429
    assert b"Too many sign-in attempts" in locked.content
    assert b"15 minutes" in locked.content
    # Another packer at the same warehouse address still signs in.
    other = client.post(login, {"username": "supervisor", "password": "packbench-supervisor"})
    assert other.status_code == 302


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_eval_or_inline_scripts(client):
    response = client.get(reverse("accounts:login"))
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert "unsafe-eval" not in policy and "unsafe-inline" not in directives["script-src"]
    assert "frame-ancestors" not in directives  # X-Frame-Options: DENY covers framing
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/", "/\\evil.example",
                                    "https:evil.example", "javascript:alert(1)", "  https://evil.example"])
def test_the_station_switch_never_sends_anyone_off_site(client, target):
    call_command("seed_demo_users", stdout=open(os.devnull, "w"))
    call_command("seed_station", stdout=open(os.devnull, "w"))
    client.force_login(User.objects.get(username="packer2"))  # Station 2's packer
    from fulfillment.stations.models import Station

    station = Station.objects.get(name="Station 2")
    response = client.post(reverse("stations:use", args=[station.pk]), {"next": target})
    assert response.status_code == 302 and response["Location"] == reverse("home")
    back = client.post(reverse("stations:use", args=[station.pk]), {"next": "/supervision/shipments/X-1/"})
    assert back["Location"] == "/supervision/shipments/X-1/"  # a page of this site is fine


# --- Production start-up ------------------------------------------------------------------------------

PRODUCTION_ENV = {
    "PACKBENCH_ENV": "production",
    "DJANGO_ALLOWED_HOSTS": "packbench.example",
    "DJANGO_SECRET_KEY": "kq3Zt7-wP0vN2xYb8LmR4sUe6HjC1aFd9GiK5oTpQ_rWz0XyVnBm3lSd",
    "PACKBENCH_ENCRYPTION_SALT": "a-production-salt",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "AMAZON_ENDPOINT": "eu",
    "AMAZON_LWA_TOKEN_URL": "https://api.amazon.com/auth/o2/token",
}


def _production_check(**env):
    """`manage.py check` with exactly these settings: none of this process's own (REDIS_URL included)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PACKBENCH_", "AMAZON_", "REDIS_"))}
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env={**base, **env}, capture_output=True,
                          text=True, timeout=120)


def test_production_starts_with_real_settings():
    result = _production_check(**PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("DJANGO_SECRET_KEY", "", "is empty"),
    ("DJANGO_SECRET_KEY", " ", "is empty"),
    ("DJANGO_SECRET_KEY", "dev-only-insecure-key-never-used-in-production", "development default"),
    ("DJANGO_SECRET_KEY", "django-insecure-" + "k" * 50, "development default"),
    ("DJANGO_SECRET_KEY", "s3cret-but-short", "too short"),
    ("DJANGO_SECRET_KEY", "x" * 64, "too short or too plain"),
    ("DJANGO_SECRET_KEY_FALLBACKS", "old-short-key", "too short"),
    ("PACKBENCH_ENCRYPTION_SALT", " ", "is empty"),
    ("PACKBENCH_ENCRYPTION_SALT", "dev-only-salt", "development default"),
    ("PACKBENCH_ENCRYPTION_SALT", "salt", "too short"),
    ("DJANGO_DEBUG", "true", "production never allows"),
    ("REDIS_URL", None, "is not set"),
    ("REDIS_URL", "", "is not set"),
    ("AMAZON_ENDPOINT", None, "is not set"),
    ("AMAZON_ENDPOINT", "http://127.0.0.1:8001", "which is not Amazon"),
    ("AMAZON_ENDPOINT", "https://localhost:8001", "which is not Amazon"),
    ("AMAZON_LWA_TOKEN_URL", None, "is not set"),
    ("AMAZON_LWA_TOKEN_URL", "http://127.0.0.1:8001/auth/o2/token", "which is not Amazon"),
    ("DJANGO_SECRET_KEY", None, "DJANGO_SECRET_KEY"),
])
def test_production_refuses_weak_or_missing_settings_naming_the_variable(variable, value, said):
    env = {**PRODUCTION_ENV, variable: value}
    if value is None:
        del env[variable]
    result = _production_check(**env)
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert variable in last and said in last, last


def test_a_bad_trusted_proxy_stops_start_up_naming_it():
    result = _django_check(TRUSTED_PROXIES="10.0.0.2,the-load-balancer")
    assert result.returncode != 0 and "TRUSTED_PROXIES" in result.stderr.strip().splitlines()[-1]


def test_the_shift_length_is_a_setting():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PACKBENCH_", "AMAZON_"))}
    result = subprocess.run([sys.executable, "manage.py", "shell", "-c",
                             "from django.conf import settings; print(settings.SESSION_COOKIE_AGE)"],
                            cwd=ROOT, env={**env, "SESSION_HOURS": "8"}, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip().splitlines()[-1] == str(8 * 3600), result.stderr
