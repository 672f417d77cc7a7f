"""First-run setup, done by `survey serve` and `survey db upgrade`, never by the factory."""

from __future__ import annotations

from dataclasses import dataclass

from flask_migrate import upgrade

from survey import accounts, catalogue, questionnaire


@dataclass(frozen=True)
class SetupReport:
    questionnaire: str
    catalogue_rows: int
    admin_email: str | None
    admin_password: str | None


def prepare(*, admin_email: str = "admin@localhost") -> SetupReport:
    """Migrate, then load the default questionnaire, the demo catalogue and a first admin."""
    upgrade()
    version = questionnaire.ensure_default()
    rows = catalogue.ensure_demo()
    if accounts.has_users():
        return SetupReport(version.code, rows, None, None)
    password = accounts.generate_password()
    accounts.create_user(admin_email, role="admin", password=password, must_change=True)
    return SetupReport(version.code, rows, admin_email, password)
