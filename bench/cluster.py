"""The pieces of a two-server deployment on one machine, for bench/two_servers.py and
bench/backup_restore.py: `survey` commands, `survey serve` processes (started as
bench/phone_abuse.py starts them), nginx under a private prefix, and a client that can talk to
each server directly or through nginx.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from bench.phone_abuse import start, stop, wait_ready

ROOT = Path(__file__).resolve().parent.parent
PORTS = {"A": 18760, "B": 18761, "C": 18762, "LB": 18763}
INPUT = re.compile(r"<input\b[^>]*>")
ATTR = re.compile(r'(\w+)="([^"]*)"')
UNTRUSTED = ssl._create_unverified_context()  # the bench's own self-signed certificate
SEEN: Counter = Counter()  # which server answered each request through the balancer


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict
    text: str

    def hidden(self) -> dict:
        """The hidden inputs of the page (name: value)."""
        found = {}
        for tag in INPUT.findall(self.text):
            attrs = dict(ATTR.findall(tag))
            if attrs.get("type") == "hidden" and "name" in attrs:
                found[attrs["name"]] = attrs.get("value", "")
        return found


@dataclass
class Browser:
    """One client on its own loopback address, with its own cookies, talking to any server."""

    address: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, to: str, method: str, path: str, *, form=None, body=None, headers=None):
        """Send one request to server A, B or C directly, or to LB (nginx, https)."""
        port = PORTS[to]
        if to == "LB":
            conn = http.client.HTTPSConnection(
                "127.0.0.1", port, timeout=30, context=UNTRUSTED, source_address=(self.address, 0)
            )
        else:
            conn = http.client.HTTPConnection(
                "127.0.0.1", port, timeout=30, source_address=(self.address, 0)
            )
        origin = f"{'https' if to == 'LB' else 'http'}://localhost:{port}"
        sent = {"Host": f"localhost:{port}", "Referer": origin + path, **(headers or {})}
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            body, sent["Content-Type"] = json.dumps(body), "application/json"
        conn.request(method, path, body=body, headers=sent)
        reply = conn.getresponse()
        for value in reply.headers.get_all("Set-Cookie") or []:
            self.cookies.update({k: m.value for k, m in SimpleCookie(value).items()})
        out = Reply(
            reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read().decode()
        )
        conn.close()
        if to == "LB":
            SEEN[_server_name(out.headers.get("x-bench-upstream", "?"))] += 1
        return out


def _server_name(upstream: str) -> str:
    names = {f"127.0.0.1:{port}": name for name, port in PORTS.items()}
    return " then ".join(names.get(a.strip(), a.strip()) for a in upstream.split(","))


def cli(env: dict, *args: str, stdin: str | None = None) -> str:
    """Run a `survey` command with the servers' environment; return what it printed."""
    command = [sys.executable, "-c", "from survey.cli import main; main()", *args]
    done = subprocess.run(
        command, env={**os.environ, **env}, input=stdin, capture_output=True, text=True, check=True
    )
    return done.stdout


