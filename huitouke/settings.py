"""Django settings for Huitouke. Everything that varies between installations comes from the environment.

See `.env.example` for every variable. The embedded default needs none of them: SQLite in HUITOUKE_HOME (default
./var), a secret key generated once and kept there.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from huitouke.core.observability import RequestIdSerializer

BASE_DIR = Path(__file__).resolve().parent

env = environ.Env()
_env_file = Path.cwd() / ".env"
if _env_file.is_file():
    environ.Env.read_env(str(_env_file))

HUITOUKE_HOME = Path(env.str("HUITOUKE_HOME", default="var")).resolve()
if not HUITOUKE_HOME.exists():
    # the home holds the database, the secret key and exports of personal data: its owner only may read it
    HUITOUKE_HOME.mkdir(parents=True, exist_ok=True)
    HUITOUKE_HOME.chmod(0o700)


def _private_file(path: Path) -> Path:
    """Create `path` empty and readable by its owner only unless it exists (an empty file is a valid SQLite
    database, and SQLite gives its -wal and -shm files the database file's permissions)."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    return path


DEBUG = env.bool("DJANGO_DEBUG", default=False)
PRODUCTION = env.bool("HUITOUKE_PRODUCTION", default=False)


def _secret_key() -> str:
    """The configured key; in production without debug it is required, otherwise one is generated and kept."""
    key = env.str("DJANGO_SECRET_KEY", default="")
    if key:
        return key
    if PRODUCTION and not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when HUITOUKE_PRODUCTION is on and DJANGO_DEBUG is off"
        )
    path = HUITOUKE_HOME / "secret_key"
    if not path.exists():
        _private_file(path).write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "ninja",
    "huey.contrib.djhuey",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "huitouke.apps.ProjectConfig",
    "huitouke.core",
    "huitouke.customers",
    "huitouke.orders",
    "huitouke.reviews",
    "huitouke.loyalty",
    "huitouke.analytics",
    "huitouke.audiences",
    "huitouke.messaging",
    "huitouke.service",
    "huitouke.campaigns",
    "huitouke.care",
    "huitouke.visits",
    "huitouke.connectors",
    "huitouke.demo",
]

MIDDLEWARE = [
    "huitouke.core.observability.RequestIdMiddleware",
    "huitouke.core.observability.RequestMetricsMiddleware",
    "huitouke.core.routers.ReplicaMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "huitouke.core.headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "huitouke.core.middleware.DefaultLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "huitouke.core.middleware.ControlCharacterMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "huitouke.core.audit.AuditAddressMiddleware",
    "huitouke.core.signin.SessionIdleMiddleware",
    "huitouke.core.middleware.AccessMiddleware",
    "huitouke.core.signin.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "huitouke.core.middleware.Int64GuardMiddleware",
    "huitouke.core.middleware.ApplicationErrorMiddleware",
    # last, as django-axes asks: it turns a locked-out sign-in into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "huitouke.urls"
WSGI_APPLICATION = "huitouke.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "huitouke.core.context_processors.roles",
            ],
        },
    }
]

DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{_private_file(HUITOUKE_HOME / 'huitouke.sqlite3')}"
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers work while the worker writes; IMMEDIATE avoids lock upgrades that fail under load.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        }
    )
    DATABASES["default"]["TEST"] = {"NAME": str(HUITOUKE_HOME / "test.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
# A PostgreSQL streaming replica for the heavy read-only pages (core.routers): analytics, segment counts, exports,
# staff and review reports. A browser that just changed something reads from the primary for a few seconds.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    DATABASES["replica"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["huitouke.core.routers.ReplicaRouter"]
HUITOUKE_REPLICA_PIN_SECONDS = env.int("HUITOUKE_REPLICA_PIN_SECONDS", default=10)
HUITOUKE_REPLICA_VIEWS = env.list(
    "HUITOUKE_REPLICA_VIEWS",
    default=[
        "analytics:dashboard",
        "analytics:products",
        "analytics:groups",
        "analytics:cohorts",
        "audiences:count",
        "customers:export",
        "loyalty:export",
        "loyalty:at-risk",
        "service_reports:*",
        "reviews:analytics",
        "reviews:credit",
    ],
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The covering (INCLUDE) search indexes are a PostgreSQL speed-up; SQLite builds them as plain indexes.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env.int("HUITOUKE_PASSWORD_MIN_LENGTH", default=12)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in protection (django-axes): the first backend refuses a locked-out account or address before the password
# is checked. HUITOUKE_SIGNIN_FAILURE_LIMIT failed sign-ins for one user name, or from one address, lock that
# name or address out for HUITOUKE_SIGNIN_LOCKOUT_MINUTES (tries during the lockout do not extend it); owners see
# lockouts on /account/lockouts/ and can lift them.
AUTHENTICATION_BACKENDS = [
    "huitouke.core.signin.SignInGuardBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("HUITOUKE_SIGNIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("HUITOUKE_SIGNIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "huitouke.core.audit.client_ip"
AXES_LOCKOUT_CALLABLE = "huitouke.core.account_views.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ADMIN = False
# Two-factor sign-in (TOTP): the roles that must use it (comma separated, e.g. "owner,manager"; empty: optional
# for everyone). A user of such a role without a confirmed authenticator is sent to enrol after signing in.
HUITOUKE_2FA_REQUIRED_ROLES = env.list("HUITOUKE_2FA_REQUIRED_ROLES", default=[])
OTP_TOTP_ISSUER = env.str("HUITOUKE_2FA_ISSUER", default="Huitouke")
# A signed-in session ends after this many minutes without a request (the next page asks to sign in again).
HUITOUKE_SESSION_IDLE_MINUTES = env.int("HUITOUKE_SESSION_IDLE_MINUTES", default=60)
SESSION_COOKIE_AGE = env.int("HUITOUKE_SESSION_MAX_HOURS", default=12) * 3600
# Audit entries older than this many days are removed by the nightly job (itself audited); 0 keeps them all.
HUITOUKE_AUDIT_RETENTION_DAYS = env.int("HUITOUKE_AUDIT_RETENTION_DAYS", default=3 * 365)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Pages start in LANGUAGE_CODE until a user switches; set this to follow the browser's language instead.
HUITOUKE_FOLLOW_BROWSER_LANGUAGE = env.bool("HUITOUKE_FOLLOW_BROWSER_LANGUAGE", default=False)
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = HUITOUKE_HOME / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing folder; files come from the apps (finders)
WHITENOISE_USE_FINDERS = True
# plotly's bundled plotly.min.js is served from the installed package (offline charts, no CDN)
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "huitouke.analytics.finders.PlotlyFinder",
]
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = HUITOUKE_HOME / "media"
EXPORT_ROOT = HUITOUKE_HOME / "exports"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=PRODUCTION)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Browser policies sent with every answer (core.headers.SecurityHeadersMiddleware). Scripts come only from this
# site's files (no inline script, no eval); styles may be inline (plotly and htmx set them); nothing may frame us.
HUITOUKE_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HUITOUKE_PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), midi=(), "
    "magnetometer=(), gyroscope=(), accelerometer=(), display-capture=()"
)
# Behind a TLS-terminating proxy that sets a header saying the request came over HTTPS, name that header here
# (e.g. X-Forwarded-Proto; the proxy must overwrite it, never pass the client's). Unset: the header is not trusted.
_proxy_ssl_header = env.str("DJANGO_SECURE_PROXY_SSL_HEADER", default="").strip()
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
    if not SECURE_HSTS_PRELOAD:
        # joining the browsers' preload list is hard to undo: the operator opts in, so its warning is not shown
        SILENCED_SYSTEM_CHECKS.append("security.W021")

# Logs: one line per event on stderr with the request id (also on a worker's lines for tasks a request queued);
# LOG_FORMAT=json prints each as a JSON object. The web server's access log follows the same format.
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "huitouke.core.observability.RequestIdFilter"}},
    "formatters": {
        "text": {"()": "huitouke.core.observability.TextFormatter"},
        "json": {"()": "huitouke.core.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
    # the worker's own lines (task started/finished) through the same handler, once
    "loggers": {"huey": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO"), "propagate": False}},
}

# Background work (Huey). Embedded: a SQLite queue file in HUITOUKE_HOME, drained by `huitouke worker`.
# Production: REDIS_URL=redis://host:6379/0 and any number of `huitouke worker` processes.
REDIS_URL = env.str("REDIS_URL", default="")
HUEY = {
    # the fleet classes stamp periodic tasks with their period, so each runs once per period across all workers
    "huey_class": "huitouke.core.fleet.FleetRedisHuey" if REDIS_URL else "huitouke.core.fleet.FleetSqliteHuey",
    "name": "huitouke",
    "immediate": env.bool("HUEY_IMMEDIATE", default=False),
    "results": False,
    "serializer": RequestIdSerializer(),
    "connection": {"url": REDIS_URL}
    if REDIS_URL
    else {"filename": str(_private_file(HUITOUKE_HOME / "queue.sqlite3"))},
    "consumer": {"workers": env.int("HUITOUKE_WORKER_THREADS", default=2), "worker_type": "thread"},
}

# A stopping worker (SIGTERM) waits this many seconds for its running tasks to finish; what is still running then
# is handed back: its Job goes back to the queue (imports are idempotent) and leased messages expire.
HUITOUKE_WORKER_SHUTDOWN_SECONDS = env.int("HUITOUKE_WORKER_SHUTDOWN_SECONDS", default=30)
# A worker writes a beat every 10 s; one silent for this many seconds was killed, and its running jobs are queued
# again for another worker (leased messages come back by their own lease, HUITOUKE_MESSAGE_LEASE_SECONDS).
HUITOUKE_WORKER_BEAT_TIMEOUT = env.int("HUITOUKE_WORKER_BEAT_TIMEOUT", default=60)

# `huitouke serve`: web processes (default 2 per core + 1, at most 8), seconds a request may take, and the proxies
# whose X-Forwarded-* headers are trusted (comma separated addresses; the default trusts only this machine).
HUITOUKE_WEB_WORKERS = env.int("HUITOUKE_WEB_WORKERS", default=0)
HUITOUKE_WEB_TIMEOUT = env.int("HUITOUKE_WEB_TIMEOUT", default=120)
HUITOUKE_FORWARDED_ALLOW_IPS = env.list("HUITOUKE_FORWARDED_ALLOW_IPS", default=["127.0.0.1", "::1"])

# /metrics (Prometheus): readable with `Authorization: Bearer HUITOUKE_METRICS_TOKEN` or from these networks.
HUITOUKE_METRICS_TOKEN = env.str("HUITOUKE_METRICS_TOKEN", default="")
HUITOUKE_METRICS_ALLOWED_NETWORKS = env.list("HUITOUKE_METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
HUITOUKE_METRICS_CACHE_SECONDS = env.int("HUITOUKE_METRICS_CACHE_SECONDS", default=10)

# Every background job must finish within this many seconds of starting; past it the job is failed with the
# reason (and its work stops at its next progress report), instead of showing "running" forever.
HUITOUKE_JOB_TIME_LIMIT = env.int("HUITOUKE_JOB_TIME_LIMIT", default=30 * 60)

# The customer list is paginated; the API caps page sizes the same way.
HUITOUKE_PAGE_SIZE = 50
# Searches by phone or email (whole value or last four digits) that one user without the unmask permission may
# make per hour, web and API together; each one is audited.
HUITOUKE_CONTACT_SEARCHES_PER_HOUR = env.int("HUITOUKE_CONTACT_SEARCHES_PER_HOUR", default=60)

# Personal data at rest (core.pii_crypto): customers' phone, email, real name and street address and orders' delivery
# details are encrypted with HUITOUKE_PII_KEYS (32-byte url-safe base64 keys as Fernet.generate_key() prints them,
# comma separated: the first encrypts, all decrypt; after putting a new key first run `huitouke pii-rekey`, then drop
# the old one) or, when unset, a key derived from the secret key. Searchable digests
# use HUITOUKE_PII_HASH_KEY (default: derived from the secret key; after changing it run `huitouke pii-rekey`).
# HUITOUKE_PII_RETENTION_YEARS: customers with no order for that many years are anonymised by the periodic tick
# (0: never).
HUITOUKE_PII_KEYS = env.list("HUITOUKE_PII_KEYS", default=[])
HUITOUKE_PII_HASH_KEY = env.str("HUITOUKE_PII_HASH_KEY", default="")
HUITOUKE_PII_RETENTION_YEARS = env.int("HUITOUKE_PII_RETENTION_YEARS", default=0)

# Messaging. Links in messages (unsubscribe) start with HUITOUKE_PUBLIC_URL. Channel secrets are stored encrypted
# with Fernet: HUITOUKE_FERNET_KEYS (comma separated, the first encrypts; older ones still decrypt) or, when unset,
# a key derived from the secret key. A channel secret written as env:HUITOUKE_SECRET_X is read from that variable.
HUITOUKE_PUBLIC_URL = env.str("HUITOUKE_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
HUITOUKE_FERNET_KEYS = env.list("HUITOUKE_FERNET_KEYS", default=[])
HUITOUKE_CHANNEL_SECRETS = {k: v for k, v in env.ENVIRON.items() if k.startswith("HUITOUKE_SECRET_")}
# Staff e-mail (an order source gone silent, a negative review; not customers' messages, which use the e-mail
# channel's own settings) goes through SMTP_URL: smtp://[user:password@]host[:port][?starttls=true] or
# smtps://… (TLS from the first byte, port 465 by default). Sender: HUITOUKE_FROM_EMAIL.
_smtp = urlsplit(env.str("SMTP_URL", default="smtp://localhost:25"))
if _smtp.scheme not in ("smtp", "smtps") or not _smtp.hostname:
    raise ImproperlyConfigured("SMTP_URL must look like smtp://user:password@host:587?starttls=true or smtps://host")
try:
    EMAIL_PORT = _smtp.port or (465 if _smtp.scheme == "smtps" else 25)
except ValueError as _exc:
    raise ImproperlyConfigured(f"SMTP_URL: {_exc}") from _exc
EMAIL_HOST = _smtp.hostname
EMAIL_HOST_USER = unquote(_smtp.username or "")
EMAIL_HOST_PASSWORD = unquote(_smtp.password or "")
EMAIL_USE_SSL = _smtp.scheme == "smtps"
EMAIL_USE_TLS = not EMAIL_USE_SSL and parse_qs(_smtp.query).get("starttls", ["false"])[-1].lower() in (
    "1",
    "true",
    "yes",
)
EMAIL_TIMEOUT = 15
DEFAULT_FROM_EMAIL = env.str("HUITOUKE_FROM_EMAIL", default="huitouke@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Outbound safety (messaging.channels.outbound): channel endpoints, webhook and robot URLs and SMTP servers on
# loopback, private, link-local or reserved addresses are refused unless allowed here, all of them
# (HUITOUKE_OUTBOUND_ALLOW_PRIVATE) or some networks (HUITOUKE_OUTBOUND_ALLOWED_NETWORKS=10.1.2.0/24,::1/128).
HUITOUKE_OUTBOUND_ALLOW_PRIVATE = env.bool("HUITOUKE_OUTBOUND_ALLOW_PRIVATE", default=False)
HUITOUKE_OUTBOUND_ALLOWED_NETWORKS = [
    n.strip() for n in env.list("HUITOUKE_OUTBOUND_ALLOWED_NETWORKS", default=[]) if n.strip()
]
for _network in HUITOUKE_OUTBOUND_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network.strip(), strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(f"HUITOUKE_OUTBOUND_ALLOWED_NETWORKS: {_exc}") from _exc
HUITOUKE_DISPATCH_BATCH = env.int("HUITOUKE_DISPATCH_BATCH", default=500)
HUITOUKE_DISPATCH_PARALLEL = env.int("HUITOUKE_DISPATCH_PARALLEL", default=2)
HUITOUKE_MESSAGE_LEASE_SECONDS = env.int("HUITOUKE_MESSAGE_LEASE_SECONDS", default=120)
HUITOUKE_SEND_MAX_ATTEMPTS = env.int("HUITOUKE_SEND_MAX_ATTEMPTS", default=6)
HUITOUKE_RETRY_BASE_SECONDS = env.int("HUITOUKE_RETRY_BASE_SECONDS", default=30)

# Public pages (unsubscribe, preferences, surveys, self-service) are limited per address (core.ratelimit). Behind
# reverse proxies, HUITOUKE_PROXY_HOPS = how many of them append to X-Forwarded-For (0: the address is REMOTE_ADDR).
HUITOUKE_PROXY_HOPS = env.int("HUITOUKE_PROXY_HOPS", default=0)

# The public self-service help page (/help/): how long a signed link in a message stays valid, how many requests
# one address may send and one order number may be tried per hour, and the photo limits. Behind a reverse proxy,
# HUITOUKE_SELF_SERVICE_PROXY_HOPS = the number of proxies that append to X-Forwarded-For (0: use REMOTE_ADDR).
HUITOUKE_SELF_SERVICE_LINK_DAYS = env.int("HUITOUKE_SELF_SERVICE_LINK_DAYS", default=30)
HUITOUKE_SELF_SERVICE_PER_IP_PER_HOUR = env.int("HUITOUKE_SELF_SERVICE_PER_IP_PER_HOUR", default=30)
HUITOUKE_SELF_SERVICE_PER_ORDER_PER_HOUR = env.int("HUITOUKE_SELF_SERVICE_PER_ORDER_PER_HOUR", default=8)
HUITOUKE_SELF_SERVICE_MAX_PHOTOS = env.int("HUITOUKE_SELF_SERVICE_MAX_PHOTOS", default=6)
HUITOUKE_SELF_SERVICE_PHOTO_MAX_BYTES = env.int("HUITOUKE_SELF_SERVICE_PHOTO_MAX_BYTES", default=5 * 1024 * 1024)
HUITOUKE_SELF_SERVICE_PROXY_HOPS = env.int("HUITOUKE_SELF_SERVICE_PROXY_HOPS", default=HUITOUKE_PROXY_HOPS)
