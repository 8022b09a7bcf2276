"""Packbench settings.

Everything that differs between a packer's laptop, CI and production comes from
environment variables (documented in README.md, "Configuration"). The defaults are
the embedded station: SQLite, a file-system Celery broker and the local
SmartConnect sandbox, so `make run` needs no service installed.
A bad value stops start-up with a message that names the variable.
"""

import ipaddress
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# Embedded-mode state: SQLite, broker folders, rate-limit buckets, locks, label cache.
VAR_DIR = Path(env.str("PACKBENCH_VAR_DIR", default=str(BASE_DIR / "var")))


def _setting(name, cast, default):
    """Read one variable, naming it when its value cannot be used."""
    try:
        return cast(name, default=default)
    except ImproperlyConfigured:
        raise
    except Exception as exc:  # environ raises ValueError/KeyError with no variable name
        raise ImproperlyConfigured(f"Environment variable {name} has an invalid value: {exc}") from exc


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _strict_bool(name, default):
    # environ's bool() reads any unknown word as False; a typo must not silently switch DEBUG off or on.
    raw = env.str(name, default=None)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"Environment variable {name} must be true or false, not {raw!r}")


# --- Mode -----------------------------------------------------------------------------
# PACKBENCH_ENV=production turns on every production safeguard; anything else is development.
PACKBENCH_ENV = _setting("PACKBENCH_ENV", env.str, "development")
if PACKBENCH_ENV not in {"development", "production", "test"}:
    raise ImproperlyConfigured(
        f"Environment variable PACKBENCH_ENV must be development, production or test, not {PACKBENCH_ENV!r}"
    )
PRODUCTION = PACKBENCH_ENV == "production"

_DEV_SECRET_KEY = "dev-only-insecure-key-never-used-in-production"
_DEV_SALT = "dev-only-salt"


def _production_secret(name: str, *, min_length: int, value: str | None = None) -> str:
    """A secret production cannot run without: set, long, random-looking and not a development default.
    Refused at start-up, naming the variable, instead of failing on the first request."""
    value = env.str(name) if value is None else value  # unset: ImproperlyConfigured names it
    how = "set it to a long random value, e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    if not value.strip():
        raise ImproperlyConfigured(f"Environment variable {name} is empty: {how}")
    if value in {_DEV_SECRET_KEY, _DEV_SALT} or value.startswith("django-insecure"):
        raise ImproperlyConfigured(f"Environment variable {name} is the development default: {how}")
    if len(value) < min_length or len(set(value)) < 5:
        raise ImproperlyConfigured(
            f"Environment variable {name} is too short or too plain for production (at least {min_length} "
            f"characters, not a repeated one): {how}")
    return value


if PRODUCTION:
    if "DJANGO_DEBUG" in env and _strict_bool("DJANGO_DEBUG", False):
        raise ImproperlyConfigured(
            "Environment variable DJANGO_DEBUG is true, which production never allows (it shows settings and "
            "code to anyone who hits an error): remove it or set it to false")
    DEBUG = False
    SECRET_KEY = _production_secret("DJANGO_SECRET_KEY", min_length=50)
    SECRET_KEY_FALLBACKS = [_production_secret("DJANGO_SECRET_KEY_FALLBACKS", min_length=50, value=key)
                            for key in _setting("DJANGO_SECRET_KEY_FALLBACKS", env.list, [])]
    # Salt for the keys that encrypt seller secrets at rest (with SECRET_KEY; see accounts.SellerAccount).
    SALT_KEY = _production_secret("PACKBENCH_ENCRYPTION_SALT", min_length=16)
else:
    DEBUG = _strict_bool("DJANGO_DEBUG", True)
    SECRET_KEY = _setting("DJANGO_SECRET_KEY", env.str, _DEV_SECRET_KEY)
    SECRET_KEY_FALLBACKS = _setting("DJANGO_SECRET_KEY_FALLBACKS", env.list, [])
    SALT_KEY = _setting("PACKBENCH_ENCRYPTION_SALT", env.str, _DEV_SALT)
