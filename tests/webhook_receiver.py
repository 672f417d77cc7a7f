"""A real HTTP receiver on loopback for the webhook tests: it records every request and answers
with the status the test sets (and a Location header for a redirect)."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def verified(self, secret: str) -> bool:
        """The receiver's check of docs/WEBHOOKS.md: the signature over timestamp and body."""
        parts = dict(p.split("=", 1) for p in self.headers["X-Survey-Signature"].split(","))
        signed = parts["t"].encode() + b"." + self.body
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, parts["v1"])

    @property
    def timestamp(self) -> int:
        return int(self.headers["X-Survey-Signature"].split(",")[0].removeprefix("t="))


@dataclass
class Receiver:
    """The server's address, what it received, and the status it answers with."""

    url: str
    status: int = 200
    received: list[Received] = field(default_factory=list)


def start(*, cert: str | None = None) -> tuple[Receiver, ThreadingHTTPServer]:
    """Start a receiver on a free loopback port (stop it with server.shutdown()); over HTTPS
    with the PEM file `cert` (certificate and key) when given."""
    receiver = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            receiver.received.append(Received(self.path, dict(self.headers), body))
            self.send_response(receiver.status)
            if 300 <= receiver.status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    scheme = "https" if cert else "http"
    receiver.url = f"{scheme}://127.0.0.1:{server.server_port}/hooks/survey"
    return receiver, server
