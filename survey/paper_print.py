"""The printable paper questionnaire: A4, one form per serial number, in vi, en or km.

Made from the stored questionnaire (survey/questionnaire), never from a second copy of its
questions, and rendered with the report's machinery (WeasyPrint, the app's own static files
only: survey/report.py). Each question carries its code (OV, TC1 …), the one the typing page
and the import file use, so staff find it at a glance.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from weasyprint import HTML

from survey import questionnaire
from survey.questionnaire import Questionnaire
from survey.report import BASE_URL, StaticFetcher


def render_html(q: Questionnaire, *, locale: str, serials: list[str]) -> str:
    """The blank forms as one HTML document, in `locale`."""
    with force_locale(locale):
        return render_template(
            "admin/paper/sheet.html",
            q=questionnaire.localized(q, locale),
            expectations_question=questionnaire.label(q.data["expectations_question"], locale),
            serials=serials,
            lang=locale,
        )


def render_pdf(q: Questionnaire, *, locale: str, serials: list[str]) -> bytes:
    """The blank forms as an A4 PDF, one form (two pages at most) per serial number."""
    html = render_html(q, locale=locale, serials=serials)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFetcher()).write_pdf()
