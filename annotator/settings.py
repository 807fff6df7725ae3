"""SpineLab settings. Every knob comes from an environment variable (see README, "Configuration").

Embedded default: SQLite, a local media folder and a Celery broker on kombu's filesystem transport,
all under SPINELAB_VAR_DIR. Production: set SPINELAB_DATABASE_URL (PostgreSQL), SPINELAB_BROKER_URL
(Redis) and SPINELAB_STORAGE=s3 with the AWS_* variables.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url

from annotator.env import env_bool, env_choice, env_float, env_int, env_list, env_path, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = env_path("SPINELAB_VAR_DIR", BASE_DIR / "var")

DEBUG = env_bool("SPINELAB_DEBUG", False)
SECRET_KEY = env_str("SPINELAB_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and env_bool("SPINELAB_REQUIRE_SECRET_KEY", False):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("SPINELAB_SECRET_KEY must be set in production")
    SECRET_KEY = "spinelab-embedded-insecure-key-change-me"
ALLOWED_HOSTS = env_list("SPINELAB_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("SPINELAB_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served from here, not a CDN (offline deployments)
    "axes",
    "annotator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out login into a 429
]

ROOT_URLCONF = "annotator.urls"
WSGI_APPLICATION = "annotator.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "annotator.pages.nav.nav",
            ]
        },
    }
]

# --- database: SQLite by default, anything dj-database-url understands otherwise -------------
DATABASES = {
    "default": dj_database_url.parse(
        env_str("SPINELAB_DATABASE_URL", f"sqlite:///{VAR_DIR / 'spinelab.sqlite3'}"),
        conn_max_age=env_int("SPINELAB_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL + a busy timeout let the web process and the Celery worker share one SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # A file (not memory) so that a real Celery worker started by the tests can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-spinelab.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# --- Login throttling (django-axes; see annotator/login_throttle.py) ------------------------------
AUTHENTICATION_BACKENDS = [
    "annotator.login_throttle.ThrottledLoginBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_ENABLED = env_bool("SPINELAB_LOGIN_THROTTLE", True)
AXES_FAILURE_LIMIT = env_int("SPINELAB_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SPINELAB_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "annotator.login_throttle.lockout_response"
AXES_VERBOSE = False

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- files: local media folder by default, S3-compatible storage with SPINELAB_STORAGE=s3 ------
STATIC_URL = "/static/"
STATIC_ROOT = env_path("SPINELAB_STATIC_ROOT", VAR_DIR / "static")
STATICFILES_DIRS: list[Path] = []
MEDIA_ROOT = env_path("SPINELAB_MEDIA_ROOT", VAR_DIR / "media")
MEDIA_URL = "/media/"
_storage_backend = env_choice("SPINELAB_STORAGE", ("local", "s3"), "local")
if _storage_backend == "s3":
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env_str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "file_overwrite": False,
            "default_acl": None,
        },
    }
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Uploads: Django keeps big request bodies on disk; our own limit is checked in the import service.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("SPINELAB_MAX_REQUEST_MB", 64) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

# --- REST API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "annotator.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotator.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SpineLab API",
    "DESCRIPTION": "Cases, slices, mask revisions, review, training rounds and models.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery --------------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("SPINELAB_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("SPINELAB_CELERY_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
# Queues: `gpu` = training and inference, one (architecture, fold) job per message, so a round's
# folds run at once on as many gpu workers as there are; `io` = imports, exports and DICOMweb, so
# they never wait behind training; `default` = short bookkeeping (finalize, maintenance).
CELERY_TASK_ROUTES = {
    "annotator.tasks.gpu.*": {"queue": "gpu"},
    "annotator.tasks.imports.*": {"queue": "io"},
    "annotator.tasks.exports.*": {"queue": "io"},  # exports and DICOMweb: I/O-bound, off the default queue
}
CELERY_TASK_IGNORE_RESULT = True
# Workers started by scripts/worker use the prefork pool with one child: each task runs in a child
# process that is replaced after this many tasks, so the memory a training or an import took (torch,
# volumes) goes back to the system and the worker returns to its idle size (bench/RESULTS.md,
# "Memory"). 0 = never replace. The solo pool (tests' worker fixture) ignores it.
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("SPINELAB_WORKER_MAX_TASKS_PER_CHILD", 1) or None

# --- SpineLab's own knobs ------------------------------------------------------------------------
SPINELAB: dict[str, Any] = {
    "MAX_UPLOAD_BYTES": env_int("SPINELAB_MAX_UPLOAD_MB", 512) * 1024 * 1024,
    "MAX_UNZIPPED_BYTES": env_int("SPINELAB_MAX_UNZIPPED_MB", 2048) * 1024 * 1024,
    "MAX_ZIP_MEMBERS": env_int("SPINELAB_MAX_ZIP_MEMBERS", 20000),
    "MODELS_DIR": "models",
    "SHARED_DATA": env_path("SPINELAB_SHARED_DATA", BASE_DIR.parent / "shared" / "data"),
    # A running job's worker beats every JOB_HEARTBEAT_SECONDS; JOB_STALE_SECONDS without a beat = lost.
    "JOB_HEARTBEAT_SECONDS": env_int("SPINELAB_JOB_HEARTBEAT_SECONDS", 5),
    "JOB_STALE_SECONDS": env_int("SPINELAB_JOB_STALE_SECONDS", 30),
    "TRAINING_DEVICE": env_str("SPINELAB_TRAINING_DEVICE", "auto"),
    # Rounds: a candidate whose pooled mean foreground IoU is below this is never promoted automatically.
    "PROMOTION_FLOOR": env_float("SPINELAB_PROMOTION_FLOOR", 0.25),
    # Launch defaults: "cpu" (a round a 2-core CPU finishes in minutes) or "gpu" (the paper's eight).
    "ROUND_PRESET": env_choice("SPINELAB_ROUND_PRESET", ("cpu", "gpu"), "cpu"),
    # Exports (annotator/exports): how long a finished export's zip stays downloadable.
    "EXPORT_KEEP_HOURS": env_int("SPINELAB_EXPORT_KEEP_HOURS", 72),
    # DICOMweb server for PACS import/push (QIDO-RS, WADO-RS, STOW-RS); empty URL = not configured.
    "DICOMWEB_URL": env_str("SPINELAB_DICOMWEB_URL", "").rstrip("/"),
    "DICOMWEB_USER": env_str("SPINELAB_DICOMWEB_USER", ""),
    "DICOMWEB_PASSWORD": env_str("SPINELAB_DICOMWEB_PASSWORD", ""),
    "DICOMWEB_TIMEOUT": env_int("SPINELAB_DICOMWEB_TIMEOUT", 30),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("SPINELAB_LOG_LEVEL", "INFO")},
}

for _folder in (
    VAR_DIR,
    MEDIA_ROOT,
    STATIC_ROOT,
    *(BROKER_DIR / f for f in ("queue", "processed", "control")),
):
    _folder.mkdir(parents=True, exist_ok=True)
