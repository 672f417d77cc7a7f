"""The edge of the app: proxy headers, trusted hosts, input no database can store, and the
security headers every response carries.

Behind a reverse proxy the client's address and scheme come from `X-Forwarded-For` and
`X-Forwarded-Proto` only when the operator says how many proxies to trust
(`SURVEY_PROXY_FIX_X_FOR`, `SURVEY_PROXY_FIX_X_PROTO`, `SURVEY_PROXY_FIX_X_HOST`); otherwise a
client could choose its own address and dodge every per-address limit.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

from flask import Flask, abort, g, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.sansio.utils import host_is_trusted
from werkzeug.wsgi import get_host

from survey import errors, responses


def nonce() -> str:
    """The CSP nonce of this request, for the rare inline script or style that needs one."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")  # Werkzeug's


def _request_values() -> Iterator:
    """The path, the query, the form, and a JSON document outside the API.

    The JSON API checks its documents itself, item by item: one bad rating in a kiosk's batch
    is refused with its field named while the others are stored.
    """
    yield request.path
    yield list(request.args.items(multi=True))
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in FORM_TYPES:  # any other body has no form (the API's JSON)
            yield list(request.form.items(multi=True))
        if request.is_json and not request.path.startswith("/api/"):
            try:
                yield json.loads(request.get_data(cache=True))
            except (ValueError, RecursionError):
                yield "\x00"  # no page of ours takes JSON: refuse what it cannot read


def reject_non_utf8() -> None:
    """Refuse a request body that is not UTF-8 instead of storing replacement characters."""
    if request.method in ("POST", "PUT", "PATCH") and request.content_length:
        try:
            request.get_data(cache=True).decode("utf-8")
        except UnicodeDecodeError:
            abort(400)


def reject_unstorable():
    """Refuse, before any view runs, input that no database can store (400, the same page or
    JSON error in the visitor's language wherever it comes from)."""
    if any(responses.has_unstorable_text(value) for value in _request_values()):
        return errors.render_error(400, *errors.UNSTORABLE_MESSAGE)
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


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions; a request without the cookie (a kiosk's API call) gets
    its empty session without the signer being built for it."""

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


# A JSON document loads nothing and is never framed: no nonce to make for it.
JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def _headers(response):
    headers = response.headers
    headers["Content-Security-Policy"] = JSON_CSP if response.is_json else _csp()
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    # Not no-referrer: Flask-WTF checks the Referer of a form posted over HTTPS.
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.path.startswith(("/admin", "/api/v1/summary", "/api/v1/export")):
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
    app.session_interface = CookieSessions()
    app.before_request(reject_non_utf8)
    app.before_request(reject_unstorable)
    app.after_request(_headers)
    app.jinja_env.globals["csp_nonce"] = nonce
