"""Citizen pages: choose a service, answer the survey one page at a time, thank-you.

The language is the first path segment. A response is stored at the first answer (OV) and
updated page by page; every POST answers 303 to a GET (post/redirect/get). A browser only
reaches the responses it started itself: their ids are kept in its signed session cookie.
"""

from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from survey import abuse, activation, catalogue, i18n, questionnaire, responses
from survey.extensions import db
from survey.responses import Invalid

bp = Blueprint("public", __name__)
OWNED_KEY, OWNED_MAX = "responses", 20


@bp.url_value_preprocessor
def _pull_lang(endpoint, values):
    if values and "lang" in values:
        g.lang = values.pop("lang")


@bp.url_defaults
def _add_lang(endpoint, values):
    if "lang" not in values and current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
        values["lang"] = g.get("lang") or i18n.current()


def in_kiosk() -> bool:
    """True for the kiosk pages (/k/…), the same views registered a second time."""
    return request.blueprint == "kiosk"


@bp.before_request
def _require_kiosk_device():
    if in_kiosk() and request.endpoint != "kiosk.activate" and abuse.current_kiosk() is None:
        return render_template("public/not_activated.html"), 401
    if not in_kiosk() and request.endpoint in ("public.activate", "public.reset"):
        abort(404)
    return None


@bp.after_request
def _no_store(response):
    # Pages may show a citizen's answers: never keep them in a cache or the back-forward cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _active_questionnaire() -> questionnaire.Questionnaire:
    q = questionnaire.active()
    if q is None:
        abort(503)
    return q


def _owned_response(rid: str):
    """Return this browser's response `rid`, or 404 (forged, unknown or someone else's)."""
    response = responses.find_response(rid)
    if response is None or response.public_id not in session.get(OWNED_KEY, []):
        abort(404)
    return response


def _own(public_id: str) -> None:
    session[OWNED_KEY] = ([public_id] + [r for r in session.get(OWNED_KEY, []) if r != public_id])[
        :OWNED_MAX
    ]


def steps(q: questionnaire.Questionnaire) -> list[str]:
    """The pages after the overall question, in order."""
    return [e["code"].lower() for e in q.elements] + ["expectations", "comment"]


@bp.route("/")
def root():
    """Send a bare visit to the visitor's language; on a kiosk, the attract screen."""
    if in_kiosk():
        session.pop(OWNED_KEY, None)  # the next citizen must not reach the last one's answers
        return render_template("public/attract.html")
    return redirect(url_for(".index", lang=i18n.preferred_locale()))


@bp.route("/activate", methods=["GET", "POST"])
def activate():
    """Make this browser a kiosk once confirmed; never a browser signed in as staff."""
    from survey import kiosks

    # A setup page for staff, not a citizen page: no kiosk script, timers or status bar yet.
    if activation.staff_browser():
        return render_template("public/activate_refused.html", kiosk=False), 403
    form = activation.ActivateForm(token=request.args.get("token", ""))
    device = kiosks.device_for_token(form.token.data or "")
    if device is None:
        return render_template("public/not_activated.html"), 401
    if form.validate_on_submit():
        return activation.remember_device(redirect(url_for(".root"), 303), form.token.data)
    return render_template("public/activate.html", form=form, device=device, kiosk=False)


@bp.route("/reset", methods=["POST"])
def reset():
    """The kiosk's idle reset: forget the ratings of this screen, back to the attract screen."""
    session.pop(OWNED_KEY, None)
    return redirect(url_for(".root"), 303)


@bp.route("/s/<code>")
def short(code: str):
    """The QR target: send the visitor to the survey of a service in their language."""
    args = {k: v for k, v in request.args.items() if k in ("counter", "unit")}
    return redirect(url_for(".service", lang=i18n.preferred_locale(), code=code, via="qr", **args))


@bp.route("/v/<code>")
def visit(code: str):
    """A visit code from a receipt: one rating of that visit's service."""
    from survey import visits

    found = visits.find(code) if not in_kiosk() else None
    if found is None:
        abort(404)
    if found.used_at is not None:
        return render_template("public/already_rated.html"), 200
    session["visit"] = code.upper()
    args = {"counter": found.counter.code} if found.counter else {}
    return redirect(
        url_for(".service", lang=i18n.preferred_locale(), code=found.service.code, via="qr", **args)
    )


def _session_visit(service_code: str, counter) -> str | None:
    """This browser's visit code if it was minted for this service and counter, else None."""
    from survey import visits

    found = visits.find(session.get("visit", "")) if not in_kiosk() else None
    if found is None or not visits.fits(found, service_code=service_code, counter=counter):
        return None
    return session["visit"]


