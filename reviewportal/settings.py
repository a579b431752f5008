"""reviewportal settings: one file, driven by the environment.

Defaults run out of the box on one laptop (SQLite under var/, in-memory channel layer and cache).
Production values arrive only through environment variables; see docs/operations.md for the list.

Secrets (SECRET_KEY, IDENTITY_ENCRYPTION_KEYS, IDENTITY_HASH_KEY) come from the environment or,
when a variable is unset, from var/secrets.env, which `make demo` and `make test` generate once
with `python -m reviewportal.keys`. The environment always wins over the file.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _read_env_file(path: Path) -> dict[str, str]:
    """Read KEY=VALUE lines; blank lines and # comments are skipped."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ImproperlyConfigured(f"{path}:{number}: expected KEY=VALUE")
        values[key.strip()] = value.strip()
    return values


VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))
_SECRETS_FILE = _read_env_file(Path(os.environ.get("SECRETS_FILE", VAR_DIR / "secrets.env")))


def env_str(name: str, default: str | None = None) -> str:
    """The environment's value, else var/secrets.env's, else the default; unset without one fails."""
    value = os.environ.get(name, _SECRETS_FILE.get(name))
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} is required")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = env_str(name, "1" if default else "0").strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean (use 1/0, true/false)")


def env_int(name: str, default: int) -> int:
    value = env_str(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set it in the environment, "
            "or run `python -m reviewportal.keys` to write var/secrets.env"
        )
    SECRET_KEY = "django-insecure-debug-only-key"  # noqa: S105  DEBUG on a laptop only; refused above with DEBUG off

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "guardian",
    "csp",
    "reviewportal.accounts",
    "reviewportal.integrations",
    "reviewportal.security",
    "reviewportal.audit",
    "annotations",
    "escalations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Up here, not at the end: answers the deny-by-default middleware gives without a view (its
    # redirects to sign in) are framed no more than pages are.
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "reviewportal.security.middleware.SecurityHeadersMiddleware",
    "reviewportal.security.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware and django-otp's OTPMiddleware, in one query.
    "reviewportal.accounts.middleware.SignedInUserMiddleware",
    # Binds who and from where for every event recorded while the request runs.
    "reviewportal.audit.middleware.AuditContextMiddleware",
    # Deny by default: after these two, a request is signed in with both factors, or it is on the
    # short allow-list (sign-in pages, static files, token-authenticated integration endpoints).
    "reviewportal.accounts.middleware.SessionLifetimeMiddleware",
    "reviewportal.accounts.middleware.RequireSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first, so a locked-out user and IP never reach a password check
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]

ROOT_URLCONF = "reviewportal.urls"
ASGI_APPLICATION = "reviewportal.asgi.application"
# HTTP requests one server process works on at once (reviewportal.handler); more wait their turn.
# Each may hold a database connection, so keep it below DATABASE_POOL_MAX.
HTTP_THREADS = env_int("HTTP_THREADS", 8)
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "queue"
LOGOUT_REDIRECT_URL = "login"

# --- Second factor and sessions ------------------------------------------------------------
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "reviewportal")
OTP_TOTP_THROTTLE_FACTOR = 1  # django-otp doubles the wait after each wrong code: 1, 2, 4, ... seconds
OTP_STATIC_THROTTLE_FACTOR = 1
OTP_MAX_FAILURES = env_int("OTP_MAX_FAILURES", 10)  # then the second factor is locked until a supervisor resets it
BACKUP_CODE_COUNT = 10
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 15 * 60)
SESSION_MAX_SECONDS = env_int("SESSION_MAX_SECONDS", 9 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_MAX_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Passwords: five wrong tries for one username from one address lock that pair out.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 30) / 60  # hours
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "reviewportal.accounts.views.locked_out"
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token", "code"]
# Behind nginx every request arrives from nginx's address, and the lock would be per username
# alone: anyone could lock a reviewer out. TRUSTED_PROXY_COUNT says how many proxies in front of
# the app append to X-Forwarded-For (0: none, the header is ignored). django-axes and the access
# trail read the client's address through the same function, so a lockout and its events name
# the same address. (This callable replaces axes' optional django-ipware path, AXES_IPWARE_*.)
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more")
AXES_CLIENT_IP_CALLABLE = "reviewportal.audit.trail.client_ip"
AXES_VERBOSE = False

