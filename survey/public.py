"""Citizen pages: choose a service, answer the survey one page at a time, thank-you.

The language is the first path segment. A response is stored at the first answer (OV) and
updated page by page; every POST answers 303 to a GET (post/redirect/get). What happens on a
page is one call to survey/citizen.py, whose outcome a view renders or follows. The same
views serve a kiosk under /k (blueprint "kiosk"); its own endpoints are in survey/kiosk.py,
its own screens (start, procedures) in survey/kiosk_screens.py.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import escape
from wtforms import StringField, TextAreaField

from survey import abuse, call_back, catalogue, citizen, i18n, kiosk_screens, questionnaire, steps
from survey.forms import CarriedForm
from survey.kiosk_mode import in_kiosk

bp = Blueprint("public", __name__)
call_back.add_routes(bp)  # the call-back offer's page (survey/call_back.py)
bp.add_app_template_global(citizen.centre_name)  # the header's name of the place (base.html)
# The posted fields that are not answers: the page's own, and what it carries along.
NOT_ANSWERS = ("csrf_token", "rid", "fill", "counter", "unit", "via", "action", "comment")
CARRIED = ("counter", "unit", "via")


class ContextForm(CarriedForm):
    """What the overall question carries: the QR code's counter, unit and channel, the
    response id and the signed fill time."""

    class Meta:
        def get_translations(self, form):
            return None  # hidden fields: no label or message of theirs is ever shown

    counter = StringField()
    unit = StringField()
    via = StringField()
    rid = StringField()
    fill = StringField()

    def carried(self) -> dict[str, str]:
        """The counter, unit and channel to carry on to the next request."""
        return {name: self[name].data for name in CARRIED if self[name].data}


class SearchForm(CarriedForm):
    q = StringField()


class CommentForm(CarriedForm):
    comment = TextAreaField()


class ThankYouForm(CarriedForm):
    again = StringField()


@bp.url_value_preprocessor
def _pull_lang(endpoint, values):
    if values and "lang" in values:
        g.lang = values.pop("lang")


@bp.url_defaults
def _add_lang(endpoint, values):
    if "lang" not in values and current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
        values["lang"] = g.get("lang") or i18n.current()


@bp.before_request
def require_kiosk_device():
    """Under /k, only an activated kiosk gets past (401 and a page that says so)."""
    if in_kiosk() and abuse.current_kiosk() is None:
        return render_template("public/not_activated.html"), 401
    return None


@bp.after_request
def no_store(response):
    # Pages may show a citizen's answers: never keep them in a cache or the back-forward cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _answers() -> dict:
    """The posted answers: every form field except the page's own fields."""
    return {k: v for k, v in request.form.items() if k not in NOT_ANSWERS}


# How a view follows an outcome that leaves its page (survey/citizen.py, Outcome).
PAGES = {
    "needs_visit_code": ("public/visit_code_needed.html", 403),
    "already_rated": ("public/already_rated.html", 409),
}
REDIRECTS = {
    "created": (".more", {}),
    "updated": (".more", {}),
    "finished": (".thank_you", {}),
    "profile": (".profile", {}),
    "unfinished": (".more", {}),
    "sent_before": (".thank_you", {"again": 1}),
}


def _follow(outcome: citizen.Outcome, **shown):
    """The page (its header naming a `place` shown) or redirect of an outcome not shown here."""
    if outcome.kind in PAGES:
        template, status = PAGES[outcome.kind]
        return render_template(template, **shown), status
    if outcome.kind == "next":
        return redirect(url_for(".step", rid=outcome.rid, step=outcome.step), 303)
    if outcome.kind not in REDIRECTS:
        abort(404)
    endpoint, args = REDIRECTS[outcome.kind]
    return redirect(url_for(endpoint, rid=outcome.rid, **args), 303)


def _owned_response(rid: str):
    """This browser's response `rid`, or 404 (forged, unknown or someone else's)."""
    return citizen.owned_response(rid) or abort(404)


@bp.route("/")
def root():
    """Send a bare visit to the visitor's language; on a kiosk, the attract screen."""
    if in_kiosk():
        citizen.forget_owned()  # the next citizen must not reach the last one's answers
        return kiosk_screens.start()
    return redirect(url_for(".index", lang=i18n.preferred_locale()))


