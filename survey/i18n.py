"""Languages: the locale in the URL path, the remembered choice, and template helpers."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache

from babel import numbers as babel_numbers
from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    get_locale,
    gettext,
)
from flask_babel.speaklater import LazyString
from werkzeug.routing import BaseConverter

from survey.config import LOCALES
from survey.kiosk_mode import in_kiosk

TENTH = Decimal("0.1")

COOKIE = "lang"
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English", "km": "ខ្មែរ"}


class LazyText(LazyString):
    """A translation looked up when it is used, which Jinja escapes like any other text.

    Flask-Babel's own lazy string declares `__html__`, so Jinja prints it as markup: a message
    formatted with a query-string value then reaches the page unescaped. Only templates make
    markup; a message, with or without arguments, is text.
    """

    def __getattribute__(self, name: str):
        if name == "__html__":
            raise AttributeError(name)
        return super().__getattribute__(name)


def lazy_text(string: str, **variables) -> LazyText:
    """`lazy_gettext` whose result is escaped in templates (imported as `_l`)."""
    return LazyText(gettext, string, **variables)


class LangConverter(BaseConverter):
    """Matches one of the supported languages in the first path segment."""

    regex = "|".join(LOCALES)


def preferred_locale() -> str:
    """The visitor's language for a bare URL: earlier choice, then Accept-Language, then vi."""
    remembered = request.cookies.get(COOKIE)
    if remembered in LOCALES:
        return remembered
    best = request.accept_languages.best_match(LOCALES)
    return best or current_app.config["SURVEY_DEFAULT_LOCALE"]


def select_locale() -> str:
    """Flask-Babel's locale selector: the language of the path, else the preferred one."""
    if not has_request_context():
        return current_app.config["SURVEY_DEFAULT_LOCALE"]
    lang = g.get("lang")
    if lang:
        return lang
    if in_kiosk():
        return current_app.config["SURVEY_DEFAULT_LOCALE"]  # a kiosk starts in Vietnamese
    if request.path.startswith("/admin"):
        # Manager pages are in Vietnamese unless the manager chose another language.
        chosen = request.cookies.get(COOKIE)
        return chosen if chosen in LOCALES else current_app.config["SURVEY_DEFAULT_LOCALE"]
    if request.path.startswith("/api/"):
        # Read by hand: the locale is chosen before any form can exist (a form's labels ask
        # for the locale, which would ask for the form again).
        wanted = request.args.get("lang")
        if wanted in LOCALES:
            return wanted
    return preferred_locale()


def current() -> str:
    """The current request's language code."""
    return str(get_locale() or "vi")


def switch_url(code: str) -> str:
    """The same page in language `code` (the start page where that is not possible)."""
    endpoint, args = request.endpoint, dict(request.view_args or {})
    if (
        endpoint
        and request.method == "GET"
        and not (request.url_rule and "lang" not in request.url_rule.arguments)
    ):
        # The query string goes on as it came (url_for would read keys such as _external as
        # its own options).
        query = request.query_string.decode("ascii", "replace")
        return url_for(endpoint, **{**args, "lang": code}) + (f"?{query}" if query else "")
    return f"/{code}/"


def _remember_choice(response):
    lang = g.get("lang")
    # A kiosk serves everyone: it remembers nobody.
    if lang and not in_kiosk() and request.cookies.get(COOKIE) != lang:
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def percent(value: float | None) -> str:
    """Format a 0–100 figure as a percentage in the page's language (87,5% in vi).

    A dashboard formats thousands of them: the locale's decimal sign and percent sign are
    read from Babel once per language, and the figure is rounded as Babel rounds it (half to
    even, on its decimal text); anything past 999.9 goes to Babel itself."""
    if value is None:
        return ""
    rounded = Decimal(str(value / 100)).scaleb(2).quantize(TENTH, ROUND_HALF_EVEN)
    if not -1000 < rounded < 1000:
        return format_percent(value / 100, "#,##0.0%")
    prefix, decimal_sign, suffix = _percent_signs(str(get_locale() or "vi"))
    return prefix + f"{rounded:f}".replace(".", decimal_sign) + suffix


def decimal(value, pattern: str | None = None) -> str:
    """Format a number in the page's language as Babel's format_decimal does (1.234 in vi);
    whole numbers (the dashboard's hundreds of n) and one-decimal figures without Babel's
    pattern machinery, rounded as Babel rounds them (half to even, on the decimal text)."""
    if isinstance(value, int) and pattern is None:
        group = _number_signs(str(get_locale() or "vi"))[0]
        return f"{value:,}".replace(",", group) if group != "," else f"{value:,}"
    if pattern != "#,##0.0" or not isinstance(value, float | int) or not -999 < value < 999:
        return format_decimal(value, pattern)
    rounded = Decimal(str(value)).quantize(TENTH, ROUND_HALF_EVEN)
    return f"{rounded:f}".replace(".", _number_signs(str(get_locale() or "vi"))[1])


@lru_cache(maxsize=16)
def _number_signs(locale: str) -> tuple[str, str]:
    """The locale's group sign and decimal sign."""
    sample = babel_numbers.format_decimal(1234567.5, "#,##0.0", locale=locale)  # 1.234.567,5
    return sample[1], sample[-2]


@lru_cache(maxsize=16)
def _percent_signs(locale: str) -> tuple[str, str, str]:
    """What precedes the number in a percentage, its decimal sign and what follows it."""
    sample = babel_numbers.format_percent(0.125, "#,##0.0%", locale=locale)  # "12,5%" in vi
    start = sample.index("12")
    return sample[:start], sample[start + 2], sample[start + 4 :]


def init_app(app: Flask) -> None:
    """Install the converter, the cookie and the template helpers."""
    app.url_map.converters["lang"] = LangConverter
    app.after_request(_remember_choice)
    app.context_processor(lambda: {"kiosk": in_kiosk()})
    app.jinja_env.globals.update(
        LOCALES=LOCALES,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        current_locale=current,
        switch_url=switch_url,
    )
    app.jinja_env.filters.update(
        percent=percent,
        decimal=decimal,
        number=lambda v: "" if v is None else format_decimal(v, "#,##0.00"),
        percent2=lambda v: "" if v is None else format_percent(v / 100, "#,##0.00%"),
        localtime=lambda v: format_datetime(v, "HH:mm"),
        localdatetime=lambda v: format_datetime(v, "dd/MM/yyyy HH:mm"),
        localdate=lambda v: format_date(v, "dd/MM/yyyy"),
    )
