"""Settings, one class per environment, every value read from the environment.

Development (the embedded default) needs nothing set: it keeps an SQLite file, a secret key and
an encryption key in the instance folder, creating the two secrets with 0600 permissions on first
use. Production refuses to start while any required secret is missing and names each one.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from intake.config.celery import celery_settings
from intake.config.integrations import IntegrationSettings
from intake.crypto import generate_key


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or default


def _number_env(name: str, default, kind=int, words: str = "a whole number"):
    raw = _env(name)
    if raw is None:
        return default
    try:
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be {words}, got {raw!r}") from exc


def _int_env(name: str, default: int) -> int:
    return _number_env(name, default)


def _float_env(name: str, default: float) -> float:
    return _number_env(name, default, float, "a number")


# The settings patients read, in Spanish, while the English setting keeps its built-in default.
SPANISH_DEFAULTS = {
    "INTAKE_CLINIC_NAME": "la clínica",
    "INTAKE_RESPONSE_TIME": "en un día laborable",
    "INTAKE_PRIVACY_CONTACT": "la dirección de contacto de nuestro sitio web",
}


def for_language(config, name: str, language: str) -> str:
    """A setting patients read, in ``language``: ``<name>_<LANGUAGE>`` where it is set
    (``INTAKE_RESPONSE_TIME_ES``); else, while ``<name>`` is still the built-in English, the
    built-in words of that language; else ``<name>`` as the clinic set it (its own name or
    address reads the same in any language)."""
    own = config.get(f"{name}_{language.upper()}")
    if own:
        return own
    built_in = language == "es" and config[name] == getattr(BaseConfig, name)
    return SPANISH_DEFAULTS[name] if built_in else config[name]


def instance_secret(instance_path: Path, name: str, make) -> str:
    """Read a secret kept in the instance folder, creating it (mode 0600) on first use.

    A new secret is written whole under a temporary name and then linked into place, so of two
    processes starting at once (``intake serve`` and its web server) one secret wins and both
    read that one."""
    path = instance_path / name
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=instance_path, prefix=f".{name}.")  # mode 0600
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(make() + "\n")
            with contextlib.suppress(FileExistsError):  # the other process's came first
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


def split_keys(raw: str | None) -> list[str]:
    return [key.strip() for key in (raw or "").split(",") if key.strip()]


# The container's own health check asks for 127.0.0.1; a Host header naming this machine
# cannot send a link anywhere else, since links never come from the Host header.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


def base_url_host(base_url: str) -> str:
    """The host name of INTAKE_BASE_URL, which must be a whole http(s) address."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"INTAKE_BASE_URL must be a whole address like https://inquiry.clinic.example, "
            f"got {base_url!r}"
        )
    return parts.hostname


def trusted_hosts(base_url: str, extra: list[str]) -> list[str]:
    """The Host headers production answers (Flask's TRUSTED_HOSTS): INTAKE_BASE_URL's host,
    INTAKE_TRUSTED_HOSTS (a leading dot allows every subdomain) and loopback."""
    return list(dict.fromkeys([base_url_host(base_url), *extra, *LOOPBACK_HOSTS]))


# Numeric settings read from the environment under their own names (int or float, as defaulted).
_NUMBER_NAMES = """
    INTAKE_DEDUPE_DAYS INTAKE_UNMERGE_DAYS INTAKE_RESUME_DAYS INTAKE_DRAFT_COOKIE_HOURS
    INTAKE_MIN_FILL_SECONDS INTAKE_SLA_HOURS INTAKE_SLA_REMINDER_FRACTION
    INTAKE_SEND_CLAIM_TIMEOUT INTAKE_SEND_REENQUEUE_AFTER INTAKE_STAFF_IDLE_MINUTES
    INTAKE_STAFF_ABSOLUTE_HOURS INTAKE_RETENTION_DAYS INTAKE_CONSULT_MIN_NOTICE_HOURS
    INTAKE_CONSULT_CHANGE_CUTOFF_HOURS INTAKE_CONSULT_HORIZON_DAYS INTAKE_CONSULT_LINK_DAYS
    INTAKE_CONSULT_SLOT_MINUTES INTAKE_TASK_ESCALATE_HOURS
"""
_NUMBERS = _NUMBER_NAMES.split()


