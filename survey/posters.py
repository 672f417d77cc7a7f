"""Printable QR posters per service and per counter, as SVG and PDF (A4 or A5)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from xml.sax.saxutils import escape

import segno
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from weasyprint import HTML

from survey.config import LOCALES, public_url
from survey.models import Counter, Service

SIZES = {"a4": (210, 297), "a5": (148, 210)}  # millimetres
QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks


@dataclass(frozen=True)
class Poster:
    url: str
    short_url: str
    size: str
    names: dict[str, str]  # service name per language
    counter: str | None
    unit: str | None
    lines: dict[str, dict[str, str]]  # per language: title, scan, anonymous


def short_url(service: Service, counter: Counter | None) -> str:
    """The address printed under the code: the short QR target of the service."""
    return public_url(f"/s/{service.code}" + (f"?counter={counter.code}" if counter else ""))


def make_poster(service: Service, counter: Counter | None, size: str) -> Poster:
    """Everything a poster shows, in vi, en and km."""
    lines = {}
    for locale in LOCALES:
        with force_locale(locale):
            lines[locale] = {
                "title": _("Rate our service"),
                "scan": _("Scan the code with your phone camera"),
                "anonymous": _("Anonymous: we do not ask for your name."),
            }
    url = short_url(service, counter)
    return Poster(
        url,
        url.split("://", 1)[-1],
        size,
        {locale: service.name_in(locale) for locale in LOCALES},
        counter.name_vi if counter else None,
        counter.unit.name_vi if counter else None,
        lines,
    )


def qr_svg(url: str, *, size_mm: float) -> str:
    """The QR code of `url` as an inline SVG element, `size_mm` wide, quiet zone included."""
    code = segno.make(url, error="m")
    width = code.symbol_size(scale=1, border=QUIET_ZONE)[0]
    svg = code.svg_inline(scale=1, border=QUIET_ZONE, dark="#000", light="#fff", omitsize=True)
    return svg.replace(
        "<svg ", f'<svg width="{size_mm}mm" height="{size_mm}mm" data-modules="{width}" ', 1
    )


def render_pdf(poster: Poster) -> bytes:
    """The poster as PDF (WeasyPrint shapes Vietnamese and Khmer with the system's fonts)."""
    html = render_template(
        "posters/poster.html",
        poster=poster,
        qr=qr_svg(poster.url, size_mm=90 if poster.size == "a4" else 70),
        page=SIZES[poster.size],
    )
    return HTML(string=html).write_pdf()


def render_svg(poster: Poster) -> str:
    """The poster as one SVG document."""
    width, height = SIZES[poster.size]
    qr_size = 90 if poster.size == "a4" else 70
    scale = width / 148
    parts, y = [], 16 * scale

    def text(
        content: str, size: float, *, bold: bool = False, lang: str = "vi", wrap: bool = True
    ) -> None:
        nonlocal y
        family = (
            "Noto Sans Khmer, Noto Sans, sans-serif" if lang == "km" else ("Noto Sans, sans-serif")
        )
        weight = ' font-weight="bold"' if bold else ""
        lines = (
            textwrap.wrap(content, width=int(width * 0.85 / (0.55 * size)), break_on_hyphens=False)
            if wrap
            else [content]
        )
        for line in lines or [""]:
            y += size * 1.6
            parts.append(
                f'<text x="{width / 2}" y="{y:.1f}" font-size="{size}" '
                f'font-family="{family}" text-anchor="middle" lang="{lang}"'
                f"{weight}>{escape(line)}</text>"
            )

    text(poster.lines["vi"]["title"], 7 * scale, bold=True)
    for locale in LOCALES:
        text(
            poster.names[locale],
            (5.2 if locale == "vi" else 4.2) * scale,
            bold=locale == "vi",
            lang=locale,
        )
    if poster.counter:
        text(poster.counter, 4 * scale)
    y += 4
    qr = qr_svg(poster.url, size_mm=qr_size).replace('mm"', '"')
    parts.append(f'<g transform="translate({(width - qr_size) / 2},{y})">{qr}</g>')
    y += qr_size
    # The address stays on one line, however long: it is typed from the poster.
    text(
        poster.short_url,
        min(4.2 * scale, (width - 16) / (0.62 * len(poster.short_url))),
        bold=True,
        wrap=False,
    )
    for locale in LOCALES:
        text(poster.lines[locale]["scan"], 3.6 * scale, lang=locale)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {width} {height}"><rect width="100%" height="100%" fill="#fff"/>'
        + "".join(parts)
        + "</svg>"
    )
