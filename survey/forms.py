"""Where a form reads its fields from. Every filter GET and every POST goes through a form.

Two bases beside Flask-WTF's own (the body of a POST, with its CSRF token): a form read from
the query string, and a citizen page's form that reads its link on a GET and its body on a
POST. Neither checks a token itself: a link carries none, and CSRFProtect checks every POST
before any view runs.
"""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice


class QueryForm(FlaskForm):
    """Read from the query string: filters, a page number, where to go next."""

    class Meta:
        csrf = False

        def wrap_formdata(self, form, formdata):
            return request.args


class CarriedForm(FlaskForm):
    """A citizen page's own fields: from its link on a GET, from its form on a POST."""

    class Meta:
        csrf = False

        def wrap_formdata(self, form, formdata):
            return request.args if request.method == "GET" else request.form


def choices(pairs) -> list[SelectChoice]:
    """A <select>'s choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]