def _needs_visit_code(service_code: str, context: dict) -> bool:
    """A unit that asks for visit codes accepts a phone rating only with one minted for the
    service and counter being rated."""
    if in_kiosk() or not context["unit"].visit_codes_required:
        return False
    return _session_visit(service_code, context["counter"]) is None


@bp.route("/<lang:lang>/")
def index():
    """Choose a service: grouped by lĩnh vực, with a server-side search."""
    if in_kiosk():
        session.pop(OWNED_KEY, None)
    query = request.args.get("q", "").strip()[:100]
    groups = catalogue.services_by_field(query=query, locale=i18n.current())
    frequent = (
        catalogue.frequent_services(abuse.current_kiosk(), locale=i18n.current())
        if in_kiosk() and not query
        else []
    )
    return render_template("public/index.html", groups=groups, query=query, frequent=frequent)


def _context_from(source) -> dict:
    """Read counter, unit and channel from the query string or the posted form."""
    if in_kiosk():
        device = abuse.current_kiosk()
        return {"counter": device.counter, "unit": device.unit, "channel": "kiosk"}
    counter = catalogue.find_counter(source.get("counter"))
    if source.get("counter") and counter is None:
        abort(404)
    unit = (
        counter.unit
        if counter
        else (
            catalogue.find_unit(source.get("unit"))
            if source.get("unit")
            else catalogue.default_unit()
        )
    )
    if unit is None:
        abort(404)
    channel = "qr" if source.get("via") == "qr" else "web"
    return {"counter": counter, "unit": unit, "channel": channel}


@bp.route("/<lang:lang>/s/<code>", methods=["GET", "POST"])
@abuse.phone_ceilings(exempt_when=in_kiosk)
def service(code: str):
    """The overall question (OV) for a service; the first answer stores the response."""
    svc = catalogue.find_service(code) or abort(404)
    q = _active_questionnaire()
    source = request.form if request.method == "POST" else request.args
    context, errors = _context_from(source), []
    if _needs_visit_code(code, context):
        return render_template("public/visit_code_needed.html"), 403
    rid = source.get("rid") or str(uuid.uuid4())
    if request.method == "POST":
        try:
            rid = responses.parse_public_id(rid)
            existing = responses.find_response(rid)
            if existing is not None and not _may_repeat(existing.public_id, source):
                abort(404)
            answers = responses.clean_answers(
                q, _answers(), items=[q.overall_code], required=[q.overall_code]
            )
            visit = _session_visit(code, context["counter"])
            if (
                existing is None
                and not _claim_visit(visit)
                and responses.find_response(rid) is None
            ):
                return render_template("public/already_rated.html"), 409
            started = responses.start_response(
                flag_reason=(
                    None if existing or in_kiosk() else _phone_flag(rid, svc, context, visit)
                ),
                public_id=rid,
                questionnaire=q,
                service=svc,
                locale=i18n.current(),
                answers=answers,
                kiosk=abuse.current_kiosk() if in_kiosk() else None,
                **context,
            )
            _own(rid)
            _link_visit(started, visit)
            if not started.created:
                return _after_repeat(started.response, answers)
            return redirect(url_for(".more", rid=rid), 303)
        except Invalid as exc:
            errors = exc.errors
    return render_template(
        "public/service.html",
        service=svc,
        q=q,
        rid=rid,
        fill=abuse.fill_token(rid),
        errors=errors,
        context=context,
        hidden=_hidden(source),
    ), 400 if errors else 200


def _may_repeat(public_id: str, source) -> bool:
    """Whether this browser started `public_id`: its cookie says so, or the page's note."""
    return public_id in session.get(OWNED_KEY, []) or abuse.issued_for(
        public_id, source.get("fill")
    )


def _phone_flag(rid: str, svc, context: dict, visit: str | None) -> str | None:
    """The verdict of the phone limits on a new rating (None: it counts)."""
    return abuse.phone_flag(
        rid=rid,
        token=request.form.get("fill"),
        service=svc,
        counter=context["counter"],
        visit=visit is not None,
    )


def _claim_visit(visit: str | None) -> bool:
    """Use the visit code that fits this rating, if any: False when it was used already.

    The claim is committed together with the response it rates (start_response commits).
    """
    from survey import visits

    if visit is None or visits.claim(visit, commit=False):
        return True
    db.session.rollback()
    return False


def _link_visit(started, visit: str | None) -> None:
    from survey import visits

    if started.created and visit is not None:
        session.pop("visit", None)
        visits.link(visit, started.response.id)


def _hidden(source) -> dict:
    return {k: source[k] for k in ("counter", "unit", "via") if source.get(k)}