ALLOWED_HOSTS = _setting("DJANGO_ALLOWED_HOSTS", env.list, [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = _setting("DJANGO_CSRF_TRUSTED_ORIGINS", env.list, [])

# --- Applications ---------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
    "csp",
    "fulfillment.accounts",
    "fulfillment.amazon",
    "fulfillment.sandbox",
    "fulfillment.stations",
    "fulfillment.shipments",
    "fulfillment.documents",
    "fulfillment.printers",
    "fulfillment.claims",
    "fulfillment.supervision",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page but login needs a signed-in user; views opt out with @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "fulfillment.stations.middleware.StationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # An expired session answers HTMX polls with HX-Redirect to login, not a login page swapped into a panel.
    "fulfillment.shipments.middleware.HtmxLoginRedirectMiddleware",
    "axes.middleware.AxesMiddleware",
]

# WhiteNoise serves the static files in every mode (runserver's own serving is off: runserver_nostatic):
# in production collectstatic's compressed, cache-busted copies; elsewhere straight from the source
# folders, re-read on every change.
MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = not PRODUCTION

ROOT_URLCONF = "fulfillment.urls"
WSGI_APPLICATION = "fulfillment.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fulfillment.stations.context_processors.current_station",
            ],
            # {% partialdef %} and {% partial %} in every template, as in Django 6.
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# Embedded default: SQLite in WAL mode so web, worker and beat can share it.
DATABASES = {
    "default": _setting("DATABASE_URL", env.db_url, f"sqlite:///{VAR_DIR / 'packbench.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
    # PostgreSQL's JIT costs hundreds of ms planning the board's aggregates and saves nothing at our sizes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, shared state and rate limits ------------------------------------------------
# REDIS_URL set: Redis holds the cache (LWA access tokens) and the rate-limit buckets for
# every process. Unset: the database cache and a SQLite bucket file do the same job.
REDIS_URL = _setting("REDIS_URL", env.str, "")
if PRODUCTION and not REDIS_URL.strip():
    raise ImproperlyConfigured(
        "Environment variable REDIS_URL is not set: production shares Amazon's tokens, rate limits and the task "
        "queue between processes through Redis (e.g. redis://redis.internal:6379/0)")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    # Every request reads its session (a poll a second per open step): from Redis, the database on a miss.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "packbench_cache"}}

# --- Background work (Celery) -----------------------------------------------------------
# Embedded default: kombu's file-system transport, so a real worker process runs with no broker installed.
CELERY_BROKER_URL = _setting("CELERY_BROKER_URL", env.str, REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker"),
        "data_folder_out": str(VAR_DIR / "broker"),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {"visibility_timeout": 3600}
)
if CELERY_BROKER_URL.startswith("filesystem"):
    # kombu's file-system transport with atomic writes and unreadable messages set aside (fulfillment/broker.py).
    CELERY_BROKER_TRANSPORT = "fulfillment.broker:Transport"
CELERY_TASK_ALWAYS_EAGER = _strict_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection around every task unless this is set; the
# worker closes old connections itself, as a request does (fulfillment/celery.py).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# Redis may start after the worker, or restart under it: keep trying instead of exiting.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# On a lost broker connection the unacknowledged messages are delivered again. The running step goes
# on: its PostgreSQL lock makes the redelivered copy a no-op, where cancelling it would leave the step
# waiting out its lease before the reconciler hands it on.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
SHIPMENT_SYNC_INTERVAL_SECONDS = _setting("SHIPMENT_SYNC_INTERVAL_SECONDS", env.int, 30)
# Incremental syncs ask for changes since the last sync minus this overlap (clock skew, late writes).
SHIPMENT_SYNC_OVERLAP_SECONDS = _setting("SHIPMENT_SYNC_OVERLAP_SECONDS", env.int, 120)
# A RUNNING step whose heartbeat (renewed every third of the lease) is a lease old and that no live
# process holds, or a PENDING one queued longer ago than the grace, is requeued by the reconciler
# (every SHIPMENT_RECONCILE_SECONDS): a dead worker's step resumes within lease + cadence (< 60 s).
SHIPMENT_STEP_LEASE_SECONDS = _setting("SHIPMENT_STEP_LEASE_SECONDS", env.int, 30)
SHIPMENT_STEP_PENDING_GRACE_SECONDS = _setting("SHIPMENT_STEP_PENDING_GRACE_SECONDS", env.int, 30)
SHIPMENT_RECONCILE_SECONDS = _setting("SHIPMENT_RECONCILE_SECONDS", env.int, 10)
# Opening a shipment asks Amazon nothing when Amazon's view of it is this fresh (synced, or written by a step).
SHIPMENT_FRESH_SECONDS = _setting("SHIPMENT_FRESH_SECONDS", env.int, 120)
# A sync page whose status differs from one a step just set is taken for a view from before our write
# this long; after it, Amazon disagrees and wins. Keep it under the overlap (the sync sees a change again
# for that long).
SHIPMENT_DISAGREE_GRACE_SECONDS = _setting("SHIPMENT_DISAGREE_GRACE_SECONDS", env.int, 60)

# --- Supervision ---------------------------------------------------------------------------
CLAIM_LEASE_SECONDS = _setting("CLAIM_LEASE_SECONDS", env.int, 90)
CLAIM_HEARTBEAT_SECONDS = _setting("CLAIM_HEARTBEAT_SECONDS", env.int, 30)
SUPERVISION_AT_RISK_MINUTES = _setting("SUPERVISION_AT_RISK_MINUTES", env.int, 120)
SUPERVISION_STUCK_MINUTES = _setting("SUPERVISION_STUCK_MINUTES", env.int, 240)
SUPERVISION_REFRESH_SECONDS = _setting("SUPERVISION_REFRESH_SECONDS", env.int, 30)
# The board's status table: open shipments plus those finished (shipped, delivered, cancelled) this recently.
SUPERVISION_FINISHED_DAYS = _setting("SUPERVISION_FINISHED_DAYS", env.int, 7)

# --- Amazon External Fulfillment (SP-API) -------------------------------------------------
# AMAZON_ENDPOINT picks where calls go: a region name (na, eu, fe), Amazon's own sandbox
# (sandbox-na, sandbox-eu, sandbox-fe) or a URL such as the local sandbox's.
AMAZON_ENDPOINT = _setting("AMAZON_ENDPOINT", env.str, None if PRODUCTION else "http://127.0.0.1:8001")
AMAZON_LWA_TOKEN_URL = _setting("AMAZON_LWA_TOKEN_URL", env.str,
                                None if PRODUCTION else "http://127.0.0.1:8001/auth/o2/token")


def _production_amazon_url(name: str, value: str, *, names_allowed: bool) -> None:
    """Production talks to Amazon over https, never to the local sandbox (or anything on this machine)."""
    from urllib.parse import urlsplit

    example = "eu (or na, fe)" if names_allowed else "https://api.amazon.com/auth/o2/token"
    if not (value or "").strip():
        raise ImproperlyConfigured(f"Environment variable {name} is not set: production needs {example}")
    if names_allowed and value.strip().lower() in {"na", "eu", "fe", "sandbox-na", "sandbox-eu", "sandbox-fe"}:
        return
    parts = urlsplit(value.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host or host == "localhost" or host.startswith("127.") or host in {"::1", "0.0.0.0"}:
        raise ImproperlyConfigured(
            f"Environment variable {name} is {value!r}, which is not Amazon: production needs {example}")


if PRODUCTION:
    _production_amazon_url("AMAZON_ENDPOINT", AMAZON_ENDPOINT, names_allowed=True)
    _production_amazon_url("AMAZON_LWA_TOKEN_URL", AMAZON_LWA_TOKEN_URL, names_allowed=False)
AMAZON_LWA_CLIENT_ID = _setting("AMAZON_LWA_CLIENT_ID", env.str, "" if PRODUCTION else "amzn1.application-oa2-client.sandbox")
AMAZON_LWA_CLIENT_SECRET = _setting("AMAZON_LWA_CLIENT_SECRET", env.str, "" if PRODUCTION else "sandbox-secret")
AMAZON_LWA_REFRESH_TOKEN = _setting("AMAZON_LWA_REFRESH_TOKEN", env.str, "" if PRODUCTION else "Atzr|sandbox-refresh-token")
AMAZON_SELLER_ACCOUNT = _setting("AMAZON_SELLER_ACCOUNT", env.str, "default")
# Seller-fulfilled orders are read at most this often (getOrders' plan is about one request a minute).
MFN_SYNC_INTERVAL_SECONDS = _setting("MFN_SYNC_INTERVAL_SECONDS", env.float, 60.0)
# Marketplaces whose seller-fulfilled (MFN) orders the settings' account packs (getOrders asks for
# them; a SellerAccount names its own). Outside production: the sandbox's US, India and Germany.
AMAZON_MARKETPLACE_IDS = _setting("AMAZON_MARKETPLACE_IDS", env.list,
                                  [] if PRODUCTION else ["ATVPDKIKX0DER", "A21TJRUUN4KGV", "A1PA6795UKMFR9"])
# Where MFN labels are sent from, per country of the marketplace (Merchant Fulfillment's Address:
# Name, AddressLine1, City, StateOrProvinceCode, PostalCode, Phone, Email). Outside production: the
# sandbox's warehouses.
MFN_SHIP_FROM = _setting("MFN_SHIP_FROM", env.json, {} if PRODUCTION else {
    "US": {"AddressLine1": "1 Warehouse Way", "City": "Kent", "StateOrProvinceCode": "WA", "PostalCode": "98032",
           "Phone": "+1 253 555 0100"},
    "IN": {"AddressLine1": "Plot 7, Logistics Park", "City": "Bhiwandi", "StateOrProvinceCode": "MH",
           "PostalCode": "421302", "Phone": "+91 22 4000 1234"},
    "DE": {"AddressLine1": "Lagerstrasse 1", "City": "Hamburg", "StateOrProvinceCode": "HH", "PostalCode": "22113",
           "Phone": "+49 40 5550100"},
})
AMAZON_TIMEOUT_SECONDS = _setting("AMAZON_TIMEOUT_SECONDS", env.float, 20.0)
# Per-operation limits "operation=rate/burst,..." on top of the default of 1 request/s, burst 1.
AMAZON_RATE_LIMITS = _setting("AMAZON_RATE_LIMITS", env.dict, {})
AMAZON_RATE_LIMIT_DB = VAR_DIR / "ratelimit.sqlite3"
# Requests are spaced this fraction slower than Amazon's rate, to absorb arrival jitter.
AMAZON_RATE_LIMIT_HEADROOM = _setting("AMAZON_RATE_LIMIT_HEADROOM", env.float, 0.03)
AMAZON_RATE_LIMIT_MAX_WAIT_SECONDS = _setting("AMAZON_RATE_LIMIT_MAX_WAIT_SECONDS", env.float, 30.0)
AMAZON_RETRY_ATTEMPTS = _setting("AMAZON_RETRY_ATTEMPTS", env.int, 4)
AMAZON_RETRY_INITIAL_WAIT_SECONDS = _setting("AMAZON_RETRY_INITIAL_WAIT_SECONDS", env.float, 0.5)
AMAZON_RETRY_MAX_WAIT_SECONDS = _setting("AMAZON_RETRY_MAX_WAIT_SECONDS", env.float, 8.0)
# Bytes from outside are bounded (fulfillment/amazon/transport.py): an Amazon answer by AMAZON_TIMEOUT_SECONDS
# and this size; the label downloads of one step by their own deadline and DOCUMENT_MAX_BYTES each.
AMAZON_MAX_RESPONSE_BYTES = _setting("AMAZON_MAX_RESPONSE_BYTES", env.int, 10_000_000)
AMAZON_LABEL_DOWNLOAD_SECONDS = _setting("AMAZON_LABEL_DOWNLOAD_SECONDS", env.float, 30.0)
# Label links are followed only to these hosts over https (".x.com": x.com and every name under it), and
# only to public addresses; outside production also to the configured sandbox's own label files.
AMAZON_LABEL_URL_HOSTS = _setting("AMAZON_LABEL_URL_HOSTS", env.list, [".amazonaws.com", ".amazon.com"])

# --- Local SmartConnect sandbox --------------------------------------------------------------
SANDBOX_ADDR = _setting("SANDBOX_ADDR", env.str, "127.0.0.1:8001")
SANDBOX_SEED = _setting("SANDBOX_SEED", env.int, 40)
SANDBOX_LABEL_URL_TTL_SECONDS = _setting("SANDBOX_LABEL_URL_TTL_SECONDS", env.int, 300)

# --- Documents ----------------------------------------------------------------------------------
# The largest label or invoice file Packbench stores (decoded); nothing a station prints comes near it.
DOCUMENT_MAX_BYTES = _setting("DOCUMENT_MAX_BYTES", env.int, 5_000_000)

# --- Stations and printers ---------------------------------------------------------------------
PRINTER_TIMEOUT_SECONDS = _setting("PRINTER_TIMEOUT_SECONDS", env.float, 5.0)

# --- Auth ----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # failed-login throttling (django-axes)
    # ModelBackend whose user read brings the user's roles and locations (one query, not three).
    "fulfillment.accounts.backends.PackbenchBackend",
]
# Lock out a user name from one address, never a whole address: a warehouse shares one IP.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = _setting("LOGIN_FAILURE_LIMIT", env.int, 5)
AXES_COOLOFF_TIME = _setting("LOGIN_LOCKOUT_MINUTES", env.int, 15) / 60  # hours
AXES_RESET_ON_SUCCESS = True
# A try during a lockout is refused without being counted: the lockout ends LOGIN_LOCKOUT_MINUTES after it
# began, however often someone tries (else a colleague could keep a packer out all shift).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# The address a sign-in comes from: REMOTE_ADDR, or behind one of TRUSTED_PROXIES the client it names in
# X-Forwarded-For (see accounts.client_ip). Addresses or networks, comma-separated; empty: no proxy.
TRUSTED_PROXIES = _setting("TRUSTED_PROXIES", env.list, [])
try:
    [ipaddress.ip_network(proxy.strip(), strict=False) for proxy in TRUSTED_PROXIES]
except ValueError as exc:
    raise ImproperlyConfigured(f"Environment variable TRUSTED_PROXIES has an invalid address: {exc}") from exc
AXES_CLIENT_IP_CALLABLE = "fulfillment.accounts.client_ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
if PACKBENCH_ENV == "test":
    # The suite creates and signs in hundreds of users: PBKDF2's million rounds cost minutes of CI.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation --------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = _setting("TIME_ZONE", env.str, "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Security ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
# Workstations are shared: a session ends with a shift, not after Django's two weeks.
SESSION_COOKIE_AGE = int(_setting("SESSION_HOURS", env.float, 12.0) * 3600)
X_FRAME_OPTIONS = "DENY"  # the print views that frame our own PDFs opt in with @xframe_options_sameorigin
if PRODUCTION:
    SECURE_SSL_REDIRECT = _strict_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _setting("DJANGO_SECURE_HSTS_SECONDS", env.int, 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# Content-Security-Policy (django-csp): scripts only from our own origin, htmx's eval features off
# (see base.html's htmx-config). Style attributes stay allowed: templates size bars and charts with them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}

# --- Logging -------------------------------------------------------------------------------
# `make run` writes every process into one terminal: each names itself in its lines ("[web]", "[worker]"),
# from PACKBENCH_PROCESS, which supervisord.conf sets per program. Unset (production's own process
# managers label their lines), nothing is added.
_PROCESS = env.str("PACKBENCH_PROCESS", "")
_LOG_PREFIX = f"[{_PROCESS}] " if _PROCESS else ""
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": f"%(asctime)s {_LOG_PREFIX}%(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _setting("LOG_LEVEL", env.str, "INFO")},
    "loggers": {
        # runserver's request lines, with the others (Django gives them a format of their own).
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},  # seven progress lines per PDF at INFO
        "fontTools": {"level": "WARNING"},
    },
}

# The worker and beat log through Celery's own formats: the same process name in front.
CELERY_WORKER_LOG_FORMAT = f"[%(asctime)s: %(levelname)s/%(processName)s] {_LOG_PREFIX}%(message)s"
CELERY_WORKER_TASK_LOG_FORMAT = (f"[%(asctime)s: %(levelname)s/%(processName)s] {_LOG_PREFIX}"
                                 "%(task_name)s[%(task_id)s]: %(message)s")
