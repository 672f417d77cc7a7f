"""`survey kiosk create`, `survey qr` and `survey visit-codes mint|require`: what a service
centre puts in its hall (kiosks, posters, visit codes), as thin wrappers around survey.kiosks,
survey.posters and survey.visits."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from survey import catalogue, kiosks, posters, visits
from survey.config import public_url
from survey.extensions import db
from survey.models import Counter, Service


def _service_and_counter(
    service_code: str, counter_code: str | None
) -> tuple[Service, Counter | None]:
    """The active procedure and the counter named; a ClickException when either is unknown."""
    service, counter = catalogue.find_service(service_code), catalogue.find_counter(counter_code)
    if service is None or (counter_code and counter is None):
        raise click.ClickException("unknown or inactive service, or unknown counter")
    return service, counter


@click.group("kiosk")
def kiosk_group() -> None:
    """Kiosk devices."""


@kiosk_group.command("create")
@click.option("--unit", required=True, help="Unit code of the kiosk.")
@click.option("--counter", default=None, help="Counter code, when the kiosk serves one counter.")
@click.option("--name", required=True)
@with_appcontext
def kiosk_create(unit: str, counter: str | None, name: str) -> None:
    """Register a kiosk; print its activation link and, last, its token (shown once)."""
    try:
        device, token = kiosks.create_kiosk(unit=unit, counter=counter, name=name, actor="cli")
    except kiosks.KioskError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Kiosk {device.name} at {unit}{' / ' + counter if counter else ''}")
    click.echo(f"Open on the kiosk: {public_url(f'/k/activate?token={token}')}")
    click.echo("Token (shown only now; stored hashed):")
    click.echo(token)


@click.command("qr")
@click.option("--service", "service_code", required=True)
@click.option("--counter", "counter_code", default=None)
@click.option("--size", type=click.Choice(["a4", "a5"]), default="a4", show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["pdf", "svg"]), default="pdf", show_default=True
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def qr(service_code: str, counter_code: str | None, size: str, fmt: str, output: str) -> None:
    """Write the printable QR poster of a service (and counter) as PDF or SVG."""
    service, counter = _service_and_counter(service_code, counter_code)
    poster = posters.make_poster(service, counter, size)
    data = posters.render_pdf(poster) if fmt == "pdf" else posters.render_svg(poster).encode()
    Path(output).write_bytes(data)
    click.echo(f"Wrote {output}: {poster.url}")


@click.group("visit-codes")
def visit_codes_group() -> None:
    """Single-use visit codes for the one-stop receipt (one rating per visit)."""


@visit_codes_group.command("mint")
@click.option("--service", "service_code", required=True)
@click.option("--counter", "counter_code", default=None)
@click.option("--count", type=click.IntRange(1, 1000), default=1, show_default=True)
@with_appcontext
def visit_codes_mint(service_code: str, counter_code: str | None, count: int) -> None:
    """Print new codes, one address per line (only a keyed hash of each code is stored)."""
    service, counter = _service_and_counter(service_code, counter_code)
    for code in visits.mint(service, count, counter=counter, actor="cli"):
        click.echo(visits.url(code))


@visit_codes_group.command("require")
@click.option("--unit", "unit_code", required=True)
@click.option("--off", is_flag=True, help="Accept phone ratings without a visit code again.")
@with_appcontext
def visit_codes_require(unit_code: str, off: bool) -> None:
    """Accept phone ratings at a unit only with a visit code (or, with --off, without)."""
    unit = catalogue.find_unit(unit_code)
    if unit is None:
        raise click.ClickException(f"unknown unit {unit_code}")
    unit.visit_codes_required = not off
    db.session.commit()
    click.echo(f"{unit.code}: visit codes {'optional' if off else 'required'}")


COMMANDS = (kiosk_group, qr, visit_codes_group)
