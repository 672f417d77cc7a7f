"""The edge of the app: proxy headers, trusted hosts, input no database can store, and the
security headers every response carries.

Behind a reverse proxy the client's address and scheme come from `X-Forwarded-For` and
`X-Forwarded-Proto` only when the operator says how many proxies to trust
(`SURVEY_PROXY_FIX_X_FOR`, `SURVEY_PROXY_FIX_X_PROTO`, `SURVEY_PROXY_FIX_X_HOST`); otherwise a
client could choose its own address and dodge every per-address limit.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from flask import Flask, g, request
from werkzeug.exceptions import BadRequest
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import host_is_trusted
from werkzeug.wsgi import get_host

from survey import errors

MAX_JSON_DEPTH = 16  # the deepest document of the API is a batch: 4 levels


class UnstorableInput(BadRequest):
    """A NUL, a lone surrogate or an absurdly deep document: no database stores it."""


def nonce() -> str:
    """The CSP nonce of this request, for the rare inline script or style that needs one."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, from a JSON "\ud800" escape
        return True
    return False


def _strings(document) -> Iterator[str]:
    """Every key and string of a JSON document, iteratively; raise past MAX_JSON_DEPTH."""
    stack = [(document, 0)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise UnstorableInput()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            for key, item in value.items():
                yield key
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _request_strings() -> Iterator[str]:
    yield request.path
    for key, value in request.args.items(multi=True):
        yield key
        yield value
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        for key, value in request.form.items(multi=True):
            yield key
            yield value
        if request.is_json:
            try:
                document = request.get_json(silent=True)
            except RecursionError:
                raise UnstorableInput() from None
            yield from _strings(document)


def reject_unstorable():
    """Refuse, before any view runs, input that no database can store (400, or 422 for JSON)."""
    try:
        unstorable = any(_unstorable(text) for text in _request_strings())
    except UnstorableInput:
        unstorable = True
    if unstorable:
        return errors.render_error(422 if errors.wants_json() else 400, *errors.UNSTORABLE_MESSAGE)
    return None


def _csp() -> str:
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce()}'",
            f"style-src 'self' 'nonce-{nonce()}'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class Edge:
    """WSGI middleware under ProxyFix: refuse a Host that is not trusted (a link built from a
    forged Host would point elsewhere), and over HTTPS mark every cookie Secure, the session
    cookie included."""

    def __init__(self, wsgi_app, trusted_hosts: list[str] | None):
        self.wsgi_app, self.trusted_hosts = wsgi_app, trusted_hosts

    def __call__(self, environ, start_response):
        if self.trusted_hosts and not host_is_trusted(get_host(environ), self.trusted_hosts):
            start_response("400 Bad Request", [("Content-Type", "text/plain; charset=utf-8")])
            return ["Tên miền không được phép. / Unknown host.\n".encode()]
        if environ.get("wsgi.url_scheme") != "https":
            return self.wsgi_app(environ, start_response)

        def secure_start_response(status, headers, exc_info=None):
            headers = [
                (name, value + "; Secure")
                if name.lower() == "set-cookie" and "; secure" not in value.lower()
                else (name, value)
                for name, value in headers
            ]
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, secure_start_response)


def _headers(response):
    headers = response.headers
    headers["Content-Security-Policy"] = _csp()
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    # Not no-referrer: Flask-WTF checks the Referer of a form posted over HTTPS.
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.path.startswith(("/admin", "/api/v1/summary")):
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Trust the configured proxies, check every request at the edge, add the headers."""
    hops = {
        name: int(app.config.get(f"SURVEY_PROXY_FIX_{name.upper()}") or 0)
        for name in ("x_for", "x_proto", "x_host")
    }
    app.wsgi_app = Edge(app.wsgi_app, app.config.get("SURVEY_TRUSTED_HOSTS"))
    if any(hops.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **hops)
    app.before_request(reject_unstorable)
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = nonce
