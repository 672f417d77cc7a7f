"""Paper questionnaires typed by staff: checking a typing, double entry, and counting a form.

A paper form is known by the serial number printed on it (survey/paper_print.py prints them)
and stored once (`PaperForm`, survey/paper_models.py); each typing of it is a `PaperEntry`
saying who typed what. A form counts when it becomes an ordinary response of the channel
"paper", written through the ORM like every page's response, so the rollup listener
(survey/rollups.py) counts it in the same transaction.

Double entry (SURVEY_PAPER_DOUBLE_ENTRY, or chosen per form): the first typing leaves the form
pending, out of the figures; a second typing by another person that agrees counts it; one that
disagrees makes the form disputed, still out of the figures, listed with the items that differ,
until a third person (who typed neither) types it from the paper: that typing counts.

A form that is not counted has no response at all, rather than a flagged one: the suspect
ratings page (survey/flags.py) lets a manager count a flagged rating in one click, which would
skip the third person. Paper forms are exempt from the kiosk and phone abuse rules: they are
typed by signed-in staff and every typing is audited.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from survey import audit, periods
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.models import Service, Unit
from survey.paper_models import COUNTED, DISPUTED, PENDING, PaperEntry, PaperForm
from survey.questionnaire import Questionnaire
from survey.responses import add_response, mark_complete, scale_size

SERIAL = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")
NAMESPACE = uuid.UUID("5b0f4c1e-7a53-4c55-9a49-2f1d6c0e7a11")  # a paper form's response id
HEADER_FIELDS = ("unit", "service", "written_on", "locale", "comment")


class Refused(ValueError):
    """A typing that cannot be stored; `field` names the field, `message` says why."""

    def __init__(self, field: str, message):
        super().__init__(str(message))
        self.field, self.message = field, message


@dataclass(frozen=True)
class Typed:
    """What one person read on one paper form, checked."""

    serial: str
    unit: Unit
    service: Service
    written_on: date
    locale: str
    answers: dict[str, int | None]
    comment: str | None

    def values(self) -> dict:
        """Every field as stored in a `PaperEntry`, for comparing two typings."""
        return _values(self.unit.id, self.service.id, self.written_on, self.locale, self)


def _values(unit_id, service_id, written_on, locale, source) -> dict:
    return {
        "unit": unit_id,
        "service": service_id,
        "written_on": written_on,
        "locale": locale,
        "comment": source.comment or None,
        **{item: value for item, value in source.answers.items()},
    }


def entry_values(entry: PaperEntry) -> dict:
    """The fields of a stored typing, as `Typed.values` gives them."""
    return _values(entry.unit_id, entry.service_id, entry.written_on, entry.locale, entry)


@dataclass(frozen=True)
class Outcome:
    """What a typing did to its form: "counted", "pending", "agreed", "disputed", "resolved"."""

    status: str
    form: PaperForm
    differences: list[str] = field(default_factory=list)  # the field codes that differ


def items(q: Questionnaire) -> list[str]:
    """The scored items of a paper form, in the form's order."""
    return [q.overall_code, *q.criteria, *q.expectation_codes]


def clean_serial(text: str | None) -> str:
    """The serial number as stored (upper case, no spaces); Refused when it is not one."""
    serial = (text or "").strip().upper()
    if not SERIAL.match(serial):
        raise Refused(
            "serial",
            _l("Type the serial number printed on the form: letters, digits and dashes."),
        )
    return serial


def clean_digits(q: Questionnaire, raw: Mapping[str, str | None]) -> tuple[dict, dict]:
    """The answers typed as digits (1 to the top of the item's scale, 0 or nothing for not
    applicable) and the errors by item code; every item of `raw` must be on the form."""
    known, answers, errors = items(q), {}, {}
    for code in raw:
        if code not in known:
            errors[code] = _l("%(item)s is not a question of the form.", item=code)
    for code in known:
        text, top = (raw.get(code) or "").strip(), scale_size(q, code)
        if text in ("", "0"):
            answers[code] = None
        elif text in {str(n) for n in range(1, top + 1)}:
            answers[code] = int(text)
        else:
            errors[code] = _l(
                "%(item)s: type a digit from 1 to %(top)d, or 0 for not applicable.",
                item=code,
                top=top,
            )
    if not errors and all(v is None for v in answers.values()):
        errors[q.overall_code] = _l("The form has no answer: type at least one digit.")
    return answers, errors


def date_error(written_on: date | None, today: date):
    """Why the date written on a form cannot be taken (lazy text), or None."""
    if written_on is None:
        return _l("Type the date written on the form as dd/mm/yyyy.")
    if written_on > today:
        return _l("The date is in the future: type the date written on the form.")
    if written_on < periods.minus_year(today):
        return _l("The form is more than a year old and can no longer be entered.")
    return None


def find_form(serial: str, *, lock: bool = False) -> PaperForm | None:
    """The form with this serial number, with its typings."""
    query = select(PaperForm).filter_by(serial=serial).options(selectinload(PaperForm.entries))
    return db.session.scalar(query.with_for_update() if lock else query)