# Object permissions: no anonymous-user row, and per-clip grants in direct foreign-key tables.
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False
GUARDIAN_RENDER_403 = False

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
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------------------------
# SQLite is the embedded default. IMMEDIATE transactions take the write lock up front, so two
# claims never deadlock upgrading a read lock; WAL lets pages read while a claim writes.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'reviewportal.sqlite3'}"),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, plus the access trail's events sent with the COMMIT (one round trip less,
    # and the chain's lock held for one round trip): reviewportal/audit/postgresql/base.py.
    DATABASES["default"]["ENGINE"] = "reviewportal.audit.postgresql"
    # Under ASGI every request runs its sync code in a thread of its own, so a persistent
    # connection (CONN_MAX_AGE) would be one per thread: opened each request and left behind
    # until PostgreSQL runs out. A pool per process hands each request a warm connection instead.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # Parameters sent apart from the SQL, and a statement run DATABASE_PREPARE_THRESHOLD
        # times on a connection prepared there: PostgreSQL then parses and plans the review
        # loop's statements once per connection, not once per call, and psycopg does not quote
        # every parameter into the text in Python (docs/decisions.md). "off" for a pooler that
        # cannot keep prepared statements (PgBouncer before 1.21 in transaction mode).
        "server_side_binding": True,
        "prepare_threshold": (
            None if env_str("DATABASE_PREPARE_THRESHOLD", "5") == "off" else env_int("DATABASE_PREPARE_THRESHOLD", 5)
        ),
        "pool": {
            "min_size": env_int("DATABASE_POOL_MIN", 2),
            "max_size": env_int("DATABASE_POOL_MAX", 20),
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
        },
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # SQLite connections are cheap; a kept one pins WAL
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, sessions and the channel layer ---------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "reviewportal.cache.RedisCache",  # one client per pool, not per call
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "reviewportal"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNEL_PREFIX", "reviewportal")},
        }
    }
    # Sessions are read on every request: the cache answers, the database keeps them durable.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- Files -----------------------------------------------------------------------------------
# Audio lives under var/audio and has no URL of its own: base_url=None makes storage.url() fail,
# and no route serves MEDIA_ROOT. The only way to hear a clip is annotations.audio's view.
AUDIO_ROOT = Path(env_str("AUDIO_ROOT", str(VAR_DIR / "audio")))
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Browser libraries come from npm (package-lock.json, `npm ci`), served from their own dist
    # folders under a prefix; none of their files is committed.
    ("vendor/wavesurfer", BASE_DIR / "node_modules" / "wavesurfer.js" / "dist"),
]
STORAGES = {
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(VAR_DIR / "uploads"), "base_url": None},
    },
    "audio": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(AUDIO_ROOT), "base_url": None},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_URL = None
# Uploads bigger than this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Identity of the people recorded ---------------------------------------------------------
# Fernet keys, newest first (older ones still decrypt during a rotation), and the HMAC key for the
# account-id lookup hash. Both are required: there is no safe default for either.
IDENTITY_ENCRYPTION_KEYS = env_list("IDENTITY_ENCRYPTION_KEYS")
IDENTITY_HASH_KEY = env_str("IDENTITY_HASH_KEY", "")
if not IDENTITY_ENCRYPTION_KEYS or not IDENTITY_HASH_KEY:
    raise ImproperlyConfigured(
        "IDENTITY_ENCRYPTION_KEYS and IDENTITY_HASH_KEY are required: set them in the environment, "
        "or run `python -m reviewportal.keys` to write var/secrets.env"
    )

# --- Access trail ----------------------------------------------------------------------------
# Its own key, so whoever holds SECRET_KEY (every web process) cannot also forge the trail's
# seals offline from a database copy without this one.
AUDIT_HMAC_KEY = env_str("AUDIT_HMAC_KEY", "")
if not AUDIT_HMAC_KEY:
    raise ImproperlyConfigured(
        "AUDIT_HMAC_KEY is required: set it in the environment, or run `python -m reviewportal.keys`"
    )
