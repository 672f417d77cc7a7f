"""Run the app with gunicorn from `survey serve`."""

from __future__ import annotations

from flask import Flask
from gunicorn.app.base import BaseApplication

from survey import logs
from survey.exports import WORKER_ALIVE
from survey.extensions import db


class _Gunicorn(BaseApplication):
    def __init__(self, app: Flask, options: dict):
        self.application, self.options = app, options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return self.application


def _post_fork(server, worker) -> None:
    # Connections opened during setup must not be shared between forked workers.
    with worker.app.application.app_context():
        db.engine.dispose()
    # A long export tells the master that this worker is alive (survey/exports.py).
    worker.app.application.extensions[WORKER_ALIVE] = worker.notify


def run(app: Flask, *, host: str, port: int, workers: int) -> None:
    """Serve `app` on host:port with `workers` processes."""
    with app.app_context():
        db.engine.dispose()
    _Gunicorn(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "post_fork": _post_fork,
            "accesslog": "-",
            "timeout": 60,
            # Only SURVEY_PROXY_FIX_* decides whether a proxy's headers count: gunicorn itself
            # would take X-Forwarded-Proto from any client on 127.0.0.1.
            "forwarded_allow_ips": "",
            # No client address, user agent, referrer or query string, and every path
            # redacted: a path may carry a response id, a visit code or a token.
            "logger_class": logs.logger_for(app.url_map),
            "access_log_format": logs.ACCESS_FORMAT,
        },
    ).run()
