"""Packbench settings.

Everything that differs between a packer's laptop, CI and production comes from
environment variables (documented in README.md, "Configuration"). The defaults are
the embedded station: SQLite, a file-system Celery broker and the local
SmartConnect sandbox, so `make run` needs no service installed.
A bad value stops start-up with a message that names the variable.
"""

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

DEBUG = _strict_bool("DJANGO_DEBUG", not PRODUCTION)
if PRODUCTION:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")  # required: ImproperlyConfigured names it
else:
    SECRET_KEY = _setting("DJANGO_SECRET_KEY", env.str, "dev-only-insecure-key-never-used-in-production")
SECRET_KEY_FALLBACKS = _setting("DJANGO_SECRET_KEY_FALLBACKS", env.list, [])
# Salt for the keys that encrypt seller secrets at rest (with SECRET_KEY; see accounts.SellerAccount).
if PRODUCTION:
    SALT_KEY = env.str("PACKBENCH_ENCRYPTION_SALT")
else:
    SALT_KEY = _setting("PACKBENCH_ENCRYPTION_SALT", env.str, "dev-only-salt")
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
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
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
# A RUNNING step older than its lease, or a PENDING one older than the grace, is requeued by the reconciler.
SHIPMENT_STEP_LEASE_SECONDS = _setting("SHIPMENT_STEP_LEASE_SECONDS", env.int, 300)
SHIPMENT_STEP_PENDING_GRACE_SECONDS = _setting("SHIPMENT_STEP_PENDING_GRACE_SECONDS", env.int, 60)

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
AMAZON_ENDPOINT = _setting("AMAZON_ENDPOINT", env.str, "http://127.0.0.1:8001")
AMAZON_LWA_TOKEN_URL = _setting("AMAZON_LWA_TOKEN_URL", env.str, "http://127.0.0.1:8001/auth/o2/token")
AMAZON_LWA_CLIENT_ID = _setting("AMAZON_LWA_CLIENT_ID", env.str, "" if PRODUCTION else "amzn1.application-oa2-client.sandbox")
AMAZON_LWA_CLIENT_SECRET = _setting("AMAZON_LWA_CLIENT_SECRET", env.str, "" if PRODUCTION else "sandbox-secret")
AMAZON_LWA_REFRESH_TOKEN = _setting("AMAZON_LWA_REFRESH_TOKEN", env.str, "" if PRODUCTION else "Atzr|sandbox-refresh-token")
AMAZON_SELLER_ACCOUNT = _setting("AMAZON_SELLER_ACCOUNT", env.str, "default")
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

# --- Local SmartConnect sandbox --------------------------------------------------------------
SANDBOX_ADDR = _setting("SANDBOX_ADDR", env.str, "127.0.0.1:8001")
SANDBOX_SEED = _setting("SANDBOX_SEED", env.int, 40)
SANDBOX_LABEL_URL_TTL_SECONDS = _setting("SANDBOX_LABEL_URL_TTL_SECONDS", env.int, 300)

# --- Stations and printers ---------------------------------------------------------------------
PRINTER_TIMEOUT_SECONDS = _setting("PRINTER_TIMEOUT_SECONDS", env.float, 5.0)

# --- Auth ----------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # failed-login throttling (django-axes)
    "django.contrib.auth.backends.ModelBackend",
]
# Lock out a user name from one address, never a whole address: a warehouse shares one IP.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = _setting("LOGIN_FAILURE_LIMIT", env.int, 5)
AXES_COOLOFF_TIME = _setting("LOGIN_LOCKOUT_MINUTES", env.int, 15) / 60  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
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
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _setting("LOG_LEVEL", env.str, "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},  # seven progress lines per PDF at INFO
        "fontTools": {"level": "WARNING"},
    },
}
