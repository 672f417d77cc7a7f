"""The citizen's journey through the pages: the overall question, the detailed pages, the end.

Each page is one call here that returns an outcome (a frozen dataclass, Outcome) for public.py
to render or follow; what a page shows is worked out in steps.py. The answers themselves are
checked by responses.py with the rules of the API and the import. A browser reaches only the
responses it started: their ids are kept in its signed session cookie. On a phone, a unit that
asks for visit codes accepts a rating only with the code of the receipt, used once.

A module of its own, not part of responses.py: that one holds the rules every channel shares,
this one the browser's session and the order of its pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, session

from survey import abuse, catalogue, i18n, questionnaire, responses, steps, visits
from survey.extensions import db
from survey.i18n import lazy_text as _l
from survey.kiosk_mode import in_kiosk
from survey.models import Counter, Response, Service, Unit, VisitCode
from survey.questionnaire import Questionnaire
from survey.responses import FieldError, Invalid

OWNED_KEY, OWNED_MAX = "responses", 20
VISIT_KEY = "visit"


# --- The browser's own responses and visit code ----------------------------------------------


def owned_response(rid: str) -> Response | None:
    """This browser's response `rid`; None when forged, unknown or someone else's."""
    response = responses.find_response(rid)
    if response is None or response.public_id not in session.get(OWNED_KEY, []):
        return None
    return response


def own(public_id: str) -> None:
    """Remember that this browser started `public_id` (the most recent OWNED_MAX)."""
    others = [r for r in session.get(OWNED_KEY, []) if r != public_id]
    session[OWNED_KEY] = ([public_id] + others)[:OWNED_MAX]


def forget_owned() -> None:
    """Forget this browser's responses: the next citizen at a kiosk must not reach them."""
    session.pop(OWNED_KEY, None)
    session.pop("withdrawal_code", None)  # survey/call_back.py: not yet shown, never to the next


def remember_visit(code: str) -> VisitCode | None:
    """The visit code of a receipt (None: forged, unknown, or on a kiosk); an unused one is
    kept in the session for the rating it allows."""
    found = visits.find(code) if not in_kiosk() else None
    if found is not None and found.used_at is None:
        session[VISIT_KEY] = code.upper()
    return found


def _session_visit(service_code: str, counter: Counter | None) -> str | None:
    """This browser's visit code if it was minted for this service and counter, else None."""
    found = visits.find(session.get(VISIT_KEY, "")) if not in_kiosk() else None
    if found is None or not visits.fits(found, service_code=service_code, counter=counter):
        return None
    return session[VISIT_KEY]


# --- Where a rating comes from ---------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """Where a rating comes from: its unit, its counter when known, and its channel."""

    unit: Unit
    counter: Counter | None
    channel: str


def service_and_place(
    code: str, *, counter: str | None, unit: str | None, via: str | None
) -> tuple[Service | None, Place | None, Questionnaire | None]:
    """The active service `code`, where its rating comes from, and the active questionnaire.

    The place is the kiosk's own, else the counter or unit the QR code names (the default unit
    when none); on a phone all three are read in one statement. None for an unknown or
    withdrawn service, for an unknown counter or unit, and before any questionnaire is set up.
    """
    if in_kiosk():
        device = abuse.current_kiosk()
        place = Place(device.unit, device.counter, "kiosk")
        return catalogue.find_service(code), place, questionnaire.active()
    service, found_counter, found_unit, q_id, q_code = catalogue.find_service_at(
        code,
        counter=counter,
        unit=unit,
        also=(questionnaire.ACTIVE_ID, questionnaire.ACTIVE_CODE),
    )
    q = questionnaire.version(q_id, q_code)
    if found_unit is None or (counter and found_counter is None):
        return service, None, q
    return service, Place(found_unit, found_counter, "qr" if via == "qr" else "web"), q


def centre_name(unit: Unit | None = None) -> str:
    """The name the page header gives the place: the unit a rating goes to (the QR code's, the
    visit's or the kiosk's), else SURVEY_CENTRE_NAME, else "Public Administrative Service
    Centre", in the page's language."""
    # The kiosk as this request already found it: an error page (the database down) must not
    # look it up again.
    device = g.get("kiosk") if in_kiosk() else None
    if unit is None and device is not None:
        unit = device.unit
    if unit is not None:
        return unit.name
    return current_app.config["SURVEY_CENTRE_NAME"] or str(
        _l("Public Administrative Service Centre")
    )


# --- Outcomes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What became of a page of the journey; `kind` says what the view does next.

    show: the page (a GET) · invalid: the page again, with `errors` (400) ·
    created, updated: on to "more" · next: on to the page `step` · finished: the thank-you page ·
    profile: on to the optional respondent profile page (then the thank-you page) ·
    unfinished: the profile page of a response not sent yet: back to "more" ·
    sent_before: the thank-you page, saying it had already been sent ·
    already_rated: the visit code was used already (409) · needs_visit_code: this unit asks
    for the receipt's code (403) · not_found: not this browser's response, or no such page (404).
    """

    kind: str
    rid: str
    step: str | None = None
    errors: tuple[FieldError, ...] = ()


# --- The overall question ----------------------------------------------------------------------


def answer_overall(
    q: Questionnaire,
    service: Service,
    place: Place,
    *,
    rid: str | None,
    fill: str | None,
    answers: Mapping[str, Any] | None,
) -> Outcome:
    """The overall question of `service`: check the visit code; with `answers` (a POST), store
    a new response or update this browser's own. `rid` is the page's response id (a new one
    when None), `fill` the page's signed fill time."""
    if _needs_visit_code(service.code, place):
        return Outcome("needs_visit_code", rid or "")
    rid = rid or str(uuid.uuid4())
    if answers is None:
        return Outcome("show", rid)
    try:
        rid = responses.parse_public_id(rid)
        return _start_or_repeat(q, service, place, rid=rid, fill=fill, raw=answers)
    except Invalid as exc:
        return Outcome("invalid", rid, errors=tuple(exc.errors))