def enter(
    typed: Typed,
    *,
    q: Questionnaire,
    actor: str,
    double: bool,
    kind: str = "typed",
    audited: bool = True,
) -> Outcome:
    """Store one typing of a form in the session and apply double entry (no commit; audited
    unless the caller audits a whole import); Refused when this person may not type this form
    now."""
    form = find_form(typed.serial, lock=True)
    if form is None:
        form = PaperForm(serial=typed.serial, status=PENDING)
        db.session.add(form)
        _add_entry(form, typed, actor=actor, kind=kind)
        outcome = Outcome("pending", form) if double else _count(form, typed, q, "counted")
    else:
        outcome = _next(form, typed, q=q, actor=actor)
    if audited:
        detail = {"status": outcome.status, "differences": ",".join(outcome.differences)}
        audit.record("paper.entry", actor=actor, target=typed.serial, detail=detail, commit=False)
    return outcome


def _next(form: PaperForm, typed: Typed, *, q: Questionnaire, actor: str) -> Outcome:
    """A second or third typing of a stored form."""
    if form.status == COUNTED:
        raise Refused("serial", _l("Form %(serial)s is counted already.", serial=form.serial))
    if actor in {e.typed_by for e in form.entries}:
        if form.status == DISPUTED:
            message = _l(
                "You typed form %(serial)s already: someone who typed neither typing resolves it.",
                serial=form.serial,
            )
        else:
            message = _l(
                "You typed form %(serial)s already: another person types it the second time.",
                serial=form.serial,
            )
        raise Refused("serial", message)
    if form.status == DISPUTED:
        _add_entry(form, typed, actor=actor, kind="resolved")
        return _count(form, typed, q, "resolved")
    first = entry_values(form.entries[0])
    _add_entry(form, typed, actor=actor, kind="typed")
    differing = differences(first, typed.values())
    if differing:
        form.status = DISPUTED
        return Outcome("disputed", form, differing)
    return _count(form, typed, q, "agreed")


def differences(first: Mapping, second: Mapping) -> list[str]:
    """The fields (header fields, then item codes) on which two typings differ."""
    keys = [*HEADER_FIELDS, *(k for k in [*first, *second] if k not in HEADER_FIELDS)]
    return list(dict.fromkeys(k for k in keys if first.get(k) != second.get(k)))


def _add_entry(form: PaperForm, typed: Typed, *, actor: str, kind: str) -> None:
    form.entries.append(
        PaperEntry(
            kind=kind,
            typed_by=actor,
            unit=typed.unit,
            service=typed.service,
            written_on=typed.written_on,
            locale=typed.locale,
            answers=dict(typed.answers),
            comment=typed.comment,
        )
    )


def captured_at(written_on: date) -> datetime:
    """The capture time of a paper form: noon, the centre's time, on the date written on it,
    so that it falls in that day's period whatever the time zone."""
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    return datetime.combine(written_on, time(12), tzinfo=zone).astimezone(UTC)


def _count(form: PaperForm, typed: Typed, q: Questionnaire, status: str) -> Outcome:
    """Make the form a complete response of the paper channel (the rollups follow on flush)."""
    response = add_response(
        public_id=str(uuid.uuid5(NAMESPACE, form.serial)),
        questionnaire=q,
        service=typed.service,
        unit=typed.unit,
        counter=None,
        channel="paper",
        locale=typed.locale,
        captured_at=captured_at(typed.written_on),
        answers=typed.answers,
    )
    mark_complete(response, typed.comment)
    form.response, form.status = response, COUNTED
    return Outcome(status, form)


@dataclass(frozen=True)
class OpenForm:
    """A form waiting for its second typing or for a third person."""

    serial: str
    status: str
    unit: str
    written_on: date
    typed_by: list[str]
    # Per differing field: its code and the two values as typed (None: nothing typed).
    differences: list[tuple[str, object, object]]


def open_forms(*, visible: set[int] | None, locale: str, limit: int = 100) -> list[OpenForm]:
    """The pending and disputed forms of the visible units, disputed ones first."""
    query = (
        select(PaperForm)
        .where(PaperForm.status != COUNTED)
        .options(selectinload(PaperForm.entries).joinedload(PaperEntry.unit))
        .order_by(PaperForm.status, PaperForm.created_at)
        .limit(limit)
    )
    if visible is not None:  # a form typed for one of the visible units, by any typing
        query = query.where(PaperForm.entries.any(PaperEntry.unit_id.in_(visible or {-1})))
    found = []
    for form in db.session.scalars(query):
        first = form.entries[0]
        values = [entry_values(e) for e in form.entries[:2]]
        shown = []
        if len(values) == 2:
            pairs = [(e.unit.name_in(locale), e.service.name_in(locale)) for e in form.entries[:2]]
            for code in differences(*values):
                a, b = values[0].get(code), values[1].get(code)
                if code in ("unit", "service"):
                    index = 0 if code == "unit" else 1
                    a, b = pairs[0][index], pairs[1][index]
                shown.append((code, a, b))
        found.append(
            OpenForm(
                form.serial,
                form.status,
                first.unit.name_in(locale),
                first.written_on,
                [e.typed_by for e in form.entries],
                shown,
            )
        )
    return found
