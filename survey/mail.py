"""Sending e-mail over SMTP: `SURVEY_SMTP_URL` names the server, `SURVEY_MAIL_FROM` the sender.

smtp://user:pass@host:587?starttls=1 (STARTTLS), smtps://user:pass@host:465 (TLS from the
start), smtp://host:25 (plain, for a relay on the same network). Unset: nothing is sent, and
the jobs that would send say so by sending nothing.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

TIMEOUT = 30  # seconds: a job must not hang on a dead mail server


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte
    starttls: bool
    user: str | None
    password: str | None


def server_of(url: str) -> Server:
    """The SMTP server named by a `SURVEY_SMTP_URL`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SURVEY_SMTP_URL must look like smtp://user:pass@host:587?starttls=1")
    query = parse_qs(parts.query)
    starttls = (query.get("starttls") or ["0"])[0].lower() in ("1", "true", "yes", "on")
    tls = parts.scheme == "smtps"
    return Server(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        tls=tls,
        starttls=starttls and not tls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def configured() -> bool:
    """Whether an SMTP server is set."""
    return bool(current_app.config.get("SURVEY_SMTP_URL"))


def message(mail: Mail, sender: str) -> EmailMessage:
    """A multipart message: the plain text, and the same as simple HTML."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, mail.to, mail.subject
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(mail.text)
    msg.add_alternative(mail.html, subtype="html")
    return msg


def _connect(server: Server) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if server.tls:
        return smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT, context=context)
    smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
    if server.starttls:
        smtp.starttls(context=context)
    return smtp


def send_all(mails: list[Mail]) -> int:
    """Send `mails` over one connection; the number sent (0 when no server is set)."""
    if not mails or not configured():
        return 0
    server = server_of(current_app.config["SURVEY_SMTP_URL"])
    sender = current_app.config["SURVEY_MAIL_FROM"]
    with _connect(server) as smtp:
        if server.user:
            smtp.login(server.user, server.password or "")
        for mail in mails:
            smtp.send_message(message(mail, sender))
    return len(mails)
