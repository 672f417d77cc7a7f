"""First-run setup (migrations, default questionnaire, demo catalogue, first administrator),
done by `survey serve`, never by the factory."""

from __future__ import annotations

from dataclasses import dataclass

from flask_migrate import upgrade

from survey import accounts, catalogue, questionnaire


@dataclass(frozen=True)
class FirstRunReport:
    questionnaire: str
    catalogue_rows: int
    admin_email: str | None
    admin_password: str | None


def prepare(*, admin_email: str = "admin@localhost") -> FirstRunReport:
    """Migrate, then load the default questionnaire, the demo catalogue and a first admin."""
    upgrade()
    version = questionnaire.ensure_default()
    rows = catalogue.ensure_demo()
    if accounts.has_users():
        return FirstRunReport(version.code, rows, None, None)
    password = accounts.generate_password()
    accounts.create_user(admin_email, role="admin", password=password, must_change=True)
    return FirstRunReport(version.code, rows, admin_email, password)
