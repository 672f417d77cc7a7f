"""The kiosk's own screens: the start screen in three languages and the procedures as tiles.

The citizen pages (public.py) hand over to these under /k. The kiosk's settings, as the
manager made them, decide two things here: the language it greets in first and returns to
after a reset (KioskDevice.default_language), and the one procedure it rates, when it is bound
to one (KioskDevice.service): then the procedure step is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, redirect, render_template, url_for
from flask_babel import force_locale, gettext

from survey import abuse, catalogue, i18n
from survey.config import LOCALES
from survey.models import Service


@dataclass(frozen=True)
class Greeting:
    """One language's tile of the start screen, written in that language."""

    lang: str
    language: str
    title: str
    start: str
    href: str


def languages(first: str) -> list[str]:
    """The languages of the kiosk, its default language first."""
    return [first] + [code for code in LOCALES if code != first]


def bound_service(device) -> Service | None:
    """The one procedure this kiosk rates, when the manager bound it to one still offered."""
    service = device.service if device is not None else None
    return service if service is not None and service.active else None


def _first_page(lang: str, device) -> str:
    """Where a language's tile leads: the procedures, or the bound procedure's question."""
    bound = bound_service(device)
    if bound is not None:
        return url_for("kiosk.service", lang=lang, code=bound.code)
    return url_for("kiosk.index", lang=lang)


def start():
    """The start screen, in the kiosk's default language (the one a reset returns to)."""
    device = abuse.current_kiosk()
    g.lang = device.default_language if device.default_language in LOCALES else LOCALES[0]
    greetings = []
    for code in languages(g.lang):
        with force_locale(code):
            greetings.append(
                Greeting(
                    lang=code,
                    language=i18n.LANGUAGE_NAMES[code],
                    title=gettext("Rate our service"),
                    start=gettext("Touch to start rating"),
                    href=_first_page(code, device),
                )
            )
    return render_template("public/attract.html", greetings=greetings)


def procedures(query: str):
    """The procedures as tiles by lĩnh vực, the most rated here first; a kiosk bound to one
    procedure goes straight to its question."""
    device = abuse.current_kiosk()
    bound = bound_service(device)
    if bound is not None:
        return redirect(url_for("kiosk.service", code=bound.code), 303)
    locale = i18n.current()
    return render_template(
        "kiosk/index.html",
        groups=catalogue.services_by_field(query=query, locale=locale),
        frequent=[] if query else catalogue.frequent_services(device, locale=locale),
        query=query,
        keys=KEYS,
    )


# The on-screen keyboard: the search ignores diacritics and case, so plain letters find every
# Vietnamese word ("ket hon" finds "Kết hôn"); digits find national procedure codes.
KEYS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm")
