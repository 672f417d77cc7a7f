"""Kiosks and suspect ratings: register, set up, pair and revoke kiosks; review flags."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from survey import i18n, kiosks, pairing, scope
from survey.admin import bp, role_required
from survey.admin.forms import (
    ButtonForm,
    FlagFilterForm,
    FlagReviewForm,
    KioskForm,
    NewKioskForm,
    RevokeKioskForm,
)
from survey.catalogue import active_services, filter_choices, find_unit
from survey.extensions import db
from survey.flags import PAGE_SIZE, REASONS, count_flagged, flagged, review_flags
from survey.models import KioskDevice
from survey.period_labels import CHANNEL_LABELS


def _visible_kiosk(kiosk_id: int) -> KioskDevice:
    device = db.get_or_404(KioskDevice, kiosk_id)
    if not scope.can_see(current_user, device.unit_id):
        abort(404)
    return device


@bp.route("/kiosks")
@role_required("admin", "manager")
def kiosk_list():
    """The kiosks of one's units: place, pairing, heartbeat, version, queue, last rating."""
    rows = kiosks.list_kiosks(scope.visible_unit_ids(current_user))
    return render_template("admin/kiosk_list.html", rows=rows)


@bp.route("/kiosks/new", methods=["GET", "POST"])
@role_required("admin", "manager")
def kiosk_new():
    """Register a kiosk at one of one's units and show its first pairing code."""
    form, errors = NewKioskForm(), []
    if form.validate_on_submit():
        device, errors = _save(form, None)
        if not errors:
            return _code_page(device)
    return _kiosk_page("admin/kiosk_new.html", form, errors, device=None)


@bp.route("/kiosks/<int:kiosk_id>", methods=["GET", "POST"])
@role_required("admin", "manager")
def kiosk(kiosk_id: int):
    """Change a kiosk's name, place, language or procedure, or revoke it."""
    device, revoke = _visible_kiosk(kiosk_id), RevokeKioskForm()
    form = KioskForm(data=_settings_of(device))  # what a POST leaves out stays as it is
    if revoke.validate_on_submit():
        kiosks.revoke_kiosk(device, actor=current_user.email)
        flash(_("The kiosk %(name)s has been revoked.", name=device.name))
        return redirect(url_for("admin.kiosk_list"), 303)
    errors = _save(form, device)[1] if form.validate_on_submit() else []
    if form.is_submitted() and not errors:
        flash(_("The kiosk %(name)s has been saved.", name=device.name))
        return redirect(url_for("admin.kiosk_list"), 303)
    return _kiosk_page("admin/kiosk.html", form, errors, device=device)


@bp.route("/kiosks/<int:kiosk_id>/pairing-code", methods=["POST"])
@role_required("admin", "manager")
def kiosk_pairing_code(kiosk_id: int):
    """A new pairing code for a kiosk; its credential works until the new pairing succeeds."""
    device = _visible_kiosk(kiosk_id)
    if device.revoked_at is not None or not ButtonForm().validate_on_submit():
        abort(400)
    return _code_page(device)


def _settings_of(device: KioskDevice) -> dict[str, str]:
    """A kiosk's settings as its form holds them."""
    return {
        "name": device.name,
        "unit": device.unit.code,
        "counter": device.counter.code if device.counter else "",
        "language": device.default_language,
        "service": device.service.code if device.service else "",
    }


def _code_page(device: KioskDevice):
    """Issue a pairing code for `device` and show it, once."""
    code = pairing.issue_code(device, actor=current_user.email)
    shown = f"{code[:4]} {code[4:]}"
    return render_template("admin/kiosk_code.html", device=device, code=shown)


def _save(form: KioskForm, device: KioskDevice | None) -> tuple[KioskDevice | None, list]:
    """Register (`device` None) or update a kiosk from `form`; return it and the (field id,
    message) pairs of a refusal."""
    unit = find_unit(form.unit.data)
    if unit is not None and not scope.can_see(current_user, unit.id):
        abort(403)
    settings = kiosks.Settings(
        name=form.name.data or "",
        unit=form.unit.data or "",
        counter=form.counter.data or None,
        language=form.language.data or "vi",
        service=form.service.data or None,
    )
    try:
        if device is None:
            device = kiosks.register_kiosk(settings, actor=current_user.email)
        else:
            kiosks.update_kiosk(device, settings, actor=current_user.email)
    except kiosks.KioskError as exc:
        return device, [(f"k-{exc.field}", _refusal(exc.field))]
    return device, []


def _refusal(field: str | None) -> str:
    """What to tell the manager about a refused setting."""
    if field == "counter":
        return _("Choose a counter of the chosen unit.")
    if field == "language":
        return _("Choose one of the three languages.")
    if field == "service":
        return _("Choose a procedure from the list, or none.")
    return _("Choose a unit from the list.")


def _kiosk_page(template: str, form: KioskForm, errors: list, *, device: KioskDevice | None):
    """A kiosk's form (registering or editing), with its errors (400)."""
    locale = i18n.current()
    choices = filter_choices(visible=scope.visible_unit_ids(current_user), locale=locale)
    choices["service"] = [(s.code, s.name_in(locale)) for s in active_services()]
    errors = errors or [(f"k-{name}", texts[0]) for name, texts in form.errors.items()]
    page = render_template(template, device=device, form=form, choices=choices, errors=errors)
    return page, 400 if errors else 200


@bp.route("/flags", methods=["GET", "POST"])
@role_required("admin", "manager")
def flags():
    """Suspect ratings, kept and left out of the index, a page at a time: a manager excludes
    the checked ones for good or keeps them (they count again)."""
    visible = scope.visible_unit_ids(current_user)
    form, filters = FlagReviewForm(), FlagFilterForm()
    if form.is_submitted():
        if not form.validate():
            if not form.id.errors:
                abort(400)  # a decision no button sends
            return _flags_page(form, filters, visible, error=form.id.errors[0])
        ids, decision = form.id.data, form.decision.data
        if not review_flags(ids, decision=decision, visible=visible, actor=current_user.email):
            abort(404)
        flash(
            ngettext(
                "Your decision on %(num)d rating has been recorded.",
                "Your decision on %(num)d ratings has been recorded.",
                len(set(ids)),
            )
        )
        return redirect(url_for("admin.flags", page=filters.page.data, **filters.kept()), 303)
    return _flags_page(form, filters, visible)


def _flags_page(form, filters, visible: set[int] | None, error: str | None = None):
    """The list of suspect ratings as the filters ask; with `error`, a refused decision (400)."""
    filters.reason.choices = [("", _("All")), *REASONS.items()]
    chosen = {"status": filters.status.data or "", "reason": filters.reason.data or ""}
    total = count_flagged(visible=visible, **chosen)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(filters.page.data, pages)  # past the end (the last rows decided): the last page
    items = flagged(visible=visible, locale=i18n.current(), page=page, **chosen)
    return render_template(
        "admin/flags.html",
        form=form,
        filters=filters,
        items=items,
        total=total,
        page=page,
        pages=pages,
        reasons=REASONS,
        channels=CHANNEL_LABELS,
        error=error,
        has_errors=error is not None,
    ), 400 if error else 200
