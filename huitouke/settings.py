"""Django settings for Huitouke. Everything that varies between installations comes from the environment.

See `.env.example` for every variable. The embedded default needs none of them: SQLite in HUITOUKE_HOME (default
./var), a secret key generated once and kept there.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

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
    "huitouke.demo",
]

MIDDLEWARE = [
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
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "huitouke.core.middleware.Int64GuardMiddleware",
    "huitouke.core.middleware.ApplicationErrorMiddleware",
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
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The covering (INCLUDE) search indexes are a PostgreSQL speed-up; SQLite builds them as plain indexes.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}

# Background work (Huey). Embedded: a SQLite queue file in HUITOUKE_HOME, drained by `huitouke worker`.
# Production: REDIS_URL=redis://host:6379/0 and any number of `huitouke worker` processes.
REDIS_URL = env.str("REDIS_URL", default="")
HUEY = {
    "huey_class": "huey.RedisHuey" if REDIS_URL else "huey.SqliteHuey",
    "name": "huitouke",
    "immediate": env.bool("HUEY_IMMEDIATE", default=False),
    "results": False,
    "connection": {"url": REDIS_URL}
    if REDIS_URL
    else {"filename": str(_private_file(HUITOUKE_HOME / "queue.sqlite3"))},
    "consumer": {"workers": env.int("HUITOUKE_WORKER_THREADS", default=2), "worker_type": "thread"},
}

# Every background job must finish within this many seconds of starting; past it the job is failed with the
# reason (and its work stops at its next progress report), instead of showing "running" forever.
HUITOUKE_JOB_TIME_LIMIT = env.int("HUITOUKE_JOB_TIME_LIMIT", default=30 * 60)

# The customer list is paginated; the API caps page sizes the same way.
HUITOUKE_PAGE_SIZE = 50
# Searches by phone or email (whole value or last four digits) that one user without the unmask permission may
# make per hour, web and API together; each one is audited.
HUITOUKE_CONTACT_SEARCHES_PER_HOUR = env.int("HUITOUKE_CONTACT_SEARCHES_PER_HOUR", default=60)

# Messaging. Links in messages (unsubscribe) start with HUITOUKE_PUBLIC_URL. Channel secrets are stored encrypted
# with Fernet: HUITOUKE_FERNET_KEYS (comma separated, the first encrypts; older ones still decrypt) or, when unset,
# a key derived from the secret key. A channel secret written as env:HUITOUKE_SECRET_X is read from that variable.
HUITOUKE_PUBLIC_URL = env.str("HUITOUKE_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
HUITOUKE_FERNET_KEYS = env.list("HUITOUKE_FERNET_KEYS", default=[])
HUITOUKE_CHANNEL_SECRETS = {k: v for k, v in env.ENVIRON.items() if k.startswith("HUITOUKE_SECRET_")}
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