class BaseConfig(IntegrationSettings):
    """Defaults shared by every environment; each is safe on its own."""

    ENV_NAME = "base"
    TESTING = False

    # hide_parameters keeps bound values (patient data) out of exception messages and logs.
    # No pool_pre_ping: a connection the server ended is found without a query at checkout
    # (intake.extensions._not_ended_by_the_server).
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"hide_parameters": True}
    MAX_CONTENT_LENGTH = 256 * 1024
    MAX_FORM_MEMORY_SIZE = 128 * 1024
    MAX_FORM_PARTS = 200

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "intake_session"
    # The draft cookie: how long this browser remembers an unfinished inquiry (the emailed
    # resume link works for INTAKE_RESUME_DAYS either way). Set from INTAKE_DRAFT_COOKIE_HOURS.
    INTAKE_DRAFT_COOKIE_HOURS = 24

    # Flask-WTF: tokens expire, but an expired token only asks the patient to press again.
    WTF_CSRF_TIME_LIMIT = 3600
    WTF_CSRF_SSL_STRICT = False

    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # A limiter whose storage fails lets the request through: Redis down never fails a patient.
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_STORAGE_OPTIONS = {"socket_timeout": 0.2, "socket_connect_timeout": 0.2}

    INTAKE_QUESTIONNAIRE = "ms_inquiry"
    INTAKE_INQUIRY_RATE_LIMIT = "30 per minute;300 per hour"
    INTAKE_MIN_FILL_SECONDS = 3
    INTAKE_DEDUPE_DAYS = 90
    INTAKE_UNMERGE_DAYS = 30
    INTAKE_RESUME_DAYS = 14
    INTAKE_CLINIC_NAME = "the clinic"
    # Each setting patients read has a Spanish one, <NAME>_ES (``for_language``), unset by default.
    INTAKE_CLINIC_NAME_ES: str | None = None
    INTAKE_CLINIC_TIME_ZONE = "America/New_York"
    INTAKE_RESPONSE_TIME = "within one working day"
    # The same promise in Spanish, for Spanish pages and emails.
    INTAKE_RESPONSE_TIME_ES: str | None = None
    # The language of a patient page when neither the link nor the browser names one we speak.
    INTAKE_DEFAULT_LANGUAGE = "en"
    # Who patients write to about their data, as the privacy notice and terms name it.
    INTAKE_PRIVACY_CONTACT = "the contact address on our website"
    INTAKE_PRIVACY_CONTACT_ES: str | None = None
    INTAKE_FIRST_ADMIN_EMAIL = "admin@intake.local"
    INTAKE_MAIL_FROM = "The clinic <no-reply@intake.local>"
    # The clinic's business hours (its own time zone), for the first-contact SLA.
    INTAKE_BUSINESS_DAYS = (0, 1, 2, 3, 4)
    INTAKE_BUSINESS_START = "09:00"
    INTAKE_BUSINESS_END = "17:00"
    INTAKE_SLA_HOURS = 2.0
    INTAKE_SLA_REMINDER_FRACTION = 0.75
    # Follow-ups reach patients only between these hours of their own day.
    INTAKE_PATIENT_DAY_START = "08:00"
    INTAKE_PATIENT_DAY_END = "20:00"
    # A claimed message whose worker vanished is claimed again after this many seconds, and
    # a due message handed to a worker that never ran it is handed over again after this many.
    INTAKE_SEND_CLAIM_TIMEOUT = 300
    INTAKE_SEND_REENQUEUE_AFTER = 300
    INTAKE_SMTP_TIMEOUT = 10
    INTAKE_SEND_MAX_ATTEMPTS = 6

    # Staff sign-in: sessions end after this long idle, and this long after sign-in at most.
    INTAKE_STAFF_IDLE_MINUTES = 15
    INTAKE_STAFF_ABSOLUTE_HOURS = 12
    # Per account: this many wrong passwords or codes in a row lock it for a while.
    INTAKE_SIGNIN_LOCK_AFTER = 5
    INTAKE_SIGNIN_LOCK_MINUTES = 15
    # Per address, whichever account is tried.
    INTAKE_SIGNIN_RATE_LIMIT = "10 per minute;100 per hour"
    # Coordinators see contact details and the eligibility reasons; health answers only if set.
    INTAKE_COORDINATORS_SEE_ANSWERS = False
    INTAKE_INVITATION_DAYS = 7
    # Contact details of leads closed this many days ago are purged (answers and notes too).
    INTAKE_RETENTION_DAYS = 730
    INTAKE_PASSWORD_RESET_MINUTES = 60
    # Replies go to INTAKE_REPLY_ADDRESS plus-addressed per lead (unset: replies@ the domain of
    # INTAKE_MAIL_FROM); their attachments are kept sealed up to this size, of these types.
    INTAKE_ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
    # Consults: the earliest a slot may be booked, the last moment a patient may move or cancel
    # it themselves, how far ahead slots are offered, how long a booking link works, the step
    # between slot starts, and the reminders (hours before the consult).
    INTAKE_CONSULT_MIN_NOTICE_HOURS = 12
    INTAKE_CONSULT_CHANGE_CUTOFF_HOURS = 12
    INTAKE_CONSULT_HORIZON_DAYS = 28
    INTAKE_CONSULT_LINK_DAYS = 14
    INTAKE_CONSULT_SLOT_MINUTES = 30
    INTAKE_CONSULT_REMINDER_HOURS: tuple[float, ...] = (24.0, 2.0)
    # A staff task still open this many hours after its due time goes to the team lead.
    INTAKE_TASK_ESCALATE_HOURS = 4
    INTAKE_ATTACHMENT_TYPES = ("application/pdf", "image/jpeg", "image/png", "image/heic")

    def __init__(self, instance_path: Path) -> None:
        self.INSTANCE_PATH = instance_path
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(_env("DATABASE_URL"))
        self.REDIS_URL = _env("REDIS_URL")
        self.SMTP_URL = _env("SMTP_URL")
        # twilio://SID:TOKEN@api.twilio.com?from=%2B15550100; unset: texts captured locally.
        self.SMS_URL = _env("SMS_URL")
        # imaps://user:pass@host:993/INBOX; unset: the embedded default reads no mailbox.
        self.REPLY_MAILBOX_URL = _env("REPLY_MAILBOX_URL")
        self.INTAKE_REPLY_ADDRESS = _env("INTAKE_REPLY_ADDRESS")
        self.SECRET_KEY = _env("SECRET_KEY")
        self.INTAKE_ENCRYPTION_KEYS = split_keys(_env("INTAKE_ENCRYPTION_KEYS"))
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.INTAKE_CLINIC_NAME = _env("INTAKE_CLINIC_NAME", self.INTAKE_CLINIC_NAME)
        self.INTAKE_CLINIC_NAME_ES = _env("INTAKE_CLINIC_NAME_ES")
        self.INTAKE_CLINIC_TIME_ZONE = _env("INTAKE_CLINIC_TIME_ZONE", self.INTAKE_CLINIC_TIME_ZONE)
        self.INTAKE_RESPONSE_TIME = _env("INTAKE_RESPONSE_TIME", self.INTAKE_RESPONSE_TIME)
        self.INTAKE_RESPONSE_TIME_ES = _env("INTAKE_RESPONSE_TIME_ES")
        self.INTAKE_DEFAULT_LANGUAGE = _env("INTAKE_DEFAULT_LANGUAGE", self.INTAKE_DEFAULT_LANGUAGE)
        # Every number above may be set from the environment under its own name.
        for name in _NUMBERS:
            read = _float_env if isinstance(getattr(self, name), float) else _int_env
            setattr(self, name, read(name, getattr(self, name)))
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=self.INTAKE_DRAFT_COOKIE_HOURS)
        self.INTAKE_PRIVACY_CONTACT = _env("INTAKE_PRIVACY_CONTACT", self.INTAKE_PRIVACY_CONTACT)
        self.INTAKE_PRIVACY_CONTACT_ES = _env("INTAKE_PRIVACY_CONTACT_ES")
        self.INTAKE_BASE_URL = _env("INTAKE_BASE_URL", "http://127.0.0.1:5000")
        base_url_host(self.INTAKE_BASE_URL)
        self.INTAKE_TRUSTED_HOSTS = split_keys(_env("INTAKE_TRUSTED_HOSTS"))
        self.INTAKE_MAIL_FROM = _env("INTAKE_MAIL_FROM", self.INTAKE_MAIL_FROM)
        self.INTAKE_HOLIDAYS = split_keys(_env("INTAKE_HOLIDAYS"))
        reminders = split_keys(_env("INTAKE_CONSULT_REMINDER_HOURS"))
        if reminders:  # "24,2"
            self.INTAKE_CONSULT_REMINDER_HOURS = tuple(float(hours) for hours in reminders)
        self.INTAKE_INQUIRY_RATE_LIMIT = _env(
            "INTAKE_INQUIRY_RATE_LIMIT", self.INTAKE_INQUIRY_RATE_LIMIT
        )
        # PostgreSQL: the role the app connects as, granted its privileges by `intake db upgrade`
        # (run as the schema owner) with the audit log append-only. Unset: no grants.
        self.INTAKE_DB_APP_ROLE = _env("INTAKE_DB_APP_ROLE")
        # Behind this many trusted reverse proxies, take the client address and scheme from
        # their X-Forwarded-For/-Proto headers (rate limits and the audit log use the address).
        self.INTAKE_PROXY_HOPS = _int_env("INTAKE_PROXY_HOPS", 0)
        see_answers = _env("INTAKE_COORDINATORS_SEE_ANSWERS", "")
        self.INTAKE_COORDINATORS_SEE_ANSWERS = see_answers in ("1", "true", "yes")
        self.read_integrations(_env, _int_env)
        self.CELERY = celery_settings(
            self.REDIS_URL,
            instance_path,
            visibility_timeout=_int_env("INTAKE_BROKER_VISIBILITY_TIMEOUT", 3600),
        )

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in dir(self) if name.isupper()}


