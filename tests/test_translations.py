"""The gettext catalogues: complete, compiled, and fed by a working extraction."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from survey.config import LOCALES

ROOT = Path(__file__).resolve().parent.parent


def catalogue(locale: str):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


@pytest.mark.parametrize("locale", LOCALES)
def test_no_untranslated_or_fuzzy_entry(locale):
    bad = [
        m.id
        for m in catalogue(locale)
        if m.id and (m.fuzzy or not m.string or (isinstance(m.string, tuple) and not all(m.string)))
    ]
    assert bad == []


def _key(value):
    return tuple(value) if isinstance(value, list | tuple) else value


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_is_up_to_date(locale):
    with open(ROOT / "translations" / locale / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(handle) if m.id}
    source = {_key(m.id): _key(m.string) for m in catalogue(locale) if m.id}
    assert compiled == source, "run `survey translate compile`"


def test_catalogues_cover_every_extracted_string(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel.cfg"),
            "-k",
            "_l",
            "-o",
            str(pot),
            str(ROOT),
        ],
        check=True,
        cwd=ROOT,
    )
    extracted = {m.id for m in read_po(io.BytesIO(pot.read_bytes())) if m.id}
    # The extraction reads templates and lazy strings of the package (a stale babel.cfg
    # would silently lose both).
    assert "Send rating" in extracted  # templates/public/service.html
    assert "Choose how satisfied you are." in extracted  # _l in survey/responses.py
    for locale in LOCALES:
        missing = extracted - {m.id for m in catalogue(locale) if m.id}
        assert not missing, f"{locale}: run `survey translate update` ({sorted(missing)[:3]})"