def nginx_config(folder: Path) -> Path:
    """The bench's nginx: TLS on a loopback port, the two servers, the shipped proxy headers."""
    folder.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=localhost", "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    temps = "\n".join(
        f"    {kind}_temp_path {folder}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = folder / "nginx.conf"
    config.write_text(f"""
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
{temps}
    log_format bench '$request_method $status $upstream_addr $upstream_status';
    access_log {folder}/access.log bench;
    upstream survey_app {{
        server 127.0.0.1:{PORTS["A"]} max_fails=1 fail_timeout=10s;
        server 127.0.0.1:{PORTS["B"]} max_fails=1 fail_timeout=10s;
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{PORTS["LB"]} ssl;
        server_name localhost;
        ssl_certificate {folder}/cert.pem;
        ssl_certificate_key {folder}/key.pem;
        client_max_body_size 128k;
        location / {{
            proxy_pass http://survey_app;
            include {ROOT}/deploy/nginx/survey-proxy.conf;
            add_header X-Bench-Upstream $upstream_addr always;
        }}
    }}
}}
""")
    folder.chmod(0o755)  # nginx's workers (nobody) write their temporary files here
    return config


def start_nginx(folder: Path) -> subprocess.Popen:
    """nginx in the foreground under our own prefix (never the system service)."""
    config = nginx_config(folder)
    base = ["nginx", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(config)]
    subprocess.run([*base, "-t"], check=True, capture_output=True)
    process = subprocess.Popen(base)
    wait_ready(PORTS["A"])
    for _ in range(50):
        try:
            if Browser("127.0.0.1").request("LB", "GET", "/healthz").status == 200:
                return process
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("nginx did not answer")


@dataclass
class Cluster:
    """What the checks need: the environment, the catalogue codes, the accounts and tokens."""

    env: dict
    folder: Path
    database_url: str
    redis_url: str
    unit: str = ""
    service: str = ""
    password: str = "Bench-two-servers-1"
    api_token: str = ""
    processes: dict = field(default_factory=dict)

    def serve(self, name: str, **extra: str) -> None:
        """Start server `name` with its own instance folder (only the database and Redis shared)."""
        own = {**self.env, "SURVEY_INSTANCE_PATH": str(self.folder / f"instance-{name}"), **extra}
        self.processes[name] = start([PORTS[name]], 1, own)[0]

    def halt(self, name: str) -> None:
        stop([self.processes.pop(name)])

    def sql(self, query: str, **params):
        """One row of a query on the shared database."""
        engine = create_engine(self.database_url)
        with engine.connect() as conn:
            row = conn.execute(text(query), params).first()
        engine.dispose()
        return row

    def summary(self, to: str) -> int:
        """The number of responses the summary API of server `to` counts for the last two days."""
        today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
        query = urllib.parse.urlencode({"from": today - timedelta(days=1), "to": today})
        auth = {"Authorization": f"Bearer {self.api_token}"}
        reply = Browser("127.0.0.90").request(to, "GET", f"/api/v1/summary?{query}", headers=auth)
        return json.loads(reply.text)["responses"] if reply.status == 200 else -reply.status


def prepare(cluster: Cluster) -> None:
    """Migrations first (as in an upgrade), then the accounts, tokens and kiosks the checks use."""
    env = cluster.env
    cli(env, "db", "upgrade")
    cluster.serve("A")
    cluster.serve("B")
    cluster.unit, cluster.service = cluster.sql(
        "SELECT u.code, s.code FROM unit u, service s WHERE u.parent_id IS NULL AND s.active"
        " ORDER BY u.id, s.code LIMIT 1"
    )
    account = ["create-user", "manager@bench.vn", "--role", "manager", "--unit", cluster.unit]
    cli(env, *account, "--password-stdin", stdin=cluster.password + "\n")
    token = cli(env, "api-token", "create", "--user", "manager@bench.vn")
    cluster.api_token = token.strip().splitlines()[-1]


def kiosk(cluster: Cluster, name: str) -> str:
    """A new kiosk at the cluster's unit; its token."""
    out = cli(cluster.env, "kiosk", "create", "--unit", cluster.unit, "--name", name)
    return out.strip().splitlines()[-1]


def sign_in(browser: Browser, to: str, password: str) -> int:
    """Sign in as the manager through `to`; the status of the form's POST."""
    page = browser.request(to, "GET", "/admin/login")
    form = {**page.hidden(), "email": "manager@bench.vn", "password": password}
    return browser.request(to, "POST", "/admin/login", form=form).status


def rate_phone(browser: Browser, to: str, service: str, value: str = "5") -> tuple[int, str]:
    """Open the overall question on `to` and answer it there: (status of the POST, id)."""
    page = browser.request(to, "GET", f"/vi/s/{service}?via=qr")
    fields = page.hidden()
    reply = browser.request(to, "POST", f"/vi/s/{service}", form={**fields, "OV": value})
    return reply.status, fields.get("rid", "")


def post_rating(to: str, token: str, service: str, *, minutes_ago: float, value: int) -> int:
    """One kiosk rating through the JSON API (bearer token); the status."""
    at = (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat()
    body = {
        "id": str(uuid.uuid4()),
        "service": service,
        "captured_at": at,
        "answers": {"OV": value},
    }
    auth = {"Authorization": f"Bearer {token}"}
    reply = Browser("127.0.0.85").request(to, "POST", "/api/v1/responses", body=body, headers=auth)
    return reply.status