AUDIT_RETENTION_DAYS = env_int("AUDIT_RETENTION_DAYS", 6 * 365 + 2)  # six years, leap days included
AUDIT_MIN_RETENTION_DAYS = 6 * 365 + 2  # the purge refuses a shorter setting
# Off only to measure the trail's own cost in bench/; a system check warns whenever it is off.
AUDIT_ENABLED = env_bool("AUDIT_ENABLED", True)
ACTIVITY_CLIPS_PER_HOUR_ALERT = env_int("ACTIVITY_CLIPS_PER_HOUR_ALERT", 150)
ACTIVITY_STREAMS_PER_CLIP_ALERT = env_int("ACTIVITY_STREAMS_PER_CLIP_ALERT", 4)

# --- Review loop -----------------------------------------------------------------------------
LEASE_SECONDS = env_int("LEASE_SECONDS", 600)
AUDIO_URL_SECONDS = env_int("AUDIO_URL_SECONDS", 240)
if not 0 < AUDIO_URL_SECONDS <= 300:
    raise ImproperlyConfigured("AUDIO_URL_SECONDS must be between 1 and 300 (5 minutes)")
# When set (for example "/protected-audio/"), the audio view decides access and nginx sends the
# bytes from that internal location; unset, the app streams the file itself.
AUDIO_X_ACCEL_PREFIX = env_str("AUDIO_X_ACCEL_PREFIX", "")
INGEST_MAX_SECONDS = env_int("INGEST_MAX_SECONDS", 600)
INGEST_MAX_BYTES = env_int("INGEST_MAX_BYTES", 50 * 1024 * 1024)
# Submit is refused until the editor reports the whole clip was played once (the no-script form
# asks the reviewer to confirm it). Off only where clips are checked some other way.
REQUIRE_FULL_PLAYBACK = env_bool("REQUIRE_FULL_PLAYBACK", True)
PEAKS_PER_SECOND = env_int("PEAKS_PER_SECOND", 100)
if not 100 <= PEAKS_PER_SECOND <= 200:
    raise ImproperlyConfigured("PEAKS_PER_SECOND must be between 100 and 200")
# The multipart ingest body holds one clip; allow its byte limit plus room for the metadata.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Escalations -----------------------------------------------------------------------------
# Seconds the owner has to acknowledge a case, by severity (S1 imminent danger / medical
# emergency, S2 child safety / violence, S3 the rest); a missed deadline goes to the next tier.
ESCALATION_ACK_SECONDS = {
    1: env_int("ESCALATION_ACK_SECONDS_S1", 5 * 60),
    2: env_int("ESCALATION_ACK_SECONDS_S2", 15 * 60),
    3: env_int("ESCALATION_ACK_SECONDS_S3", 24 * 60 * 60),
}
ESCALATION_DEADLINE_CHECK_SECONDS = env_int("ESCALATION_DEADLINE_CHECK_SECONDS", 15)
LEGAL_HOLD_DAYS = env_int("LEGAL_HOLD_DAYS", 365)  # after a case closes, its clip stays held this long
IDENTITY_REVEAL_SECONDS = env_int("IDENTITY_REVEAL_SECONDS", 15 * 60)
PRESCREEN_PRIORITY = env_int("PRESCREEN_PRIORITY", 90)  # "possible distress" clips are reviewed this soon
# The pre-screen's phrase lists, per language and locale (escalations/prescreen.py says the format).
DISTRESS_PHRASES_FILE = Path(
    env_str("DISTRESS_PHRASES_FILE", str(BASE_DIR / "escalations" / "data" / "distress_phrases.json"))
)
# Reviewers are looked after: a break after flagging, a contact, a cap on distressing clips.
WELLBEING_BREAK_SECONDS = env_int("WELLBEING_BREAK_SECONDS", 10 * 60)
WELLBEING_SUPPORT_CONTACT = env_str(
    "WELLBEING_SUPPORT_CONTACT", "Employee assistance line (24 h, confidential): ask your supervisor for the number"
)
DISTRESS_CLIPS_PER_SHIFT = env_int("DISTRESS_CLIPS_PER_SHIFT", 5)
SHIFT_HOURS = env_int("SHIFT_HOURS", 9)