class DevelopmentConfig(BaseConfig):
    """The embedded default: everything kept in the instance folder, created on first use."""

    ENV_NAME = "development"
    INTAKE_WEBHOOK_ALLOW_PRIVATE = True

    def __init__(self, instance_path: Path) -> None:
        super().__init__(instance_path)
        if not self.SQLALCHEMY_DATABASE_URI:
            self.SQLALCHEMY_DATABASE_URI = f"sqlite:///{instance_path / 'intake.sqlite3'}"
        if not self.SECRET_KEY:
            self.SECRET_KEY = instance_secret(
                instance_path, "secret_key", lambda: secrets.token_urlsafe(48)
            )
        if not self.INTAKE_ENCRYPTION_KEYS:
            self.INTAKE_ENCRYPTION_KEYS = [
                instance_secret(instance_path, "encryption_key", generate_key)
            ]


class TestingConfig(BaseConfig):
    """Throwaway secrets held in memory, so tests never touch the instance folder."""

    ENV_NAME = "testing"
    TESTING = True
    INTAKE_WEBHOOK_ALLOW_PRIVATE = True
    INTAKE_MIN_FILL_SECONDS = 0

    def __init__(self, instance_path: Path) -> None:
        super().__init__(instance_path)
        self.SQLALCHEMY_DATABASE_URI = self.SQLALCHEMY_DATABASE_URI or "sqlite://"
        self.SECRET_KEY = self.SECRET_KEY or secrets.token_urlsafe(32)
        self.INTAKE_ENCRYPTION_KEYS = self.INTAKE_ENCRYPTION_KEYS or [generate_key()]
        self.INTAKE_MIN_FILL_SECONDS = 0
        if not self.REDIS_URL:  # publish in memory: tests never write a broker file
            self.CELERY["broker_url"] = "memory://"