def _needs_visit_code(service_code: str, place: Place) -> bool:
    """A unit that asks for visit codes accepts a phone rating only with one minted for the
    service and counter being rated."""
    if in_kiosk() or not place.unit.visit_codes_required:
        return False
    return _session_visit(service_code, place.counter) is None


def _start_or_repeat(
    q: Questionnaire,
    service: Service,
    place: Place,
    *,
    rid: str,
    fill: str | None,
    raw: Mapping[str, Any],
) -> Outcome:
    existing = responses.find_response(rid)
    if existing is not None and not _may_repeat(existing.public_id, fill):
        return Outcome("not_found", rid)
    answers = responses.clean_answers(q, raw, items=[q.overall_code], required=[q.overall_code])
    if existing is not None:
        own(rid)
        return _repeat(existing, answers)
    visit = _session_visit(service.code, place.counter)
    if not _claim_visit(visit) and responses.find_response(rid) is None:
        return Outcome("already_rated", rid)
    started = responses.start_response(
        looked_up=True,
        flag_reason=None if in_kiosk() else _phone_flag(rid, service, place, visit, fill),
        public_id=rid,
        questionnaire=q,
        service=service,
        locale=i18n.current(),
        answers=answers,
        kiosk=abuse.current_kiosk() if in_kiosk() else None,
        unit=place.unit,
        counter=place.counter,
        channel=place.channel,
    )
    own(rid)
    if not started.created:
        return _repeat(started.response, answers)
    if visit is not None:
        session.pop(VISIT_KEY, None)
        visits.link(visit, started.response.id)
    return Outcome("created", rid)


def _may_repeat(public_id: str, fill: str | None) -> bool:
    """Whether this browser started `public_id`: its cookie says so, or the page's note."""
    return public_id in session.get(OWNED_KEY, []) or abuse.issued_for(public_id, fill)


def _phone_flag(
    rid: str, service: Service, place: Place, visit: str | None, fill: str | None
) -> str | None:
    """The verdict of the phone limits on a new rating (None: it counts)."""
    return abuse.phone_flag(
        rid=rid, token=fill, service=service, counter=place.counter, visit=visit is not None
    )


def _claim_visit(visit: str | None) -> bool:
    """Use the visit code that fits this rating, if any: False when it was used already.

    The claim is committed together with the response it rates (start_response commits).
    """
    if visit is None or visits.claim(visit, commit=False):
        return True
    db.session.rollback()
    return False


def _repeat(response: Response, answers: Mapping[str, int | None]) -> Outcome:
    """A second post of the overall question: update it while partial, else say it was sent."""
    if response.status != "partial":
        return Outcome("sent_before", response.public_id)
    responses.save_answers(response, answers)
    return Outcome("updated", response.public_id)


# --- The detailed survey -----------------------------------------------------------------------


def answer_step(
    response: Response, step: str, *, answers: Mapping[str, Any] | None, comment: str | None
) -> Outcome:
    """A page of the detailed survey; with `answers` (a POST) save them and go on, or, on the
    comment page, finish the response with `comment`."""
    q = questionnaire.by_id(response.questionnaire_id)
    order, rid = steps.order(q), response.public_id
    if step not in order:
        return Outcome("not_found", rid)
    if response.status != "partial":
        return Outcome("sent_before", rid)
    if answers is None:
        return Outcome("show", rid, step)
    try:
        if step == "comment":
            responses.clean_answers(q, answers, items=[])
            responses.finish_response(response, comment=comment)
            return Outcome("profile" if q.data.get("profile") else "finished", rid)
        cleaned = responses.clean_answers(q, answers, items=steps.items(q, step))
        responses.save_answers(response, cleaned)
    except Invalid as exc:
        return Outcome("invalid", rid, step, tuple(exc.errors))
    return Outcome("next", rid, order[order.index(step) + 1])


def finish(response: Response) -> Outcome:
    """ "Done" after the overall question: complete the response as it is."""
    responses.finish_response(response)
    return Outcome("finished", response.public_id)


# --- The optional respondent profile -----------------------------------------------------------


def answer_profile(response: Response, *, posted: Mapping[str, str] | None, skip: bool) -> Outcome:
    """The optional profile page of a sent response: with `posted` (a POST) store the options
    chosen (the profile as a whole is replaced, so sending it twice counts it once) and go on
    to the thank-you page; `skip` goes on without storing anything."""
    rid = response.public_id
    if response.status == "partial":
        return Outcome("unfinished", rid)
    if posted is None:
        return Outcome("show", rid)
    if skip:
        return Outcome("finished", rid)
    try:
        profile = clean_profile(questionnaire.by_id(response.questionnaire_id), posted)
    except Invalid as exc:
        return Outcome("invalid", rid, errors=tuple(exc.errors))
    if profile and profile != (response.profile or {}):
        response.profile = profile  # a new dict: the rollups see the change
        db.session.commit()
    return Outcome("finished", rid)


def clean_profile(q: Questionnaire, posted: Mapping[str, str]) -> dict[str, str]:
    """The options chosen on the profile page (unanswered items left out); Invalid for an
    option the questionnaire does not offer."""
    profile, errors = {}, []
    for entry in q.data.get("profile") or []:
        value = (posted.get(entry["code"]) or "").strip()
        if not value:
            continue
        if value not in {o["code"] for o in entry["options"]}:
            errors.append(FieldError(entry["code"], _l("Please choose one of the answers below.")))
        profile[entry["code"]] = value
    if errors:
        raise Invalid(errors)
    return profile
