"""Printable QR posters per service and per counter, as SVG and PDF (A4 or A5).

The code takes as much of the page as the text leaves it: CODE_MM is the width of its modules
(the quiet zone comes on top) on a page whose texts take their usual room; a longer procedure
name shrinks it, never below MIN_CODE_MM (on A4, 10 cm: read from an arm's length by any
phone), rather than let the poster spill onto a second page.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from weasyprint import HTML

from survey.config import LOCALES, public_url
from survey.models import Counter, Service
from survey.report import top_unit

SIZES = {"a4": (210, 297), "a5": (148, 210)}  # millimetres
CODE_MM = {"a4": 125, "a5": 82}
MIN_CODE_MM = {"a4": 100, "a5": 64}
STEP_MM = 6  # taken off the code each time the page overflows
QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks


@dataclass(frozen=True)
class Poster:
    url: str
    short_url: str
    size: str
    names: dict[str, str]  # service name per language
    counter: str | None
    unit: str | None  # where it hangs: see `place`
    lines: dict[str, dict[str, str]]  # per language: title, scan, minute, anonymous


def short_url(service: Service, counter: Counter | None) -> str:
    """The address printed under the code: the short QR target of the service."""
    return public_url(f"/s/{service.code}" + (f"?counter={counter.code}" if counter else ""))


def place(counter: Counter | None) -> str | None:
    """The name the poster is headed with: the counter's unit; for the whole centre, the
    centre's configured name (SURVEY_CENTRE_NAME, when set), else the unit at the top of the
    catalogue."""
    if counter is not None:
        return counter.unit.name_vi
    configured = current_app.config.get("SURVEY_CENTRE_NAME")
    unit = None if configured else top_unit()
    return configured or (unit.name_vi if unit else None)


def make_poster(service: Service, counter: Counter | None, size: str) -> Poster:
    """Everything a poster shows, in vi, en and km."""
    lines = {}
    for locale in LOCALES:
        with force_locale(locale):
            lines[locale] = {
                "title": _("Rate our service"),
                "scan": _("Scan the code with any phone camera or with Zalo."),
                "minute": _("It only takes about a minute."),
                "anonymous": _("Anonymous: we do not ask for your name."),
            }
    url = short_url(service, counter)
    return Poster(
        url,
        url.split("://", 1)[-1],
        size,
        {locale: service.name_in(locale) for locale in LOCALES},
        counter.name_vi if counter else None,
        place(counter),
        lines,
    )


def qr_width(url: str, *, code_mm: float) -> float:
    """The width (mm) of the QR code of `url` with its quiet zone, its modules `code_mm` wide."""
    modules = segno.make(url, error="m").symbol_size(scale=1, border=0)[0]
    return round(code_mm * (modules + 2 * QUIET_ZONE) / modules, 2)


def qr_svg(url: str, *, code_mm: float) -> str:
    """The QR code of `url` as an inline SVG element, its modules `code_mm` wide, quiet zone
    included (`qr_width` wide)."""
    code = segno.make(url, error="m")
    width = code.symbol_size(scale=1, border=QUIET_ZONE)[0]
    size_mm = qr_width(url, code_mm=code_mm)
    svg = code.svg_inline(scale=1, border=QUIET_ZONE, dark="#000", light="#fff", omitsize=True)
    return svg.replace(
        "<svg ", f'<svg width="{size_mm}mm" height="{size_mm}mm" data-modules="{width}" ', 1
    )


def render_pdf(poster: Poster) -> bytes:
    """The poster as a one-page PDF (WeasyPrint shapes Vietnamese and Khmer with the
    system's fonts), its code as wide as the page allows (see the module's docstring)."""
    code_mm, least = CODE_MM[poster.size], MIN_CODE_MM[poster.size]
    while True:
        html = render_template(
            "posters/poster.html",
            poster=poster,
            qr=qr_svg(poster.url, code_mm=code_mm),
            page=SIZES[poster.size],
        )
        document = HTML(string=html).render()
        if len(document.pages) == 1 or code_mm <= least:
            return document.write_pdf()
        code_mm = max(code_mm - STEP_MM, least)


@dataclass(frozen=True)
class _Line:
    """One line of an SVG poster's text (sizes in millimetres)."""

    text: str
    size: float
    bold: bool = False
    lang: str = "vi"

    def svg(self, x: float, y: float) -> str:
        family = (
            "Noto Sans Khmer, Noto Sans, sans-serif"
            if self.lang == "km"
            else "Noto Sans, sans-serif"
        )
        weight = ' font-weight="bold"' if self.bold else ""
        return (
            f'<text x="{x}" y="{y:.1f}" font-size="{self.size:.2f}" font-family="{family}" '
            f'text-anchor="middle" lang="{self.lang}"{weight}>{escape(self.text)}</text>'
        )


def _wrapped(text: str, size: float, width: float, **style) -> list[_Line]:
    """`text` cut into lines that fit `width` millimetres at `size`."""
    cut = textwrap.wrap(text, width=int(width / (0.55 * size)), break_on_hyphens=False)
    return [_Line(line, size, **style) for line in cut or [""]]


def _svg_texts(poster: Poster, scale: float, width: float) -> tuple[list[_Line], list[_Line]]:
    """The lines above the code and those below it."""
    vi, wide = poster.lines["vi"], width * 0.85
    above = _wrapped(poster.unit or "", 3.6 * scale, wide, bold=True) if poster.unit else []
    above += _wrapped(vi["title"], 7 * scale, wide, bold=True)
    above += _wrapped(vi["minute"], 4.6 * scale, wide, bold=True)
    for locale in LOCALES:
        big = locale == "vi"
        above += _wrapped(
            poster.names[locale], (5 if big else 3.4) * scale, wide, bold=big, lang=locale
        )
    if poster.counter:
        above += _wrapped(poster.counter, 3.6 * scale, wide, bold=True)
    # The address stays on one line, however long: it is typed from the poster.
    below = [
        _Line(
            poster.short_url, min(3.8 * scale, (width - 16) / (0.62 * len(poster.short_url))), True
        )
    ]
    below += _wrapped(vi["scan"], 3.8 * scale, wide, bold=True)
    for locale in LOCALES[1:]:
        lines = poster.lines[locale]
        below += _wrapped(f"{lines['scan']} {lines['minute']}", 2.9 * scale, wide, lang=locale)
    return above, below


def render_svg(poster: Poster) -> str:
    """The poster as one SVG document, laid out as the PDF: the texts above and below the
    code, the code as wide as CODE_MM asks or as the page's height leaves it."""
    width, height = SIZES[poster.size]
    above, below = _svg_texts(poster, width / 148, width)
    margin, leading = 10 * width / 148, 1.55
    room = height - 2 * margin - leading * sum(line.size for line in (*above, *below))
    code_mm = CODE_MM[poster.size]
    qr_size = min(qr_width(poster.url, code_mm=code_mm), room)
    code_mm *= qr_size / qr_width(poster.url, code_mm=code_mm)
    parts, y = [], margin
    for line in above:
        y += line.size * leading
        parts.append(line.svg(width / 2, y))
    qr = qr_svg(poster.url, code_mm=code_mm).replace('mm"', '"')
    parts.append(f'<g transform="translate({(width - qr_size) / 2:.2f},{y + 2:.2f})">{qr}</g>')
    y += qr_size
    for line in below:
        y += line.size * leading
        parts.append(line.svg(width / 2, y))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="#fff"/>'
        + "".join(parts)
        + "</svg>"
    )
