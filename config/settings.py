"""Settings, read from the environment with safe development defaults.

Environment: DATABASE_URL, SECRET_KEY, DEBUG, ALLOWED_HOSTS, CSRF_TRUSTED_ORIGINS.
"""

import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _development_secret_key():
    """A key generated once per checkout and kept out of git (.secret_key is ignored)."""
    path = BASE_DIR / ".secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = os.environ.get("SECRET_KEY") or _development_secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "treebeard",
    "django_tables2",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "security",
    "enterprises",
    "branches",
    "reports",
    "dataio",
    "devdata",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
]

MIDDLEWARE = [
    "core.middleware.StackRoomMiddleware",  # no loop on a boundary of the frame stack (core.stack)
    "config.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "config.middleware.NoStoreMiddleware",
    "config.middleware.RejectLoneSurrogatesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "security.sessions.SessionRefreshMiddleware",  # the idle timeout, one session write a minute
    "core.middleware.InterfaceLanguageMiddleware",  # Vietnamese unless the user chose English
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "security.access.OTPRequiredMiddleware",
    "security.access.AccessLogMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "security.access.PasswordChangeRequiredMiddleware",  # an administrator-set password is changed first
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "core.middleware.ActiveRoleMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

# Whose records the access log lists by id (security.views names them).
ACCESS_LOG_RECORD_MODEL = "branches.Member"

# What core.scoping cuts scopes from: the organisation tree and the role assignments on it.
SCOPE_TREE_MODEL = "branches.Organization"
SCOPE_ROLE_MODEL = "branches.RoleAssignment"

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
                "core.context_processors.active_role",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    (BASE_DIR / "var").mkdir(exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The server and the task worker write to one file: a write transaction takes the lock when it
    # begins, so two of them wait for each other (up to the timeout) instead of failing on upgrade.
    DATABASES["default"].setdefault("OPTIONS", {}).update(timeout=20, transaction_mode="IMMEDIATE")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

AUTHENTICATION_BACKENDS = [
    "security.access.AxesBackend",  # lockout after repeated failures (django-axes); must come first
    "security.access.SessionUserBackend",  # Django's ModelBackend, the user read with profile and device
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Vietnamese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates as Vietnam writes them, dd/mm/yyyy, in both languages (config/formats/*/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded imports and the files tasks produce (exports) go through the "files" storage, so that
# any app server and any worker can read what another wrote: a folder under var/ by default (shared
# by every process of one machine); several machines point FILES_STORAGE_BACKEND (and its
# FILES_STORAGE_OPTIONS, JSON) at a shared store, e.g. S3-compatible object storage.
FILES_DIR = Path(os.environ.get("FILES_DIR", BASE_DIR / "var" / "files"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "files": {
        "BACKEND": os.environ.get("FILES_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage"),
        "OPTIONS": (
            json.loads(os.environ["FILES_STORAGE_OPTIONS"])
            if os.environ.get("FILES_STORAGE_OPTIONS")
            else {"location": str(FILES_DIR), "base_url": None}
        ),
    },
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST")
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# WhiteNoise serves /favicon.ico (and any file of static/root/) at the site's root, for the pages
# that link no icon (the browser asks for /favicon.ico). With STATIC_FROM_SOURCE=1 (`make run`,
# DEBUG off) it serves the static files from the source folders, without collectstatic.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
WHITENOISE_USE_FINDERS = env_bool("STATIC_FROM_SOURCE", default=DEBUG)
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS

# Django's form renderer, the common widgets written in Python (the same HTML, a fraction of the time).
FORM_RENDERER = "core.renderers.QuickWidgetRenderer"

DJANGO_TABLES2_TEMPLATE = "django_tables2/lean.html"
# The empty choice of a filter reads "All" (not "---------"); yes/no filters: core.filtersets.YesNoFilter.
FILTERS_EMPTY_CHOICE_LABEL = _("All")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "security.access.ApiTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api_schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "core.api.api_exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Party building in non-state enterprises API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema and its docs list every endpoint and field: for signed-in users only, except in
    # development (DEBUG).
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.AllowAny" if DEBUG else "rest_framework.permissions.IsAuthenticated"
    ],
    # Several models have a "kind": the transfer's is named here, the others keep their names.
    "ENUM_NAME_OVERRIDES": {"TransferKindEnum": "branches.choices.TransferKind"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {"security": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}

# Security and deployment (issue 8) --------------------------------------------------------------
# Under pytest (or DJANGO_TESTING=1) the app is served over plain HTTP by the test client and the
# live server; everywhere else HTTPS is assumed unless DEBUG is on or HTTPS=0.
TESTING = env_bool("DJANGO_TESTING", default="pytest" in sys.modules)
HTTPS = env_bool("HTTPS", default=not DEBUG and not TESTING)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^health/$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # nginx: proxy_set_header X-Forwarded-Proto $scheme
USE_X_REAL_IP = env_bool("USE_X_REAL_IP", default=HTTPS)  # nginx: proxy_set_header X-Real-IP $remote_addr
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", default=HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Sessions end after 30 minutes without a request (29 at the earliest: security.sessions pushes the
# expiry back at most once a minute, not on every request).
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(30 * 60)))
SESSION_REFRESH_SECONDS = 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Content-Security-Policy (django-csp 4): no inline or foreign scripts, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],  # style attributes of the admin and tables; never scripts
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Redis for cache and sessions when REDIS_URL is set (several app servers share them).
REDIS_URL = os.environ.get("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "config.cache.SharedClientRedisCache", "LOCATION": REDIS_URL}}
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Files under var/: the server and the task worker (another process) share the data version and
    # the dashboard's figures; a process-local cache would hide the worker's writes from the server.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("CACHE_DIR", str(BASE_DIR / "var" / "cache")),
        }
    }

# The parts of every page that depend only on the deployed code, the language and the role questions
# (the navbar's links, the stylesheets and scripts): rendered once per process by `{% cache %}`,
# so a deploy, which starts new processes, never serves an old one (none kept under DEBUG, where
# templates are edited while the server runs).
CACHES["template_fragments"] = {
    "BACKEND": f"django.core.cache.backends.{'dummy.DummyCache' if DEBUG else 'locmem.LocMemCache'}",
    "LOCATION": "template-fragments",
    "OPTIONS": {"MAX_ENTRIES": 1000},
}

# Background work (django-tasks, Django 6's django.tasks): the database backend by default (a worker,
# `manage.py db_worker`, runs beside the server: `make run` starts both), RQ on Redis in production
# (TASKS_BACKEND=rq with REDIS_URL; worker: `manage.py rqworker --job-class django_tasks_rq.Job
# default`, deploy/party-worker.service), and inline under the test suite ("immediate"; `check
# --deploy` warns when production runs tasks inline).
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "immediate" if TESTING else "database")
TASK_BACKENDS = {
    "database": "django_tasks_db.DatabaseBackend",
    "rq": "django_tasks_rq.RQBackend",
    "immediate": "django_tasks.backends.immediate.ImmediateBackend",
}
TASKS = {"default": {"BACKEND": TASK_BACKENDS.get(TASKS_BACKEND, TASKS_BACKEND), "QUEUES": ["default"]}}
if TASKS_BACKEND == "rq":
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    RQ_QUEUES = {"default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 3 * 3600}}
# A task that stays running this long without reporting progress is shown as failed (its worker died).
TASKS_LOST_AFTER_SECONDS = int(os.environ.get("TASKS_LOST_AFTER_SECONDS", str(3 * 3600)))
# Finished tasks and their files are deleted after this long.
TASKS_KEEP_SECONDS = int(os.environ.get("TASKS_KEEP_SECONDS", str(2 * 24 * 3600)))
# Above these sizes an import's commit and an export run as tasks (the page shows their progress).
IMPORT_TASK_ROWS = int(os.environ.get("IMPORT_TASK_ROWS", "10000"))
EXPORT_TASK_ROWS = int(os.environ.get("EXPORT_TASK_ROWS", "50000"))

# A read replica for the reports when DATABASE_REPLICA_URL is set (see config/routers.py).
if os.environ.get("DATABASE_REPLICA_URL"):
    DATABASES["replica"] = dj_database_url.parse(
        os.environ["DATABASE_REPLICA_URL"], conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60"))
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["config.routers.ReplicaRouter"]
    MIDDLEWARE.append("config.routers.ReplicaForReportsMiddleware")

# Login protection (django-axes), for the sign-in page and the token endpoint alike: 5 failures for
# one username from one address, 10 for one username from any addresses, 20 from one address for any
# usernames lock out for an hour (security.access.LockoutHandler keeps a limit per combination).
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
LOCKOUT_LIMIT_PER_USERNAME = int(os.environ.get("LOCKOUT_LIMIT_PER_USERNAME", "10"))
LOCKOUT_LIMIT_PER_ADDRESS = int(os.environ.get("LOCKOUT_LIMIT_PER_ADDRESS", "20"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "username", "ip_address"]
AXES_HANDLER = "security.access.LockoutHandler"
AXES_USERNAME_CALLABLE = "security.access.lockout_username"
AXES_COOLOFF_TIME = timedelta(hours=1)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "security.access.lockout_response"  # JSON for the API, security/lockout.html else
AXES_CLIENT_IP_CALLABLE = "security.access.client_ip"
AXES_VERBOSE = False

# Two-factor authentication (django-otp, TOTP): required for these roles. OTP_REQUIRED=0 turns it
# off (the local demo); tests switch it off in tests/conftest.py and on where they test it.
OTP_REQUIRED_ROLES = (
    tuple(env_list("OTP_REQUIRED_ROLES", "administrator,department")) if env_bool("OTP_REQUIRED", default=True) else ()
)
# A user refused this many citizen ID / Party card numbers of members outside their scope in one
# day raises an alert (mail to ADMINS, an error in the security log).
SCOPE_PROBE_ALERT_AFTER = int(os.environ.get("SCOPE_PROBE_ALERT_AFTER", "5"))
ADMINS = [(address, address) for address in env_list("ADMINS")]

# E-mail (the daily digest of deadlines, alerts to ADMINS): SMTP by default (EMAIL_BACKEND to
# change it, e.g. django.core.mail.backends.console.EmailBackend for a local try).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Xây dựng Đảng <no-reply@localhost>")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# The address the pages are served at, for links in e-mails (e.g. https://party.example.org).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# API tokens expire this long after they are issued (API_TOKEN_DAYS, default 30).
API_TOKEN_LIFETIME = timedelta(days=int(os.environ.get("API_TOKEN_DAYS", "30")))
OTP_TOTP_ISSUER = os.environ.get("OTP_TOTP_ISSUER", "Party building")

# N+1 guard (issue 7): django-zeal raises NPlusOneError when a request loads a relation row by
# row. On in the test suite (requirements-dev.txt); ZEAL_ENABLED=1 turns it on elsewhere.
ZEAL_ENABLED = env_bool("ZEAL_ENABLED", default="pytest" in sys.modules)
if ZEAL_ENABLED:
    INSTALLED_APPS.append("zeal")
    MIDDLEWARE.append("zeal.middleware.zeal_middleware")
    ZEAL_RAISE = True