class ProductionConfig(BaseConfig):
    """Refuses to start without the secrets and the database it must not invent."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"

    def __init__(self, instance_path: Path) -> None:
        super().__init__(instance_path)
        missing = [
            name
            for name, value in (
                ("SECRET_KEY", self.SECRET_KEY),
                ("DATABASE_URL", self.SQLALCHEMY_DATABASE_URI),
                ("INTAKE_ENCRYPTION_KEYS", self.INTAKE_ENCRYPTION_KEYS),
                ("INTAKE_BASE_URL", _env("INTAKE_BASE_URL")),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                "production needs these settings, which are missing: " + ", ".join(missing)
            )
        if len(self.SECRET_KEY or "") < 32:
            raise ConfigError("SECRET_KEY must be at least 32 characters in production")
        # Webhooks never reach into the clinic's own network from production.
        self.INTAKE_WEBHOOK_ALLOW_PRIVATE = False
        # Any other Host header gets 400, before a view runs.
        self.TRUSTED_HOSTS = trusted_hosts(self.INTAKE_BASE_URL, self.INTAKE_TRUSTED_HOSTS)


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(instance_path: Path, env_name: str | None = None) -> dict:
    """Build the settings for INTAKE_ENV (development when unset) as a plain mapping."""
    name = env_name or _env("INTAKE_ENV", "development")
    try:
        config_class = CONFIGS[name]
    except KeyError as exc:
        raise ConfigError(f"INTAKE_ENV must be one of {', '.join(CONFIGS)}, got {name!r}") from exc
    return config_class(instance_path).as_dict()


def normalise_database_url(url: str | None) -> str | None:
    """Point plain postgres URLs at psycopg 3, the driver this project installs."""
    if not url:
        return None
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
