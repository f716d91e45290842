"""Django settings for Huitouke. Everything that varies between installations comes from the environment.

See `.env.example` for every variable. The embedded default needs none of them: SQLite in HUITOUKE_HOME (default
./var), a secret key generated once and kept there.
"""

from __future__ import annotations

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
HUITOUKE_HOME.mkdir(parents=True, exist_ok=True)

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
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
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

DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{HUITOUKE_HOME / 'huitouke.sqlite3'}"
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
    "connection": {"url": REDIS_URL} if REDIS_URL else {"filename": str(HUITOUKE_HOME / "queue.sqlite3")},
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
HUITOUKE_DISPATCH_BATCH = env.int("HUITOUKE_DISPATCH_BATCH", default=500)
HUITOUKE_DISPATCH_PARALLEL = env.int("HUITOUKE_DISPATCH_PARALLEL", default=2)
HUITOUKE_MESSAGE_LEASE_SECONDS = env.int("HUITOUKE_MESSAGE_LEASE_SECONDS", default=120)
HUITOUKE_SEND_MAX_ATTEMPTS = env.int("HUITOUKE_SEND_MAX_ATTEMPTS", default=6)
HUITOUKE_RETRY_BASE_SECONDS = env.int("HUITOUKE_RETRY_BASE_SECONDS", default=30)

# The public self-service help page (/help/): how long a signed link in a message stays valid, how many requests
# one address may send and one order number may be tried per hour, and the photo limits. Behind a reverse proxy,
# HUITOUKE_SELF_SERVICE_PROXY_HOPS = the number of proxies that append to X-Forwarded-For (0: use REMOTE_ADDR).
HUITOUKE_SELF_SERVICE_LINK_DAYS = env.int("HUITOUKE_SELF_SERVICE_LINK_DAYS", default=30)
HUITOUKE_SELF_SERVICE_PER_IP_PER_HOUR = env.int("HUITOUKE_SELF_SERVICE_PER_IP_PER_HOUR", default=30)
HUITOUKE_SELF_SERVICE_PER_ORDER_PER_HOUR = env.int("HUITOUKE_SELF_SERVICE_PER_ORDER_PER_HOUR", default=8)
HUITOUKE_SELF_SERVICE_MAX_PHOTOS = env.int("HUITOUKE_SELF_SERVICE_MAX_PHOTOS", default=6)
HUITOUKE_SELF_SERVICE_PHOTO_MAX_BYTES = env.int("HUITOUKE_SELF_SERVICE_PHOTO_MAX_BYTES", default=5 * 1024 * 1024)
HUITOUKE_SELF_SERVICE_PROXY_HOPS = env.int("HUITOUKE_SELF_SERVICE_PROXY_HOPS", default=0)
