"""DSTA settings: everything comes from the environment.

Defaults give the embedded mode (SQLite file under ``var/``, in-process broker, bus and channel
layer) so one command runs everything. Production values come only from the environment; in
production (``DSTA_ENV=production``) a missing secret is a startup error, not a silent default.
"""

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

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dsta.kernel.http.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
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
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
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