@bp.route("/s/<code>")
def short(code: str):
    """The QR target: send the visitor to the survey of a service in their language."""
    args = ContextForm().carried()
    args.pop("via", None)
    return redirect(url_for(".service", lang=i18n.preferred_locale(), code=code, via="qr", **args))


@bp.route("/v/<code>")
def visit(code: str):
    """A visit code from a receipt: one rating of that visit's service."""
    found = citizen.remember_visit(code) or abort(404)
    if found.used_at is not None:
        return render_template("public/already_rated.html"), 200
    args = {"counter": found.counter.code} if found.counter else {}
    return redirect(
        url_for(".service", lang=i18n.preferred_locale(), code=found.service.code, via="qr", **args)
    )


@bp.route("/<lang:lang>/")
def index():
    """Choose a service: grouped by lĩnh vực, with a server-side search."""
    query = (SearchForm().q.data or "").strip()[:100]
    if in_kiosk():
        citizen.forget_owned()
        return kiosk_screens.procedures(query)
    groups = catalogue.services_by_field(query=query, locale=i18n.current())
    q = questionnaire.active()
    return render_template(
        "public/index.html",
        groups=groups,
        query=query,
        detail=steps.detail(q) if q else None,
    )


@bp.route("/<lang:lang>/s/<code>", methods=["GET", "POST"])
def service(code: str):
    """The overall question (OV) for a service; the first answer stores the response."""
    # Only an answer counts against the phone limits: showing the question checks none.
    return _answer_limited(code) if request.method == "POST" else _answer(code)


def _answer(code: str):
    """The overall question's page, or where its answer leads."""
    form = ContextForm()
    svc, place, q = citizen.service_and_place(
        code, counter=form.counter.data, unit=form.unit.data, via=form.via.data
    )
    if svc is None or place is None:
        abort(404)
    if q is None:
        abort(503)  # no questionnaire set up yet
    posted = _answers() if request.method == "POST" else None
    outcome = citizen.answer_overall(
        q, svc, place, rid=form.rid.data, fill=form.fill.data, answers=posted
    )
    if outcome.kind not in ("show", "invalid"):
        return _follow(outcome, place=place)
    if outcome.kind == "show" and not in_kiosk():
        return _kept_question(svc, place, q, rid=outcome.rid, hidden=form.carried())
    return _question(
        svc,
        place,
        q,
        rid=outcome.rid,
        fill=abuse.fill_token(outcome.rid),
        hidden=form.carried(),
        posted=posted,
        errors=outcome.errors,
    ), 400 if outcome.errors else 200


_answer_limited = abuse.phone_ceilings(exempt_when=in_kiosk)(_answer)


def _question(svc, place, q, *, rid, fill, hidden, posted=None, errors=(), **values) -> str:
    """The overall question's page."""
    return render_template(
        "kiosk/service.html" if in_kiosk() else "public/service.html",
        service=svc,
        page=steps.overall_page(q, locale=i18n.current(), posted=posted),
        place=place,
        rid=rid,
        fill=fill,
        errors=errors,
        hidden=hidden,
        **values,
    )


# A phone's question page is the same for everyone who opens the same link, but for three
# values: the response id, the signed fill time and the CSRF token. It is rendered once per
# link and per everything it shows (the service's and counter's names, as read from the
# database on this request, so a renamed service shows at once; the questionnaire version,
# which never changes), with stand-ins that each request replaces with its own values.
STAND_INS = {name: f"stand-in-{name}-{secrets.token_hex(8)}" for name in ("rid", "fill", "csrf")}
QUESTION_PAGES_KEPT = 256


