"""Alerts (issue 13): each rule's conditions become alert states, sent by e-mail once when a
condition starts, shown on the dashboard while it holds.

An alert is sent when its condition starts and again only after it has cleared and come back:
`update` compares the conditions of one kind with the stored states of that kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import render_template
from flask_babel import force_locale, format_datetime, format_percent
from flask_babel import gettext as _
from sqlalchemy import select

from survey import mail, scope
from survey.alert_models import AlertPreference, AlertState
from survey.alert_rules import KINDS, Condition
from survey.config import public_url
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.models import Service, Unit, User

KIND_LABELS = {
    "index": _l("An index falls below its last 90 days"),
    "kiosk": _l("A kiosk is silent during opening hours"),
    "flags": _l("A surge of suspect ratings"),
    "cases": _l("A case is about to pass its deadline"),
    "webhooks": _l("A webhook endpoint is paused (administrators)"),
}


def update(
    kind: str, conditions: Iterable[Condition], *, now: datetime, commit: bool = True
) -> list[AlertState]:
    """Store the conditions of `kind` that hold at `now`; clear the others; the states that
    started now (new, or back after clearing)."""
    held = {c.key: c for c in conditions}
    states = {
        s.key: s for s in db.session.scalars(select(AlertState).where(AlertState.kind == kind))
    }
    started = []
    for key, condition in held.items():
        state = states.get(key)
        if state is None:
            state = AlertState(key=key, kind=kind, active=False, times=0, unit_id=condition.unit_id)
            db.session.add(state)
        if not state.active:
            state.active, state.started_at, state.cleared_at = True, now, None
            state.times += 1
            started.append(state)
        state.detail = condition.detail
    for key, state in states.items():
        if state.active and key not in held:
            state.active, state.cleared_at = False, now
    if commit:
        db.session.commit()
    return started


def check(kind: str, conditions: Iterable[Condition], *, now: datetime) -> int:
    """Update the states of `kind` and e-mail the alerts that started; the number of e-mails.

    The states are stored only once the e-mails are sent: when the mail server fails, the job
    fails and the next run finds the same alerts starting, and sends them then."""
    sent = notify(update(kind, conditions, now=now, commit=False))
    db.session.commit()
    return sent


def _index_sentence(detail: dict, unit_name: str) -> str:
    figures = {
        "unit": unit_name,
        "week": format_percent(detail["week"] / 100, "#,##0.0%"),
        "base": format_percent(detail["base"] / 100, "#,##0.0%"),
    }
    if "service" in detail:
        service = db.session.scalar(select(Service).filter_by(code=detail["service"]))
        return _(
            "The index of %(service)s at %(unit)s over the last 7 days is %(week)s, below "
            "its figure of the 90 days before (%(base)s), beyond the intervals.",
            service=service.name if service else detail["service"],
            **figures,
        )
    return _(
        "The index of %(unit)s over the last 7 days is %(week)s, below its figure of the "
        "90 days before (%(base)s), beyond the intervals.",
        **figures,
    )


def describe(state: AlertState) -> str:
    """The alert in a sentence, in the current language: names and figures, never free text."""
    detail = state.detail or {}
    unit = db.session.get(Unit, state.unit_id) if state.unit_id else None
    unit_name = unit.name if unit else _("every unit")
    if state.kind == "index":
        return _index_sentence(detail, unit_name)
    if state.kind == "kiosk":
        return _(
            "The kiosk %(kiosk)s at %(unit)s has sent no heartbeat for %(minutes)d minutes or "
            "more during opening hours.",
            kiosk=detail.get("kiosk", ""),
            minutes=detail.get("minutes", 30),
            unit=unit_name,
        )
    if state.kind == "webhooks":
        return _(
            "Deliveries to %(url)s have failed for a day: the endpoint is paused. Resume it on "
            "the webhooks page once the receiving system works again.",
            url=detail.get("url", ""),
        )
    n = detail.get("count", 0)
    if state.kind == "flags":
        return _("%(n)d suspect ratings at %(unit)s in the last hour.", n=n, unit=unit_name)
    return _("%(n)d cases at %(unit)s reach their deadline within 2 days.", n=n, unit=unit_name)


def open_alerts(visible: set[int] | None) -> list[AlertState]:
    """The alerts that hold now, of the units one may see (an alert of no unit: admins only)."""
    query = select(AlertState).where(AlertState.active.is_(True))
    if visible is not None:
        query = query.where(AlertState.unit_id.in_(visible or {-1}))
    return list(db.session.scalars(query.order_by(AlertState.started_at.desc(), AlertState.id)))


@dataclass(frozen=True)
class OpenAlert:
    kind: str
    sentence: str
    since: datetime


def shown(visible: set[int] | None) -> list[OpenAlert]:
    """The open alerts of the units one may see, in sentences of the current language."""
    return [OpenAlert(s.kind, describe(s), s.started_at) for s in open_alerts(visible)]


def recipients(kind: str | None = None) -> list[tuple[User, AlertPreference]]:
    """Active staff with their choices: who chose alerts of `kind` (None: the digest)."""
    rows = db.session.execute(
        select(User, AlertPreference)
        .join(AlertPreference, AlertPreference.user_id == User.id)
        .where(User.active.is_(True))
        .order_by(User.id)
    ).all()
    if kind is None:
        return [(u, p) for u, p in rows if p.digest]
    return [(u, p) for u, p in rows if kind in (p.kinds or [])]


def notify(started: list[AlertState]) -> int:
    """E-mail each started alert to those who chose its kind and may see its unit."""
    mails = []
    for state in started:
        for user, pref in recipients(state.kind):
            if state.unit_id is None and user.role != "admin":
                continue
            if state.unit_id is not None and not scope.can_see(user, state.unit_id):
                continue
            mails.append(alert_mail(state, user, pref.locale))
    return mail.send_all(mails)


def alert_mail(state: AlertState, user: User, locale: str) -> mail.Mail:
    """The e-mail of one alert, in `locale`: the sentence and a link, nothing else."""
    with force_locale(locale):
        sentence = describe(state)
        words = {
            "subject": _("Alert: %(kind)s", kind=KIND_LABELS[state.kind]),
            "sentence": sentence,
            "since": format_datetime(state.started_at, "dd/MM/yyyy HH:mm"),
            "link": public_url("/admin/"),
            "settings": public_url("/admin/account/alerts"),
        }
        text = render_template("mail/alert.txt", **words)
        html = render_template("mail/alert.html", lang=locale, **words)
    return mail.Mail(user.email, str(words["subject"]), text, html)


def preference(user: User) -> AlertPreference:
    """The account's choices (none chosen before the first save)."""
    found = db.session.get(AlertPreference, user.id)
    return found or AlertPreference(user_id=user.id, kinds=[], digest=False, locale="vi")


def save_preference(user: User, *, kinds: list[str], digest: bool, locale: str) -> None:
    """Keep the alert kinds the account receives, the digest and the e-mails' language."""
    found = db.session.get(AlertPreference, user.id)
    if found is None:
        found = AlertPreference(user_id=user.id)
        db.session.add(found)
    found.kinds = [k for k in KINDS if k in kinds]
    found.digest, found.locale = digest, locale
    db.session.commit()
