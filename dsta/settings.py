"""DSTA settings: everything comes from the environment.

Defaults give the embedded mode (SQLite file under ``var/``, in-process broker, bus and channel
layer) so one command runs everything. Production values come only from the environment; in
production (``DSTA_ENV=production``) a missing secret is a startup error, not a silent default.
"""

import base64
import os
import secrets
from pathlib import Path
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DSTA_ENV = env.str("DSTA_ENV", default="local")  # local | test | production
PRODUCTION = DSTA_ENV == "production"
VAR_DIR = Path(env.str("DSTA_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _local_secret_key() -> str:
    """A key generated once per checkout and kept in var/, so sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when DSTA_ENV=production")
    SECRET_KEY = _local_secret_key()

DEBUG = env.bool("DEBUG", default=not PRODUCTION)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"] if not PRODUCTION else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- applications -------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "dsta.kernel.bus",
    "dsta.kernel.jobs",
    "dsta.kernel.ops",
    "domains.core",
    "domains.exchange",
    "domains.data",
    "domains.trading",
    "domains.ml",
    "dsta.dashboard",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "dsta.kernel.observability.middleware.RequestIdMiddleware",
    "dsta.kernel.ops.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files (admin, API docs, dashboard) under uvicorn too.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "dsta.urls"
WSGI_APPLICATION = "dsta.wsgi.application"
ASGI_APPLICATION = "dsta.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "dsta" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -----------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'dsta.sqlite3'}")
DATABASES = {"default": env.db_url_config(DATABASE_URL)}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, the worker thread and the relay read while one writes;
    # IMMEDIATE transactions take the write lock up front instead of failing mid-transaction.
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test_{os.getpid()}.sqlite3")}
else:
    _db.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    _db["CONN_HEALTH_CHECKS"] = True
    # One test database per test process, so parallel runs on one server never collide.
    _db["TEST"] = {"NAME": f"test_{_db['NAME']}_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis, broker, bus, channels, cache -------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# dramatiq broker: redis://... or amqp://...; empty means the in-process broker + worker thread.
BROKER_URL = env.str("BROKER_URL", default="")
# Event bus transport: empty = in-process, redis://... = Redis streams, amqp://... = RabbitMQ.
BUS_URL = env.str("BUS_URL", default="")
# Key/queue prefix so several deployments (or test runs) can share one Redis/RabbitMQ.
DSTA_NAMESPACE = env.str("DSTA_NAMESPACE", default="dsta")
# Jobs (docs/jobs.md): worker threads per process, this worker's name in Job.worker_id
# (default: host name), how often running jobs are heartbeaten and when a silent one is orphaned.
DSTA_WORKER_THREADS = env.int("DSTA_WORKER_THREADS", default=4)
DSTA_WORKER_NAME = env.str("DSTA_WORKER_NAME", default="")
DSTA_JOBS_HEARTBEAT_SECONDS = env.float("DSTA_JOBS_HEARTBEAT_SECONDS", default=10.0)
DSTA_JOBS_ORPHAN_AFTER_SECONDS = env.float("DSTA_JOBS_ORPHAN_AFTER_SECONDS", default=60.0)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": DSTA_NAMESPACE,
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": f"{DSTA_NAMESPACE}:asgi"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- service registry (adapter swap) -------------------------------------------------------
# DSTA_REMOTE_<DOMAIN>_URL=http://host:port makes the registry hand out an HTTP client for
# that domain's apis instead of the in-process implementation.
DSTA_DOMAINS = ["core", "exchange", "data", "trading", "ml"]
DSTA_REMOTE_SERVICES = {
    domain: url
    for domain in DSTA_DOMAINS
    if (url := env.str(f"DSTA_REMOTE_{domain.upper()}_URL", default=""))
}
# The internal RPC endpoint is off unless a service token is configured.
DSTA_SERVICE_TOKEN = env.str("DSTA_SERVICE_TOKEN", default="")
DSTA_RPC_TIMEOUT_SECONDS = env.float("DSTA_RPC_TIMEOUT_SECONDS", default=10.0)

# --- configuration service (core) ---------------------------------------------------------
# The environment this process reads config values for (falls back to "default").
DSTA_CONFIG_ENVIRONMENT = env.str("DSTA_CONFIG_ENVIRONMENT", default="default")
DSTA_CONFIG_MAX_VALUE_BYTES = env.int("DSTA_CONFIG_MAX_VALUE_BYTES", default=64 * 1024)
# A process re-reads the kill switch when its cached state is older than this.
DSTA_KILL_SWITCH_MAX_AGE_SECONDS = env.float("DSTA_KILL_SWITCH_MAX_AGE_SECONDS", default=5.0)

# --- secrets and notifications (core) -------------------------------------------------------


def _local_secrets_key() -> str:
    """A Fernet key generated once per checkout and kept in var/, like the SECRET_KEY."""
    path = VAR_DIR / "secrets_keys"
    if not path.exists():
        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        path.chmod(0o600)
    return path.read_text().strip()


# Comma-separated Fernet keys; the first encrypts, all decrypt (rotate_secrets re-encrypts).
DSTA_SECRETS_KEYS = env.list("DSTA_SECRETS_KEYS", default=[])
if not DSTA_SECRETS_KEYS:
    if PRODUCTION:
        raise ImproperlyConfigured("DSTA_SECRETS_KEYS must be set when DSTA_ENV=production")
    DSTA_SECRETS_KEYS = [_local_secrets_key()]
# Email through Django's backend (SMTP unless EMAIL_BACKEND says otherwise).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="dsta@localhost")
# Telegram Bot API: the platform's bot; users give their chat id in their preferences.
DSTA_TELEGRAM_BOT_TOKEN = env.str("DSTA_TELEGRAM_BOT_TOKEN", default="")
DSTA_TELEGRAM_API_BASE = env.str("DSTA_TELEGRAM_API_BASE", default="https://api.telegram.org")
# Same user + dedupe key within this many seconds: one delivery.
DSTA_NOTIFICATIONS_DEDUPE_SECONDS = env.int("DSTA_NOTIFICATIONS_DEDUPE_SECONDS", default=300)
# Attempts per channel, and the backoff between them: base * 2^(attempt-1), capped.
DSTA_NOTIFICATIONS_MAX_ATTEMPTS = env.int("DSTA_NOTIFICATIONS_MAX_ATTEMPTS", default=6)
DSTA_NOTIFICATIONS_RETRY_BASE_SECONDS = env.float(
    "DSTA_NOTIFICATIONS_RETRY_BASE_SECONDS", default=10.0
)
DSTA_NOTIFICATIONS_RETRY_MAX_SECONDS = env.float(
    "DSTA_NOTIFICATIONS_RETRY_MAX_SECONDS", default=1800.0
)
DSTA_NOTIFICATIONS_HTTP_TIMEOUT_SECONDS = env.float(
    "DSTA_NOTIFICATIONS_HTTP_TIMEOUT_SECONDS", default=10.0
)
# Webhooks to loopback/private addresses and over plain http: fine locally, refused in
# production unless allowed (a user-supplied URL must not reach internal services).
DSTA_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE = env.bool(
    "DSTA_NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE", default=not PRODUCTION
)

# --- authentication, API keys, users (core; docs/domains/core.md) ---------------------------
# JWTs are signed with HS256 under this key (default: derived from SECRET_KEY).
DSTA_JWT_SIGNING_KEY = env.str("DSTA_JWT_SIGNING_KEY", default="")
DSTA_JWT_ISSUER = env.str("DSTA_JWT_ISSUER", default="dsta")
DSTA_JWT_ACCESS_TTL_SECONDS = env.int("DSTA_JWT_ACCESS_TTL_SECONDS", default=300)
DSTA_JWT_REFRESH_TTL_SECONDS = env.int("DSTA_JWT_REFRESH_TTL_SECONDS", default=14 * 24 * 3600)
# Lockout: this many failed logins for one username from one address within the window lock
# that pair out for the cool-off (counted in the cache; never a permanent lock).
DSTA_LOGIN_MAX_FAILURES = env.int("DSTA_LOGIN_MAX_FAILURES", default=5)
DSTA_LOGIN_FAILURE_WINDOW_SECONDS = env.int("DSTA_LOGIN_FAILURE_WINDOW_SECONDS", default=900)
DSTA_LOGIN_LOCKOUT_SECONDS = env.int("DSTA_LOGIN_LOCKOUT_SECONDS", default=300)
# An API key's last-used time is written at most once per this many seconds.
DSTA_API_KEY_LAST_USED_INTERVAL_SECONDS = env.int(
    "DSTA_API_KEY_LAST_USED_INTERVAL_SECONDS", default=60
)
DSTA_INVITE_TTL_SECONDS = env.int("DSTA_INVITE_TTL_SECONDS", default=7 * 24 * 3600)
# Per-user, per-API-key and per-address (anonymous) request rates; "none" turns one off.
DSTA_THROTTLE_RATES = {
    scope: None if rate.lower() == "none" else rate
    for scope, rate in {
        "user": env.str("DSTA_THROTTLE_USER", default="1200/min"),
        "api_key": env.str("DSTA_THROTTLE_API_KEY", default="600/min"),
        "anon": env.str("DSTA_THROTTLE_ANON", default="120/min"),
    }.items()
}
# OpenID Connect sign-in: off unless an issuer is set (its discovery document is read).
DSTA_OIDC_ISSUER = env.str("DSTA_OIDC_ISSUER", default="")
DSTA_OIDC_CLIENT_ID = env.str("DSTA_OIDC_CLIENT_ID", default="")
DSTA_OIDC_CLIENT_SECRET = env.str("DSTA_OIDC_CLIENT_SECRET", default="")
# Where the provider sends the browser back; default: this server's /api/v1/auth/oidc/callback.
DSTA_OIDC_REDIRECT_URI = env.str("DSTA_OIDC_REDIRECT_URI", default="")
DSTA_OIDC_SCOPES = env.str("DSTA_OIDC_SCOPES", default="openid email profile")
# Users seen for the first time are created with this role (empty: refuse unknown users).
DSTA_OIDC_DEFAULT_ROLE = env.str("DSTA_OIDC_DEFAULT_ROLE", default="viewer")
DSTA_OIDC_TIMEOUT_SECONDS = env.float("DSTA_OIDC_TIMEOUT_SECONDS", default=10.0)
# Argon2id first: new and re-hashed passwords use it; PBKDF2 still reads older hashes.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Django's model backend plus the login lockout (admin and API logins alike).
AUTHENTICATION_BACKENDS = ["domains.core.backends.LockoutModelBackend"]

# --- exchange ---------------------------------------------------------------------------------
# Days of exchange request/response log kept; a daily job prunes older rows.
EXCHANGE_REQUEST_LOG_RETENTION_DAYS = env.int("EXCHANGE_REQUEST_LOG_RETENTION_DAYS", default=14)
# The live order reconciler (domains/exchange/services/orders/reconciler.py says why): a
# "submitting" order is in flight for GRACE seconds; an unanswered one is declared never placed
# after LOOKUPS "not found" answers and MIN_AGE seconds; working orders unheard of for RECHECK
# seconds are asked again; at most BATCH orders per account and run.
EXCHANGE_RECONCILE_GRACE_SECONDS = env.float("EXCHANGE_RECONCILE_GRACE_SECONDS", default=10.0)
EXCHANGE_RECONCILE_LOOKUPS = env.int("EXCHANGE_RECONCILE_LOOKUPS", default=3)
EXCHANGE_RECONCILE_MIN_AGE_SECONDS = env.float("EXCHANGE_RECONCILE_MIN_AGE_SECONDS", default=300.0)
EXCHANGE_RECONCILE_RECHECK_SECONDS = env.float("EXCHANGE_RECONCILE_RECHECK_SECONDS", default=300.0)
EXCHANGE_RECONCILE_BATCH = env.int("EXCHANGE_RECONCILE_BATCH", default=100)
# What moves the paper venue's books (domains/exchange/services/paper/market_feed.py says how):
# source venues, most preferred first; the candle timeframe; how old a closed bar may be and
# still be news; how long a source stays preferred without feeding; how long a live book beats
# candles; at most one live book per symbol this often; how often seeding may look again.
EXCHANGE_PAPER_SOURCES = env.str("EXCHANGE_PAPER_SOURCES", default="binance,gateio,htx,demo")
EXCHANGE_PAPER_TIMEFRAME = env.str("EXCHANGE_PAPER_TIMEFRAME", default="1m")
EXCHANGE_PAPER_CANDLE_MAX_AGE_SECONDS = env.float(
    "EXCHANGE_PAPER_CANDLE_MAX_AGE_SECONDS", default=180.0
)
EXCHANGE_PAPER_SOURCE_STALE_SECONDS = env.float(
    "EXCHANGE_PAPER_SOURCE_STALE_SECONDS", default=120.0
)
EXCHANGE_PAPER_LIVE_BOOK_SECONDS = env.float("EXCHANGE_PAPER_LIVE_BOOK_SECONDS", default=60.0)
EXCHANGE_PAPER_BOOK_MIN_INTERVAL_SECONDS = env.float(
    "EXCHANGE_PAPER_BOOK_MIN_INTERVAL_SECONDS", default=1.0
)
EXCHANGE_PAPER_SEED_RETRY_SECONDS = env.float("EXCHANGE_PAPER_SEED_RETRY_SECONDS", default=60.0)
# `manage.py serve` keeps the private streams of enabled live accounts up (off: run
# `exchange_account_stream --all` as its own process, as docker-compose.yml does).
EXCHANGE_ACCOUNT_STREAMS_IN_SERVE = env.bool("EXCHANGE_ACCOUNT_STREAMS_IN_SERVE", default=True)

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Core's classes put a kernel Principal on request.auth; the first one's header
    # (WWW-Authenticate: Bearer) makes an anonymous request a 401 rather than a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "domains.core.http.authentication.BearerTokenAuthentication",
        "domains.core.http.authentication.ApiKeyAuthentication",
        "domains.core.http.authentication.PrincipalSessionAuthentication",
    ],
    # Every endpoint needs a signed-in user with a role unless it says otherwise.
    "DEFAULT_PERMISSION_CLASSES": ["dsta.kernel.permissions.AnyRole"],
    "DEFAULT_THROTTLE_CLASSES": [
        "dsta.kernel.throttling.PrincipalRateThrottle",
        "dsta.kernel.throttling.AnonymousRateThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dsta.kernel.http.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    # 3.1 is JSON Schema proper: pydantic DTOs (optional fields are "type: null") validate.
    "OAS_VERSION": "3.1.0",
    "TITLE": "DSTA API",
    "DESCRIPTION": "Dr. Strange Trading Analysis: market data, backtests, trading, ML.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI and Redoc from the installed sidecar package, not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Only health, readiness and login need no identity (ARCHITECTURE.md): the docs do.
    "SERVE_PERMISSIONS": ["dsta.kernel.permissions.AnyRole"],
    # Several "status" fields with different choices: name each enum explicitly.
    "ENUM_NAME_OVERRIDES": {
        "NotificationStatusEnum": "domains.core.models.Notification.Status",
        "DeliveryStatusEnum": "domains.core.models.DeliveryLog.Status",
        "RoleEnum": "dsta.kernel.principal.ROLES",
        "ScopeEnum": "dsta.kernel.principal.SCOPES",
        "NotificationChannelEnum": "domains.core.api.CHANNELS",
    },
}
# Bodies larger than this are refused with 413 before any view parses them.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)

# --- auth, i18n, static ------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# The container image collects static files outside VAR_DIR, so a volume on VAR_DIR never
# hides (or keeps stale copies of) the assets of a newer image.
STATIC_ROOT = Path(env.str("DSTA_STATIC_ROOT", default=str(VAR_DIR / "static")))

# --- files: backtest reports (storages["reports"]) ------------------------------------------------
# A local folder under var/ by default; S3 or MinIO (django-storages) when a bucket is named.
DSTA_REPORTS_DIR = Path(env.str("DSTA_REPORTS_DIR", default=str(VAR_DIR / "reports")))
DSTA_REPORTS_S3_BUCKET = env.str("DSTA_REPORTS_S3_BUCKET", default="")
_REPORTS_STORAGE: dict[str, object] = (
    {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": DSTA_REPORTS_S3_BUCKET,
            "endpoint_url": env.str("DSTA_REPORTS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("DSTA_REPORTS_S3_REGION", default="") or None,
            "access_key": env.str("DSTA_REPORTS_S3_ACCESS_KEY", default="") or None,
            "secret_key": env.str("DSTA_REPORTS_S3_SECRET_KEY", default="") or None,
            "location": env.str("DSTA_REPORTS_S3_PREFIX", default="reports"),
            "default_acl": None,
            "file_overwrite": False,
        },
    }
    if DSTA_REPORTS_S3_BUCKET
    else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(DSTA_REPORTS_DIR)},
    }
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "reports": _REPORTS_STORAGE,
}
LOGIN_URL = "/admin/login/"

# --- observability -------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="json")  # json | text
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "dsta.kernel.observability.logging.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Drop Django's own plain-text console handler (DEBUG only): one JSON line per record.
        "django": {"handlers": [], "level": LOG_LEVEL},
        # Python warnings are routed into logging by the ops app; same: JSON lines only.
        "py.warnings": {"handlers": []},
        "django.db.backends": {"level": "WARNING"},
        # One INFO line per RPC call is noise; failures surface as typed errors instead.
        "httpx": {"level": "WARNING"},
    },
}
# OpenTelemetry is off unless an exporter endpoint is configured.
OTEL_EXPORTER_OTLP_ENDPOINT = env.str("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env.str("OTEL_SERVICE_NAME", default="dsta")
# /readyz gives each dependency check this long before reporting it as timed out.
DSTA_READYZ_TIMEOUT_SECONDS = env.float("DSTA_READYZ_TIMEOUT_SECONDS", default=2.0)

# --- production hardening -------------------------------------------------------------------------
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Probes and the Prometheus scraper talk plain HTTP to the container, not via the proxy.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DSTA_ENV=production")


def _scheme(url: str) -> str:
    return urlparse(url).scheme if url else ""


BROKER_KIND = {"redis": "redis", "rediss": "redis", "amqp": "rabbitmq", "amqps": "rabbitmq"}.get(
    _scheme(BROKER_URL), "inprocess"
)
BUS_KIND = {"redis": "redis", "rediss": "redis", "amqp": "rabbitmq", "amqps": "rabbitmq"}.get(
    _scheme(BUS_URL), "inprocess"
)
