"""The daily digest (issue 13): per staff member who chose it, yesterday's counts and links.

Only counts and links: never a comment's text, never a phone number. A day of 1 to 4 ratings
shows no counts, as the dashboard hides such figures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from sqlalchemy import func, select

from survey import alerts, cases, mail, questionnaire, rollup_query, scope, sipas
from survey.config import public_url
from survey.extensions import db
from survey.filters import Filters
from survey.models import Response, User


@dataclass(frozen=True)
class Line:
    """One line of the digest: what is counted, the count, where to look."""

    label: str
    count: int
    link: str


def _case_lines(visible: set[int] | None, day: date) -> list[Line]:
    """The follow-up cases opened on `day`, and those still open past their deadline."""
    opened = cases.counts(since=day, until=day, unit_ids=visible, today=day).opened
    late = cases.open_overdue(visible, day + timedelta(days=1))
    return [
        Line(_("Follow-up cases opened"), opened, public_url("/admin/cases")),
        Line(_("Follow-up cases past their deadline"), late, public_url("/admin/cases?overdue=y")),
    ]


# More lines from other parts: each takes the units one may see (None: all) and the day.
EXTRA_LINES: list[Callable[[set[int] | None, date], list[Line]]] = [_case_lines]


@dataclass(frozen=True)
class Digest:
    day: date
    hidden: bool  # 1 to 4 ratings: no counts of ratings
    lines: list[Line]


def _counts(visible: set[int] | None, day: date) -> tuple[int, int]:
    """Ratings counted on `day` and those whose overall question was 1 or 2, from the rollups."""
    q = questionnaire.active()
    if q is None:
        return 0, 0
    units = None if visible is None else frozenset(visible or {-1})
    filters = Filters(since=day, until=day, questionnaire_id=q.id, units=units)
    rows = rollup_query.fetch(filters, [(day, day)], items=[q.overall_code])
    total = rollup_query.add_up(r.counts for r in rows)
    if not total:
        return 0, 0
    answers = rollup_query.items(q.id, total).get(q.overall_code, {})
    return total[0], answers.get(1, 0) + answers.get(2, 0)


def _flagged(visible: set[int] | None, day: date) -> int:
    """Suspect ratings captured on the local `day`."""
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
    query = select(func.count(Response.id)).where(
        Response.flag_reason.is_not(None),
        Response.captured_at >= start,
        Response.captured_at < start + timedelta(days=1),
    )
    if visible is not None:
        query = query.where(Response.unit_id.in_(visible or {-1}))
    return db.session.scalar(query)


def build_digest(user: User, day: date) -> Digest:
    """The digest of `day` for `user`, within their units, in the current language."""
    visible = scope.visible_unit_ids(user)
    ratings, low = _counts(visible, day)
    hidden = 0 < ratings < sipas.COUNTER_MIN_N
    lines = []
    if not hidden:
        lines += [
            Line(_("New ratings"), ratings, public_url("/admin/")),
            Line(_("Low ratings (1–2 on the general question)"), low, public_url("/admin/?low=1")),
        ]
    lines.append(Line(_("Suspect ratings"), _flagged(visible, day), public_url("/admin/flags")))
    lines.append(Line(_("Alerts open"), len(alerts.open_alerts(visible)), public_url("/admin/")))
    for extra in EXTRA_LINES:
        lines += extra(visible, day)
    return Digest(day, hidden, lines)


def digest_mail(user: User, day: date, locale: str) -> mail.Mail:
    """The digest e-mail of `day` for `user`, in `locale`."""
    with force_locale(locale):
        digest = build_digest(user, day)
        words = {
            "subject": _("Daily summary of %(day)s", day=format_date(day, "dd/MM/yyyy")),
            "digest": digest,
            "settings": public_url("/admin/account/alerts"),
        }
        text = render_template("mail/digest.txt", **words)
        html = render_template("mail/digest.html", lang=locale, **words)
    return mail.Mail(user.email, words["subject"], text, html)


def send_digests(*, now: datetime) -> int:
    """Send yesterday's digest to each who chose it and has not had today's, once the local
    hour is SURVEY_DIGEST_HOUR or later; the number sent."""
    local = now.astimezone(ZoneInfo(current_app.config["SURVEY_TIMEZONE"]))
    if local.hour < current_app.config["SURVEY_DIGEST_HOUR"] or not mail.configured():
        return 0
    sent = 0
    for user, pref in alerts.recipients(None):
        if pref.last_digest_on == local.date():
            continue
        sent += mail.send_all([digest_mail(user, local.date() - timedelta(days=1), pref.locale)])
        pref.last_digest_on = local.date()
        db.session.commit()
    return sent
