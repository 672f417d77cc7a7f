"""Real servers for the tests and the benches: `survey serve` (gunicorn) in a child process,
the `survey` command line, and Redis.

A server is a production configuration (full-cost password hashing and all): it gets its own
instance folder under the test's temporary folder, never ./instance of the checkout.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

SURVEY = [sys.executable, "-c", "from survey.cli import main; main()"]
# Set by .ci/run: there a missing service (Redis) fails the test instead of skipping it.
REQUIRE_SERVICES = "SURVEY_REQUIRE_SERVICES"


def free_port(ports: Iterable[int] = (0,)) -> int:
    """The first free loopback port of `ports` (by default, one the system picks)."""
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise RuntimeError(f"no free loopback port in {ports}")


def server_env(folder: Path, **settings: str) -> dict[str, str]:
    """This process's environment for a child (a server or a command) whose instance folder is
    `folder`/instance."""
    env = {**os.environ, "SURVEY_INSTANCE_PATH": str(Path(folder) / "instance")}
    env.pop("SURVEY_DATABASE_URL", None)  # the instance's own SQLite file unless `settings` say
    env.update(settings)
    return env


def cli(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run the `survey` command line with `env`; its output as text (a failure raises)."""
    return subprocess.run(
        [*SURVEY, *args], env=env, capture_output=True, text=True, timeout=120, check=check
    )


@dataclass
class Server:
    """`survey serve` in its own process group, so that a signal reaches master and workers.

    Its output goes to `log` (appended, kept over restarts), else to a pipe read at the end.
    """

    port: int
    env: dict[str, str]
    workers: int = 1
    log: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, seconds: float = 60) -> Server:
        """Start the server and wait until /healthz answers."""
        command = [*SURVEY, "serve", "--port", str(self.port), "--workers", str(self.workers)]
        log = self.log.open("a") if self.log else None
        try:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                stdout=log or subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                start_new_session=True,
            )
        finally:
            if log:
                log.close()  # the child holds its own copy
        try:
            wait_ready(self.port, seconds, self.process)
        except RuntimeError as failed:
            raise RuntimeError(f"{failed}; its output: {self.log or 'the pipe'}") from None
        return self

    def stop(self, seconds: float = 20) -> None:
        """Stop gracefully, or kill after `seconds`."""
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """kill -9 the master and its workers."""
        self._signal(signal.SIGKILL)
        self.process.wait()

    def _signal(self, number: int) -> None:
        try:
            os.killpg(self.process.pid, number)
        except ProcessLookupError:  # stopped already
            pass


def wait_ready(port: int, seconds: float = 60, process: subprocess.Popen | None = None) -> None:
    """Poll /healthz until it answers 200; fail if the server exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited ({process.returncode})")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no server on port {port} after {seconds:g} s")


def serve(folder: Path, *, workers: int = 1, ports: Iterable[int] = (0,), **settings) -> Server:
    """Start `survey serve` with its own instance folder in `folder` (public URL = its address)."""
    port = free_port(ports)
    settings.setdefault("SURVEY_PUBLIC_URL", f"http://127.0.0.1:{port}")
    return Server(port, server_env(folder, **settings), workers).start()


def redis_or_skip(url: str) -> redis.Redis:
    """The Redis at `url`; where none answers the test is skipped, saying why, except where
    SURVEY_REQUIRE_SERVICES is set (.ci/run): there it fails."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError as error:
        message = f"no Redis at {url} ({error})"
        if os.environ.get(REQUIRE_SERVICES):
            pytest.fail(f"{message} and {REQUIRE_SERVICES} is set")
        pytest.skip(f"{message}: start redis-server on 127.0.0.1:6379 (.ci/run requires it)")
    return client
