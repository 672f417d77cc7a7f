"""Logs that never tie a citizen to a rating.

A path such as `/vi/r/<response id>/more` or `/v/<visit code>` links a person to their answers,
and a client address or user agent can point at a person. So the access log and the app's own
log messages show each route with placeholders for every value not known to be harmless,
never a query string, and neither the client address, the user agent nor the referrer.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from flask import current_app, has_request_context, request
from gunicorn import glogging
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

# Route values that identify nobody; every other value (response ids, visit codes, tokens, a
# value added by a new route) is shown as {name}.
HARMLESS = {"lang", "step", "fmt", "filename", "kiosk_id", "user_id", "token_id"}
# `code` is a procedure's or language's code on these endpoints, and a visit code elsewhere.
PUBLIC_CODES = {
    "public.service",
    "kiosk.service",
    "public.short",
    "kiosk.short",
    "admin.qr_poster",
    "admin.language",
}
PLAIN = re.compile(r"[A-Za-z0-9._/-]{1,80}")
VARIABLE = re.compile(r"<(?:[^<>:]+:)?(\w+)>")
ACCESS_FORMAT = '%(t)s "%(r)s" %(s)s %(b)s %(M)sms'


def describe_rule(rule: Rule, values: dict) -> str:
    """The rule's path with its harmless values filled in and placeholders for the others."""

    def fill(match: re.Match) -> str:
        name = match.group(1)
        value = str(values.get(name, ""))
        harmless = name in HARMLESS or (name == "code" and rule.endpoint in PUBLIC_CODES)
        if harmless and PLAIN.fullmatch(value) and ".." not in value:
            return quote(value, safe="/")
        return "{" + name + "}"

    return VARIABLE.sub(fill, rule.rule)


def _words(url_map: Map) -> set[str]:
    """The fixed path segments of every route (`admin`, `r`, `thank-you`, …)."""
    return {
        part
        for rule in url_map.iter_rules()
        for part in rule.rule.split("/")
        if part and "<" not in part
    } | {"vi", "en", "km"}


def redact_path(url_map: Map, path: str, method: str = "GET") -> str:
    """`path` as it may be logged: a route's shape, or only its known words when none matches."""
    try:
        rule, values = url_map.bind("localhost").match(path, method=method, return_rule=True)
    except HTTPException:  # not found, wrong method or a redirect: keep only known words
        words = _words(url_map)
        parts = [p if not p or p in words else "{?}" for p in path.split("/")[1:]]
        return "/" + "/".join(parts)
    return describe_rule(rule, values)


def request_path() -> str:
    """The current request's path, redacted, for the app's own log messages."""
    if not has_request_context():
        return "-"
    if request.url_rule is not None:
        return describe_rule(request.url_rule, request.view_args or {})
    return redact_path(current_app.url_map, request.path, request.method)


def _wsgi_path(environ: dict) -> str:
    raw = environ.get("PATH_INFO") or "/"
    try:
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return "/{?}"


class PrivateLogger(glogging.Logger):
    """Gunicorn's logger, with access lines and request errors that identify no citizen."""

    url_map: Map = Map()

    def atoms(self, resp, req, environ, request_time) -> dict:
        """Only the atoms that identify nobody; the path redacted, no headers at all."""
        full = super().atoms(resp, req, environ, request_time)
        method = str(full.get("m") or "-")
        path = redact_path(self.url_map, _wsgi_path(environ), method)
        if environ.get("QUERY_STRING"):
            path += "?{query}"
        kept = {k: full[k] for k in ("t", "s", "m", "H", "b", "B", "T", "D", "M", "L", "p")}
        hidden = dict.fromkeys(("h", "l", "u", "a", "f", "q"), "-")
        return {**kept, **hidden, "U": path, "r": f"{method} {path} {full.get('H')}"}

    def exception(self, msg, *args, **kwargs) -> None:
        """Log an error; a failed request is named by its redacted path, not its raw URI."""
        if str(msg).startswith("Error handling request") and args:
            uri = str(args[-1]).partition("?")[0]
            args = (*args[:-1], redact_path(self.url_map, uri))
        super().exception(msg, *args, **kwargs)

    def warning(self, msg, *args, **kwargs) -> None:
        """Log a warning; a malformed request's address and request line are left out."""
        if str(msg).startswith("Invalid request from ip="):
            msg, args = "Invalid request refused (address and request line not logged)", ()
        super().warning(msg, *args, **kwargs)


def logger_for(url_map: Map) -> type[PrivateLogger]:
    """A PrivateLogger class that knows the app's routes (gunicorn makes the instance)."""
    return type("AppLogger", (PrivateLogger,), {"url_map": url_map})
