"""`survey translate extract|update|compile`: the gettext catalogues, run in the source tree."""

from __future__ import annotations

import click
from babel.messages.frontend import CommandLineInterface

from survey.paths import PACKAGE_DIR

ROOT = PACKAGE_DIR.parent
POT = str(ROOT / "translations" / "messages.pot")


@click.group("translate")
def translate() -> None:
    """Extract, update and compile the gettext catalogues (run in the source tree)."""


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


@translate.command("extract")
def translate_extract() -> None:
    """Extract every marked string into translations/messages.pot."""
    _pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "-k",
        "_l",
        "--no-location",
        "--sort-output",
        "-o",
        POT,
        str(ROOT),
    )


@translate.command("update")
def translate_update() -> None:
    """Extract, then merge new strings into every catalogue."""
    translate_extract.callback()
    _pybabel("update", "-i", POT, "-d", str(ROOT / "translations"), "--no-fuzzy-matching")


@translate.command("compile")
def translate_compile() -> None:
    """Compile every catalogue to .mo."""
    _pybabel("compile", "-d", str(ROOT / "translations"))