def _kept_question(svc, place, q, *, rid: str, hidden: dict[str, str]) -> str:
    """The overall question's page of a GET on a phone, rendered once per link and content."""
    counter = place.counter.name if place.counter else None
    key = (request.full_path, request.script_root, i18n.current(), svc.name, counter)
    key += (place.unit.name, q.id)  # the header names the unit
    kept = current_app.extensions.setdefault("survey.question_pages", {})
    page = kept.get(key)
    if page is None:
        page = _question(
            svc,
            place,
            q,
            rid=STAND_INS["rid"],
            fill=STAND_INS["fill"],
            hidden=hidden,
            csrf_token=lambda: STAND_INS["csrf"],
        )
        if len(kept) >= QUESTION_PAGES_KEPT:
            kept.pop(next(iter(kept)), None)  # the oldest
        kept[key] = page
    values = {"rid": rid, "fill": abuse.fill_token(rid), "csrf": generate_csrf()}
    for name, value in values.items():
        page = page.replace(STAND_INS[name], str(escape(value)))
    return page


@bp.route("/<lang:lang>/r/<rid>/more")
def more(rid: str):
    """After the first answer: go on to the detailed survey, or finish."""
    response = _owned_response(rid)
    if response.status != "partial":
        return redirect(url_for(".thank_you", rid=rid, again=1), 303)
    q = questionnaire.by_id(response.questionnaire_id)
    first, detail = steps.order(q)[0], steps.detail(q)
    return render_template("public/more.html", response=response, first=first, detail=detail)


@bp.route("/<lang:lang>/r/<rid>/<step>", methods=["GET", "POST"])
def step(rid: str, step: str):
    """One page of the detailed survey: an element's criteria, expectations or comment."""
    response = _owned_response(rid)
    form, posted = CommentForm(), _answers() if request.method == "POST" else None
    outcome = citizen.answer_step(response, step, answers=posted, comment=form.comment.data)
    if outcome.kind not in ("show", "invalid"):
        return _follow(outcome)
    page = steps.step_page(
        response, step, locale=i18n.current(), posted=posted if outcome.errors else None
    )
    back = url_for(".step", rid=rid, step=page.back_step) if page.back_step else None
    # A kiosk that loses the network on sending the comment asks the profile on the spot.
    offline = step == "comment" and in_kiosk()
    return render_template(
        f"public/{'comment' if step == 'comment' else 'criteria'}.html",
        response=response,
        page=page,
        profile=_profile_questions(response, {}) if offline else (),
        errors=outcome.errors,
        comment=form.comment.data if posted is not None else response.comment or "",
        back=back or url_for(".more", rid=rid),
    ), 400 if outcome.errors else 200


def _profile_questions(response, chosen) -> tuple:
    q = questionnaire.by_id(response.questionnaire_id)
    return steps.profile_questions(q, locale=i18n.current(), chosen=chosen)


@bp.route("/<lang:lang>/r/<rid>/about-you", methods=["GET", "POST"])
def profile(rid: str):
    """The optional respondent profile, after the comment and before the thank-you page."""
    response = _owned_response(rid)
    posted = dict(request.form) if request.method == "POST" else None
    skip = request.form.get("action") == "skip"
    outcome = citizen.answer_profile(response, posted=posted, skip=skip)
    if outcome.kind not in ("show", "invalid"):
        return _follow(outcome)
    chosen = posted if outcome.errors else response.profile
    return render_template(
        "public/profile.html",
        response=response,
        questions=_profile_questions(response, chosen),
        errors=outcome.errors,
    ), 400 if outcome.errors else 200


@bp.route("/<lang:lang>/r/<rid>/finish", methods=["POST"])
def finish(rid: str):
    """ "Done" after the overall question: complete the response as it is."""
    return _follow(citizen.finish(_owned_response(rid)))


@bp.route("/<lang:lang>/r/<rid>/thank-you")
def thank_you(rid: str):
    """The confirmation page; says so when the response had already been sent."""
    response = _owned_response(rid)
    if response.status == "partial":
        return redirect(url_for(".more", rid=rid), 303)
    again = ThankYouForm().again.data == "1"
    if not again and call_back.offer_pending(response):
        return redirect(url_for(".call_back", rid=rid), 303)
    code = call_back.shown_code(response)
    return render_template("public/thank_you.html", response=response, again=again, code=code)


@bp.route("/<lang:lang>/privacy")
def privacy():
    """The privacy notice: what is kept, why, for how long, who sees it, the citizen's rights."""
    return render_template("public/privacy.html")


@bp.app_template_filter("error_for")
def error_for(errors: list, field: str):
    """The error message for `field`, or None."""
    return next((e.message for e in errors if e.field == field), None)
