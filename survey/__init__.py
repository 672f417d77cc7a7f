"""SIPAS-style satisfaction survey for public administrative service centres."""

from __future__ import annotations

from typing import Any

from flask import Flask

from survey import (
    abuse,
    admin,
    api,
    audit,
    autocommit,
    config,
    delivery,
    errors,
    i18n,
    kiosk,
    kiosk_pairing,
    public,
    rollups,
    security,
)
from survey.extensions import babel, csrf, db, limiter, login_manager, migrate
from survey.kiosk_mode import PREFIX
from survey.paths import resource_dir


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app: defaults, environment, test mapping, then extensions and blueprints."""
    app = Flask(
        __name__,
        instance_path=config.instance_path(),
        template_folder=str(resource_dir("templates")),
    )
    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    _register_extensions(app)
    _register_blueprints(app)
    _register_error_handlers(app)
    _register_commands(app)
    return app


def _register_extensions(app: Flask) -> None:
    config.engine_options(app.config)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")))
    babel.init_app(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    limiter.init_app(app)
    abuse.route_limits_only(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    audit.init_app(app)
    autocommit.init_app(app)
    rollups.init_app(app)
    delivery.init_app(app)


def _register_blueprints(app: Flask) -> None:
    app.register_blueprint(public.bp)
    app.register_blueprint(public.bp, url_prefix=PREFIX, name="kiosk")
    app.register_blueprint(kiosk.bp)
    app.register_blueprint(kiosk_pairing.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(admin.bp)


def _register_error_handlers(app: Flask) -> None:
    errors.init_app(app)
    security.init_app(app)


def _register_commands(app: Flask) -> None:
    # Here and not at the top: cli.py imports create_app from this module (a cycle).
    from survey import cli

    cli.init_app(app)