# Background work. Production: Celery workers and beat on Redis (REDIS_URL). The embedded default
# runs the same task functions on a timer thread inside the web process (RUN_TIMERS_IN_PROCESS,
# which `make demo` sets), and tests call them directly with the clock under their control.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "reviewportal")
CELERY_BEAT_SCHEDULE = {
    "enforce-escalation-deadlines": {
        "task": "escalations.tasks.enforce_deadlines",
        "schedule": float(ESCALATION_DEADLINE_CHECK_SECONDS),
    },
    "expire-leases": {"task": "annotations.tasks.expire_leases", "schedule": 60.0},
    "purge-expired": {"task": "annotations.tasks.purge_expired", "schedule": 60.0 * 60},
}
RUN_TIMERS_IN_PROCESS = env_bool("RUN_TIMERS_IN_PROCESS", False)

# --- Retention of what people said ------------------------------------------------------------
AUDIO_RETENTION_DAYS = env_int("AUDIO_RETENTION_DAYS", 30)  # after submit: audio and peaks go
TRANSCRIPT_RETENTION_DAYS = env_int("TRANSCRIPT_RETENTION_DAYS", 365)  # after submit: the clip becomes a tombstone
UNREVIEWED_RETENTION_DAYS = env_int("UNREVIEWED_RETENTION_DAYS", 14)  # after arrival, if nobody reviewed it
if TRANSCRIPT_RETENTION_DAYS < AUDIO_RETENTION_DAYS:
    raise ImproperlyConfigured("TRANSCRIPT_RETENTION_DAYS must be at least AUDIO_RETENTION_DAYS")
EXPORT_PAGE_SIZE = env_int("EXPORT_PAGE_SIZE", 100)

# --- API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["reviewportal.accounts.permissions.IsOTPVerified"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "reviewportal.openapi.ReviewportalSchema",
    "EXCEPTION_HANDLER": "reviewportal.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "reviewportal API",
    "DESCRIPTION": "Ingest, queue, transcripts and audio for human review of voice-assistant clips.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["reviewportal.accounts.permissions.IsOTPVerified"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Security --------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
# "same-origin", not "no-referrer": under no-referrer browsers send `Origin: null` with every POST
# (forms and fetch alike), which Django's CSRF check must refuse. same-origin still sends nothing to
# any other origin.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = False  # the editor's script reads it to send X-CSRFToken; SameSite=Strict still guards it
# Production is served over TLS; only the embedded demo on plain http://127.0.0.1 turns this off.
SECURE_COOKIES = env_bool("SECURE_COOKIES", True)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SECURE_COOKIES)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http inside the network
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_COOKIES else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if env_bool("TRUST_X_FORWARDED_PROTO", False):  # only behind a proxy that sets it (nginx in docs/operations.md)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy (django-csp 4). connect-src gains this host's ws:// or wss:// per
# request in reviewportal.security.middleware. style-src names a nonce only on pages that ask for
# one (request.csp_nonce): the clip editor hands it to wavesurfer.js for the one <style> element
# it puts in its shadow root. Every other page keeps style-src 'self' alone.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", NONCE],
        "img-src": ["'self'"],
        "media-src": ["'self'"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(self), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=(), clipboard-read=(), "
    "screen-wake-lock=(), xr-spatial-tracking=(), publickey-credentials-get=()"
)

# Volume limits: more than a person can listen to is refused with 429 and kept for supervisors.
VOLUME_LIMITS = {
    "audio_link": (env_int("VOLUME_AUDIO_LINKS_PER_MINUTE", 10), 60),
    "claim": (env_int("VOLUME_CLAIMS_PER_MINUTE", 10), 60),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Logs never carry audio bytes, transcript text, secrets or who was recorded: only ids and counts.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}
