"""Configuration: defaults, then SURVEY_* environment variables (DESIGN.md §4)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import current_app

from survey.datakey import load_data_key
from survey.paths import resource_dir

LOCALES = ("vi", "en", "km")


def instance_path() -> str:
    """Return the absolute instance folder: SURVEY_INSTANCE_PATH or ./instance."""
    return str(Path(os.environ.get("SURVEY_INSTANCE_PATH", "instance")).resolve())


def public_url(path: str) -> str:
    """The absolute address of `path` on the public site (SURVEY_PUBLIC_URL), as printed on
    posters, receipts and kiosk activation links."""
    return current_app.config["SURVEY_PUBLIC_URL"].rstrip("/") + path


def load_secret_key(folder: str) -> str:
    """Read the secret key kept in the instance folder, creating it (mode 0600) on first use."""
    path = Path(folder) / "secret_key"
    if not path.exists():
        Path(folder).mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _hosts(value: str | None) -> list[str] | None:
    """SURVEY_TRUSTED_HOSTS: a comma-separated list, or None (any host) when unset."""
    hosts = [h.strip() for h in (value or "").split(",") if h.strip()]
    return hosts or None


def _cookie_settings(public_url: str) -> dict:
    """Served over HTTPS, the session cookie is Secure and host-only (`__Host-`)."""
    secure = public_url.lower().startswith("https://")
    return {
        "SESSION_COOKIE_SECURE": secure,
        "SESSION_COOKIE_NAME": "__Host-session" if secure else "session",
    }


def from_environment(folder: str) -> dict:
    """Build the configuration mapping from defaults and the environment."""
    env = os.environ.get
    public_url = env("SURVEY_PUBLIC_URL", "http://127.0.0.1:8000")
    return {
        **_cookie_settings(public_url),
        "SURVEY_TRUSTED_HOSTS": _hosts(env("SURVEY_TRUSTED_HOSTS")),
        "SURVEY_PROXY_FIX_X_FOR": int(env("SURVEY_PROXY_FIX_X_FOR", "0")),
        "SURVEY_PROXY_FIX_X_PROTO": int(env("SURVEY_PROXY_FIX_X_PROTO", "0")),
        "SURVEY_PROXY_FIX_X_HOST": int(env("SURVEY_PROXY_FIX_X_HOST", "0")),
        "SECRET_KEY": env("SURVEY_SECRET_KEY") or load_secret_key(folder),
        # Encrypts call-back numbers (survey/datakey.py): keys outside the database, first one
        # encrypts; generated in the instance folder when unset (one machine, development).
        "SURVEY_DATA_KEY": env("SURVEY_DATA_KEY") or load_data_key(folder),
        # Working days a follow-up case has before it is overdue (survey/cases.py).
        "SURVEY_CASE_DEADLINE_DAYS": int(env("SURVEY_CASE_DEADLINE_DAYS", "15")),
        "SQLALCHEMY_DATABASE_URI": env("SURVEY_DATABASE_URL")
        or "sqlite:///" + str(Path(folder) / "survey.db"),
        # hide_parameters: an error message must not carry a citizen's comment or phone number.
        # No pre-ping: survey/extensions.py tests a connection that rested in the pool.
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        # Flask-Limiter's own key, set from the SURVEY_RATELIMIT_STORAGE_URL variable; the
        # shared counters (tally.py) read the same key.
        "RATELIMIT_STORAGE_URI": env("SURVEY_RATELIMIT_STORAGE_URL") or default_limits_url(folder),
        "RATELIMIT_HEADERS_ENABLED": True,
        "SURVEY_DEFAULT_LOCALE": env("SURVEY_DEFAULT_LOCALE", "vi"),
        "SURVEY_TIMEZONE": env("SURVEY_TIMEZONE", "Asia/Ho_Chi_Minh"),
        "SURVEY_HOTLINE": env("SURVEY_HOTLINE", "1900 1234"),
        # The header's name for pages that know no unit (the QR code names none): the centre's.
        "SURVEY_CENTRE_NAME": env("SURVEY_CENTRE_NAME", ""),
        "SURVEY_DEFAULT_UNIT": env("SURVEY_DEFAULT_UNIT", ""),
        "BABEL_DEFAULT_LOCALE": env("SURVEY_DEFAULT_LOCALE", "vi"),
        "BABEL_DEFAULT_TIMEZONE": env("SURVEY_TIMEZONE", "Asia/Ho_Chi_Minh"),
        "BABEL_TRANSLATION_DIRECTORIES": str(resource_dir("translations")),
        # A kiosk or phone page may stay open for hours: the token lives as long as the session.
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 64 * 1024,
        "MAX_COMMENT_LENGTH": 1200,
        "SURVEY_OPENING_HOURS": env("SURVEY_OPENING_HOURS", "07:00-17:30"),
        "SURVEY_PUBLIC_URL": public_url,
        # Milliseconds a SQLite write waits for another writer before the request gets a 503.
        "SURVEY_SQLITE_BUSY_TIMEOUT": int(env("SURVEY_SQLITE_BUSY_TIMEOUT", "10000")),
        "SURVEY_REPORT_CUTOFF": report_cutoff(env("SURVEY_REPORT_CUTOFF")),
        "SURVEY_TARGET": target(env("SURVEY_TARGET")),
        # The printed report's header (Nghị định 30/2020): the cơ quan chủ quản, the place of the
        # date line, the signer's title and the recipients (Nơi nhận, separated by ";").
        "SURVEY_REPORT_AUTHORITY": env("SURVEY_REPORT_AUTHORITY", "UBND TỈNH AN GIANG"),
        "SURVEY_REPORT_PLACE": env("SURVEY_REPORT_PLACE", "An Giang"),
        "SURVEY_REPORT_SIGNER": env("SURVEY_REPORT_SIGNER", "GIÁM ĐỐC"),
        "SURVEY_REPORT_RECIPIENTS": env(
            "SURVEY_REPORT_RECIPIENTS", "UBND tỉnh (để báo cáo);Sở Nội vụ;Lưu: VT."
        ),
        "SURVEY_KIOSK_RATE_LIMIT": env("SURVEY_KIOSK_RATE_LIMIT", "120 per minute"),
        # Every paper form typed twice, by two people (survey/paper.py); else chosen per form.
        "SURVEY_PAPER_DOUBLE_ENTRY": env("SURVEY_PAPER_DOUBLE_ENTRY", "0").lower()
        in ("1", "true", "yes", "on"),
        # Private hosts, addresses or networks a webhook may reach (tests; survey/webhook_net.py).
        "SURVEY_WEBHOOK_ALLOW_PRIVATE": env("SURVEY_WEBHOOK_ALLOW_PRIVATE", ""),
        # The dashboard and the report tag the untagged comments they count (survey/topics.py);
        # "0" where `survey jobs run` tags them every minute, to spare each view that lookup.
        "SURVEY_TOPICS_TAG_ON_VIEW": env("SURVEY_TOPICS_TAG_ON_VIEW", "1").lower()
        in ("1", "true", "yes", "on"),
        **phone_limits(env),
        **alert_settings(env),
    }


def report_cutoff(value: str | None) -> int | None:
    """The reporting cut-off day (Nghị định 09/2019: 15), or None for calendar periods."""
    if not value:
        return None
    day = int(value)
    if not 1 <= day <= 28:
        raise ValueError("SURVEY_REPORT_CUTOFF must be a day from 1 to 28, for example 15.")
    return None if day == 1 else day


def target(value: str | None) -> float | None:
    """The index the province aims at (SURVEY_TARGET, a percent such as 90), or None."""
    if not value:
        return None
    percent = float(value.rstrip("%"))
    if not 0 < percent <= 100:
        raise ValueError("SURVEY_TARGET must be a percent above 0 and at most 100, e.g. 90.")
    return percent


def engine_options(settings: dict) -> None:
    """PostgreSQL without JIT: a summary reads a few thousand rollup rows, and compiling its
    plan (on by default above a cost the rollup sums pass) takes longer than running it."""
    if settings["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        options = dict(settings.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {**options.get("connect_args", {}), "options": "-c jit=off"}
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = options


def default_limits_url(folder: str) -> str:
    """The rate-limit store every worker of this server shares: a SQLite file in the instance."""
    return "sqlitefile:///" + str(Path(folder) / "ratelimits.db").lstrip("/")


def phone_limits(env) -> dict:
    """The limits of sign-in, the phone path and kiosk receive times (README: Limits...)."""
    return {
        "SURVEY_SIGNIN_RATE_LIMIT": env("SURVEY_SIGNIN_RATE_LIMIT", "20 per 10 minutes"),
        "SURVEY_PHONE_ADDRESS_LIMIT": env("SURVEY_PHONE_ADDRESS_LIMIT", "30 per 10 minutes"),
        "SURVEY_PHONE_ADDRESS_CEILING": env("SURVEY_PHONE_ADDRESS_CEILING", "300 per 10 minutes"),
        "SURVEY_PHONE_SESSION_LIMIT": env("SURVEY_PHONE_SESSION_LIMIT", "10 per 10 minutes"),
        "SURVEY_PHONE_MIN_FILL_SECONDS": float(env("SURVEY_PHONE_MIN_FILL_SECONDS", "3")),
        "SURVEY_SURGE_FACTOR": float(env("SURVEY_SURGE_FACTOR", "3")),
        "SURVEY_SURGE_MARGIN": int(env("SURVEY_SURGE_MARGIN", "20")),
        "SURVEY_KIOSK_RECEIVE_LIMIT": env("SURVEY_KIOSK_RECEIVE_LIMIT", "360 per hour"),
        "SURVEY_BENCH_CLOCK_FILE": env("SURVEY_BENCH_CLOCK_FILE", ""),
    }


def alert_settings(env) -> dict:
    """E-mail, alerts, the daily digest and comment retention (issue 13; docs/OPERATIONS.md)."""
    return {
        # smtp://user:pass@host:587?starttls=1, smtps://user:pass@host:465; unset: no e-mail.
        "SURVEY_SMTP_URL": env("SURVEY_SMTP_URL", ""),
        "SURVEY_MAIL_FROM": env("SURVEY_MAIL_FROM", "khaosat@localhost"),
        "SURVEY_ALERT_KIOSK_SILENT_MINUTES": int(env("SURVEY_ALERT_KIOSK_SILENT_MINUTES", "30")),
        "SURVEY_ALERT_FLAGGED_PER_HOUR": int(env("SURVEY_ALERT_FLAGGED_PER_HOUR", "10")),
        "SURVEY_DIGEST_HOUR": int(env("SURVEY_DIGEST_HOUR", "7")),
        "SURVEY_COMMENT_RETENTION_DAYS": int(env("SURVEY_COMMENT_RETENTION_DAYS", "730")),
    }
