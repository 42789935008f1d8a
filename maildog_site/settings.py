"""Maildog settings: everything comes from the environment, with embedded defaults.

Embedded default: SQLite in the data directory (WAL) and the in-memory channel
layer, so one process runs everything. `DATABASE_URL` and `REDIS_URL` switch to
PostgreSQL and Redis for production. With `DEBUG` off nothing insecure is assumed:
a missing `SECRET_KEY` stops start-up.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent.parent


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


def envbool(name, default="0"):
    """A yes/no variable; anything but the usual words stops start-up rather than meaning "no"."""
    value = os.environ.get(name, default).strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off.")


def envint(name, default):
    value = os.environ.get(name, str(default)).strip()
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None


def envfloat(name, default):
    value = os.environ.get(name, str(default)).strip()
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None


def envlist(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG")

DATA_DIR = Path(os.environ.get("MAILDOG_DATA_DIR", BASE_DIR / "data")).resolve()


def _secret_key():
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: a random key kept in the data directory, so sessions
    # survive restarts without anyone committing a fixed key.
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key_file = DATA_DIR / "dev-secret-key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "channels",
    "allauth",
    "allauth.account",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files come from drf-spectacular-sidecar: served by Maildog, no CDN.
    "drf_spectacular_sidecar",
    "accounts",
    "inboxes",
    "api",
    "deliverability",
    "reports",
    "smtpd",
    "faults",
    "webhooks",
    "metrics",
]

MIDDLEWARE = [
    # First: load balancers probe /health/ by IP over plain HTTP (see health.py).
    "maildog_site.health.HealthCheckMiddleware",
    # Prometheus scrapes by IP too; it answers only with MAILDOG_METRICS_TOKEN set and sent.
    "metrics.exposition.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "maildog_site.urls"
WSGI_APPLICATION = "maildog_site.wsgi.application"
ASGI_APPLICATION = "maildog_site.asgi.application"

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
                "accounts.context_processors.preferences",
            ],
        },
    },
]

# Database: SQLite in the data directory unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'maildog.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# DATABASE_POOL=1 (the web process, under ASGI): PostgreSQL connections come from a pool and go
# back to it after each request or websocket query, instead of a new connection each time
# (persistent connections are not safe under ASGI, where a request's thread does not outlive it).
DATABASE_POOL = envbool("DATABASE_POOL")
if DATABASE_POOL and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": envint("DATABASE_POOL_MAX_SIZE", 10),
        # Seconds a request waits for a connection: under the 5 s a load balancer's health check
        # usually allows, so that /health/ answers 503 rather than nothing when the database is down.
        "timeout": 4,
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets readers (the web pages) run while the SMTP side writes; with WAL,
    # synchronous=NORMAL keeps every commit durable against process crashes
    # without an fsync per message. IMMEDIATE transactions take the write lock
    # up front, so concurrent writers queue instead of failing mid-transaction.
    DATABASES["default"]["CONN_MAX_AGE"] = 0 if DEBUG else DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file, not a shared in-memory database: the SMTP listener and
    # the browser tests write from other threads, as in production.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channels: in-memory for the single embedded process, Redis to span processes.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # No socket read timeout: the layer blocks in BZPOPMIN between
                # messages, and redis-py 8's default timeout would break every
                # idle websocket after a few seconds.
                "hosts": [{"address": REDIS_URL, "socket_timeout": None}],
                "prefix": os.environ.get("MAILDOG_REDIS_PREFIX", "maildog"),
            },
        }
    }
else:
    # Events waiting per consumer before new ones are dropped (Channels' default: 100).
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

SITE_ID = 1
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = os.environ.get("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# The scheme of links in Maildog's own emails (verification, reset).
ACCOUNT_DEFAULT_HTTP_PROTOCOL = os.environ.get("ACCOUNT_DEFAULT_HTTP_PROTOCOL", "https" if not DEBUG else "http")
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Maildog] "
# Signs in on confirmation in the browser that signed up; in another one the sign-in page
# follows, with the address filled in (accounts/adapter.py).
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm"}
# Pages and messages ("Successfully signed in as ...") name people by email, as the header does.
ACCOUNT_USER_DISPLAY = "accounts.adapter.user_display"
# Team invitations can be accepted for this many days after they are sent.
MAILDOG_INVITATION_DAYS = envint("MAILDOG_INVITATION_DAYS", 7)

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# One way of writing dates and times everywhere: "2026-11-25 20:05:03" (maildog_site/formats/en/formats.py).
FORMAT_MODULE_PATH = ["maildog_site.formats"]

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Maildog's own outgoing mail (verification, password reset, invitations).
# Never used for captured messages: Maildog does not deliver what it catches.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Maildog <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Maildog ---------------------------------------------------------------
# The host name the SMTP server announces and puts in its certificate; also
# what the Integration tab tells apps to connect to.
MAILDOG_SMTP_HOSTNAME = os.environ.get("MAILDOG_SMTP_HOSTNAME", "localhost")
MAILDOG_SMTP_BIND = os.environ.get("MAILDOG_SMTP_BIND", "127.0.0.1" if DEBUG else "0.0.0.0")
# "port:mode" pairs; mode is "starttls" (STARTTLS offered, AUTH only after it)
# or "tls" (TLS from the first byte).
MAILDOG_SMTP_PORTS = os.environ.get("MAILDOG_SMTP_PORTS", "2525:starttls,587:starttls,465:tls")
MAILDOG_TLS_CERT = os.environ.get("MAILDOG_TLS_CERT", "")
MAILDOG_TLS_KEY = os.environ.get("MAILDOG_TLS_KEY", "")
# Local use only: allow AUTH before STARTTLS (credentials in clear text).
MAILDOG_SMTP_ALLOW_PLAINTEXT_AUTH = envbool("MAILDOG_SMTP_ALLOW_PLAINTEXT_AUTH")

MAILDOG_MAX_MESSAGE_BYTES = envint("MAILDOG_MAX_MESSAGE_BYTES", 25 * 1024 * 1024)
MAILDOG_MAX_RECIPIENTS = envint("MAILDOG_MAX_RECIPIENTS", 100)
MAILDOG_MAX_MESSAGES_PER_INBOX = envint("MAILDOG_MAX_MESSAGES_PER_INBOX", 100_000)
MAILDOG_MAX_SESSIONS = envint("MAILDOG_MAX_SESSIONS", 1000)
MAILDOG_MAX_SESSIONS_PER_CLIENT = envint("MAILDOG_MAX_SESSIONS_PER_CLIENT", 100)
# After this many failed AUTH attempts within the window, a client is refused
# for the rest of the window; each failure before that is answered more slowly.
MAILDOG_AUTH_MAX_FAILURES = envint("MAILDOG_AUTH_MAX_FAILURES", 10)
MAILDOG_AUTH_FAILURE_WINDOW = envint("MAILDOG_AUTH_FAILURE_WINDOW", 300)
MAILDOG_SMTP_TIMEOUT = envint("MAILDOG_SMTP_TIMEOUT", 300)
# --- SMTP before login -------------------------------------------------------
# A session that has not authenticated is closed after this many idle seconds
# (MAILDOG_SMTP_TIMEOUT applies after AUTH), and at MAILDOG_MAX_SESSIONS the
# oldest idle unauthenticated session makes room for a new connection.
MAILDOG_SMTP_UNAUTH_TIMEOUT = envint("MAILDOG_SMTP_UNAUTH_TIMEOUT", 30)
# Seconds a client has to finish the TLS handshake (implicit TLS and STARTTLS).
MAILDOG_SMTP_TLS_HANDSHAKE_TIMEOUT = envint("MAILDOG_SMTP_TLS_HANDSHAKE_TIMEOUT", 10)
# Longest SMTP command line outside DATA (bytes); DATA lines may be as long as a message.
MAILDOG_SMTP_MAX_COMMAND_BYTES = envint("MAILDOG_SMTP_MAX_COMMAND_BYTES", 4096)
MAILDOG_SHUTDOWN_GRACE = envint("MAILDOG_SHUTDOWN_GRACE", 30)
MAILDOG_DNS_NAMESERVERS = envlist("MAILDOG_DNS_NAMESERVERS")
MAILDOG_DNS_TIMEOUT = envfloat("MAILDOG_DNS_TIMEOUT", 5)
# SPF/DKIM/DMARC checks on every captured message (after the 250, in the background).
MAILDOG_AUTH_CHECKS = envbool("MAILDOG_AUTH_CHECKS", "1")
# On: a `manage.py runchecks` process runs the checks (the Procfile's `checks` line), and the SMTP
# processes only store mail. Off: the SMTP process runs them on its own threads (`serve`, or
# `runsmtp` alone).
MAILDOG_AUTH_CHECKS_PROCESS = envbool("MAILDOG_AUTH_CHECKS_PROCESS", "0")

# --- The report on each message (reports app; made with the checks above, in the background) ---
MAILDOG_REPORTS = envbool("MAILDOG_REPORTS", "1")
# Seconds for the content and HTML compatibility checks of one message (the spam
# score and the link check have budgets of their own); past it the report is "bounded".
MAILDOG_REPORT_TIME_LIMIT = envfloat("MAILDOG_REPORT_TIME_LIMIT", 10.0)
MAILDOG_REPORT_MAX_FINDINGS = envint("MAILDOG_REPORT_MAX_FINDINGS", 200)
# SpamAssassin's spamd, e.g. spamd://127.0.0.1:783; unset: no spam score (the report says so).
MAILDOG_SPAMD_URL = os.environ.get("MAILDOG_SPAMD_URL", "").strip()
MAILDOG_SPAMD_TIMEOUT = envfloat("MAILDOG_SPAMD_TIMEOUT", 15.0)
MAILDOG_SPAMD_MAX_BYTES = envint("MAILDOG_SPAMD_MAX_BYTES", 500 * 1024)  # spamc's default
# Link check (opt-in per inbox): links per message, seconds per request and in all, bytes read per body.
MAILDOG_LINK_CHECK_MAX_LINKS = envint("MAILDOG_LINK_CHECK_MAX_LINKS", 50)
MAILDOG_LINK_CHECK_TIMEOUT = envfloat("MAILDOG_LINK_CHECK_TIMEOUT", 5.0)
MAILDOG_LINK_CHECK_TIME_LIMIT = envfloat("MAILDOG_LINK_CHECK_TIME_LIMIT", 30.0)
MAILDOG_LINK_CHECK_MAX_BYTES = envint("MAILDOG_LINK_CHECK_MAX_BYTES", 64 * 1024)
MAILDOG_LINK_CHECK_MAX_REDIRECTS = envint("MAILDOG_LINK_CHECK_MAX_REDIRECTS", 5)

# --- Reading budgets ------------------------------------------------------------
# Every message is read (list summary, message page, API, checks) within these
# budgets; past one, the message stays stored and is shown raw with what was cut.
MAILDOG_PARSE_MAX_DEPTH = envint("MAILDOG_PARSE_MAX_DEPTH", 50)  # MIME nesting levels
MAILDOG_PARSE_MAX_PARTS = envint("MAILDOG_PARSE_MAX_PARTS", 1000)  # MIME parts per message
MAILDOG_PARSE_MAX_HEADER_BYTES = envint("MAILDOG_PARSE_MAX_HEADER_BYTES", 64 * 1024)  # one (unfolded) header
MAILDOG_PARSE_MAX_ENCODED_WORDS = envint("MAILDOG_PARSE_MAX_ENCODED_WORDS", 200)  # RFC 2047 words per header
# Decoded content (base64, quoted-printable, charsets) per message, all parts together.
MAILDOG_PARSE_MAX_DECODED_BYTES = envint("MAILDOG_PARSE_MAX_DECODED_BYTES", 32 * 1024 * 1024)
MAILDOG_PARSE_TIME_LIMIT = envfloat("MAILDOG_PARSE_TIME_LIMIT", 2.0)  # seconds of reading per message

# One line per record: "text" (key=value) or "json" for log pipelines.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'text' or 'json', not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "maildog_site.logs.KeyValueFormatter"},
        "json": {"()": "maildog_site.logs.JSONFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # aiosmtpd logs every command at INFO; Maildog logs one line per session.
        "mail.log": {"level": "ERROR"},
        "django.db.backends": {"level": "INFO"},
    },
}

# Development serves static files straight from the apps; production from
# STATIC_ROOT after collectstatic (compressed, hashed names).
WHITENOISE_USE_FINDERS = DEBUG
# Files served at the site's root: /favicon.ico, which browsers and other clients ask for.
WHITENOISE_ROOT = BASE_DIR / "maildog_site" / "root"
WHITENOISE_AUTOREFRESH = DEBUG
# Source maps are only fetched by browser devtools; compressing their megabytes
# (twice: plain and hashed names) would dominate collectstatic's time.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
# Drf-spectacular-sidecar's Redoc copy is not collected (see staticfinders).
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "maildog_site.staticfinders.AppDirectoriesFinder",
]

# --- API (/api/v1/) ----------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["api.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "api.permissions.ScopedTokenReadOnly",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiRateThrottle"],
    # Requests per token user (per address for anonymous requests), counted in
    # Django's cache: per process with the default local-memory cache.
    "DEFAULT_THROTTLE_RATES": {"api": os.environ.get("MAILDOG_API_RATE", "600/minute")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Maildog API",
    "DESCRIPTION": "Read and wait for captured mail from CI and end-to-end tests.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "api.schema.add_wait_endpoint",
    ],
}

# --- Production: HTTPS, cookies, proxies, health, retention ------------------
# Secure by default with DEBUG off; each can be relaxed by its variable.
# Behind a TLS-terminating proxy or platform router, set MAILDOG_BEHIND_PROXY=1
# so Django trusts its X-Forwarded-Proto (only ever behind a proxy that sets it).
MAILDOG_BEHIND_PROXY = envbool("MAILDOG_BEHIND_PROXY")
if MAILDOG_BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = envbool("USE_X_FORWARDED_HOST")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "0" if DEBUG else "1")
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", "0" if DEBUG else "1")
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", "0" if DEBUG else "1")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", "0" if DEBUG else "1")
# Preloading is a promise to browser vendors; opt in explicitly.
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD")

# The SMTP process answers GET /health on this port when it is set (0: off).
# SO_REUSEPORT on the SMTP listeners: several `runsmtp` processes of one user on one machine
# listen on the same ports, and the kernel spreads new connections among them (docs/scaling.md).
MAILDOG_SMTP_REUSE_PORT = envbool("MAILDOG_SMTP_REUSE_PORT")
MAILDOG_SMTP_HEALTH_PORT = envint("MAILDOG_SMTP_HEALTH_PORT", 0)
MAILDOG_SMTP_HEALTH_BIND = os.environ.get("MAILDOG_SMTP_HEALTH_BIND", MAILDOG_SMTP_BIND)

# Messages older than this many days are removed by `manage.py purgemessages`
# (0: keep until the inbox's cap pushes them out).
MAILDOG_MAX_MESSAGE_AGE_DAYS = envint("MAILDOG_MAX_MESSAGE_AGE_DAYS", 0)

# --- Fault injection, webhooks, metrics --------------------------------------------
# Longest an SMTP process keeps its copy of the fault rules without hearing of a change
# (changes are broadcast at once through the channel layer; this bounds a lost broadcast).
MAILDOG_FAULTS_REFRESH = envfloat("MAILDOG_FAULTS_REFRESH", 5)
# Webhook deliveries: seconds per attempt, attempts per event (backoff doubles from
# MAILDOG_WEBHOOK_RETRY_FIRST seconds), and consecutive failed events before a webhook is disabled.
MAILDOG_WEBHOOK_TIMEOUT = envfloat("MAILDOG_WEBHOOK_TIMEOUT", 10)
MAILDOG_WEBHOOK_ATTEMPTS = envint("MAILDOG_WEBHOOK_ATTEMPTS", 6)
MAILDOG_WEBHOOK_RETRY_FIRST = envfloat("MAILDOG_WEBHOOK_RETRY_FIRST", 10)
MAILDOG_WEBHOOK_DISABLE_AFTER = envint("MAILDOG_WEBHOOK_DISABLE_AFTER", 5)
# Prometheus metrics: the web process answers GET /metrics with this bearer token (unset: no endpoint);
# runsmtp serves its own on this host:port (unset: none). See docs/metrics.md.
MAILDOG_METRICS_TOKEN = os.environ.get("MAILDOG_METRICS_TOKEN", "")
MAILDOG_METRICS_ADDR = os.environ.get("MAILDOG_METRICS_ADDR", "")
# The checks process (`runchecks`) serves its own metrics: a port of its own beside runsmtp's.
MAILDOG_CHECKS_METRICS_ADDR = os.environ.get("MAILDOG_CHECKS_METRICS_ADDR", "")

# Redis channel layer whose connections survive a Redis restart (see maildog_site/channel_layers.py).
if REDIS_URL:
    from maildog_site.channel_layers import redis_channel_layer

    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL, os.environ.get("MAILDOG_REDIS_PREFIX", "maildog"))}
