"""`survey create-user`, `survey api-token create` and `survey two-factor reset`: thin wrappers
around survey.accounts and survey.two_factor."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext
from flask_babel import force_locale

from survey import accounts, two_factor
from survey.models import User


def find_user_or_fail(email: str) -> User:
    """The account with `email`; a ClickException when there is none."""
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"no user with the e-mail {email}")
    return user


@click.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--unit", "units", multiple=True, help="Unit code a manager may see.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user(email: str, role: str, units: tuple[str, ...], password_stdin: bool) -> None:
    """Create a manager-side account; without --password-stdin a password is generated."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else accounts.generate_password()
    try:
        user = accounts.create_user(email, role=role, password=password, units=units, actor="cli")
    except accounts.AccountError as exc:
        with force_locale("en"):  # the command line speaks English, the pages their language
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {user.role} {user.email}")
    if not password_stdin:
        click.echo(password)


@click.group("api-token")
def api_token_group() -> None:
    """API tokens for the summary API."""


@api_token_group.command("create")
@click.option("--user", "email", required=True, help="E-mail of the token's user.")
@with_appcontext
def api_token_create(email: str) -> None:
    """Create an API token with the user's unit scope; the token is the last line printed."""
    user = find_user_or_fail(email)
    token = accounts.create_api_token(user, actor="cli")
    click.echo(f"API token for {user.email} (shown only now; stored hashed):")
    click.echo(token)


@click.group("two-factor")
def two_factor_group() -> None:
    """Two-step sign-in of manager accounts."""


@two_factor_group.command("reset")
@click.argument("email")
@with_appcontext
def two_factor_reset(email: str) -> None:
    """Turn off an account's two-step sign-in and end its sessions (a lost phone)."""
    user = find_user_or_fail(email)
    two_factor.reset(user, actor="cli")
    click.echo(f"Two-step sign-in of {user.email} reset; it is set up again at the next sign-in.")


COMMANDS = (create_user, api_token_group, two_factor_group)