def _answers() -> dict:
    """The posted answers: every form field except the form's own fields."""
    return {
        k: v
        for k, v in request.form.items()
        if k not in ("csrf_token", "rid", "fill", "counter", "unit", "via", "action", "comment")
    }


def _after_repeat(response, answers):
    """A second post of the overall question: update it while partial, else say it was sent."""
    if response.status != "partial":
        return redirect(url_for(".thank_you", rid=response.public_id, again=1), 303)
    responses.save_answers(response, answers)
    return redirect(url_for(".more", rid=response.public_id), 303)


@bp.route("/<lang:lang>/r/<rid>/more")
def more(rid: str):
    """After the first answer: go on to the detailed survey, or finish."""
    response = _owned_response(rid)
    if response.status != "partial":
        return redirect(url_for(".thank_you", rid=rid, again=1), 303)
    first = steps(_active_questionnaire())[0]
    return render_template("public/more.html", response=response, first=first)


@bp.route("/<lang:lang>/r/<rid>/<step>", methods=["GET", "POST"])
def step(rid: str, step: str):
    """One page of the detailed survey: an element's criteria, expectations or comment."""
    response = _owned_response(rid)
    q = questionnaire.by_id(response.questionnaire_id)
    order = steps(q)
    if step not in order:
        abort(404)
    if response.status != "partial":
        return redirect(url_for(".thank_you", rid=rid, again=1), 303)
    items = _step_items(q, step)
    errors, values = [], {a.item: a.value for a in response.answers}
    comment = response.comment or ""
    if request.method == "POST":
        try:
            if step == "comment":
                comment = request.form.get("comment", "")
                responses.clean_answers(q, _answers(), items=[])
                responses.finish_response(response, comment=comment)
                return redirect(url_for(".thank_you", rid=rid), 303)
            responses.save_answers(response, responses.clean_answers(q, _answers(), items=items))
            return redirect(_next_url(order, step, rid), 303)
        except Invalid as exc:
            errors = exc.errors
            values.update(request.form.to_dict())
    return render_template(
        f"public/{'comment' if step == 'comment' else 'criteria'}.html",
        q=q,
        response=response,
        step=step,
        items=items,
        values=values,
        errors=errors,
        comment=comment,
        position=order.index(step) + 2,
        total=len(order) + 1,
        back=url_for(".step", rid=rid, step=order[order.index(step) - 1])
        if order.index(step)
        else url_for(".more", rid=rid),
    ), 400 if errors else 200


def _step_items(q: questionnaire.Questionnaire, step: str) -> list[str]:
    if step == "expectations":
        return q.expectation_codes
    if step == "comment":
        return []
    return [c["code"] for c in q.element(step)["criteria"]]


def _next_url(order: list[str], step: str, rid: str) -> str:
    return url_for(".step", rid=rid, step=order[order.index(step) + 1])


@bp.route("/<lang:lang>/r/<rid>/finish", methods=["POST"])
def finish(rid: str):
    """ "Done" after the overall question: complete the response as it is."""
    response = _owned_response(rid)
    responses.finish_response(response)
    return redirect(url_for(".thank_you", rid=rid), 303)


@bp.route("/<lang:lang>/r/<rid>/thank-you")
def thank_you(rid: str):
    """The confirmation page; says so when the response had already been sent."""
    response = _owned_response(rid)
    if response.status == "partial":
        return redirect(url_for(".more", rid=rid), 303)
    return render_template(
        "public/thank_you.html", response=response, again=request.args.get("again") == "1"
    )


@bp.route("/<lang:lang>/privacy")
def privacy():
    """The privacy notice: what is kept, why, for how long, who sees it, the citizen's rights."""
    return render_template("public/privacy.html")


@bp.app_template_filter("scale_option")
def scale_option(level: dict, lang: str) -> dict:
    """A scale level as a radio option in `lang`."""
    return {"value": level["value"], "label": questionnaire.label(level, lang)}


@bp.app_template_filter("items_labels")
def items_labels(entries: list[dict], lang: str) -> dict[str, str]:
    """Item code -> its label in `lang`, for the error summary."""
    return {entry["code"]: questionnaire.label(entry, lang) for entry in entries}


@bp.app_template_filter("error_for")
def error_for(errors: list, field: str):
    """The error message for `field`, or None."""
    return next((e.message for e in errors if e.field == field), None)


@bp.route("/sw.js")
def service_worker():
    """The kiosk's service worker, served from /k/ so that it controls the kiosk pages."""
    if not in_kiosk():
        abort(404)
    response = current_app.send_static_file("kiosk-sw.js")
    response.headers["Service-Worker-Allowed"] = "/k/"
    response.headers["Cache-Control"] = "no-cache"
    return response
