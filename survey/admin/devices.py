"""Kiosks and suspect ratings: list, rename, move and revoke kiosks; review flags."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from survey import i18n, kiosks, scope
from survey.admin import bp, role_required
from survey.admin.forms import FlagFilterForm, FlagReviewForm, KioskForm, RevokeKioskForm
from survey.catalogue import filter_choices, find_unit
from survey.extensions import db
from survey.filters import CHANNEL_LABELS
from survey.flags import PAGE_SIZE, REASONS, count_flagged, flagged, review_flags
from survey.models import KioskDevice


def _visible_kiosk(kiosk_id: int) -> KioskDevice:
    device = db.get_or_404(KioskDevice, kiosk_id)
    if not scope.can_see(current_user, device.unit_id):
        abort(404)
    return device


@bp.route("/kiosks")
@role_required("admin", "manager")
def kiosk_list():
    """The kiosks of one's units: place, heartbeat, version, queue, last rating."""
    rows = kiosks.list_kiosks(scope.visible_unit_ids(current_user))
    return render_template("admin/kiosk_list.html", rows=rows)


@bp.route("/kiosks/<int:kiosk_id>", methods=["GET", "POST"])
@role_required("admin", "manager")
def kiosk(kiosk_id: int):
    """Rename, move or revoke a kiosk."""
    device, form, revoke = _visible_kiosk(kiosk_id), KioskForm(), RevokeKioskForm()
    if revoke.validate_on_submit():
        kiosks.revoke_kiosk(device, actor=current_user.email)
        flash(_("The kiosk %(name)s has been revoked.", name=device.name))
        return redirect(url_for("admin.kiosk_list"), 303)
    if form.validate_on_submit():
        if not scope.can_see(current_user, _unit_id(form.unit.data)):
            abort(403)
        try:
            kiosks.update_kiosk(
                device,
                name=form.name.data or "",
                unit=form.unit.data,
                counter=form.counter.data or None,
                actor=current_user.email,
            )
        except kiosks.KioskError:
            form.counter.errors.append(_("Choose a counter of the chosen unit."))
        else:
            flash(_("The kiosk %(name)s has been saved.", name=device.name))
            return redirect(url_for("admin.kiosk_list"), 303)
    return _kiosk_page(device, form)


def _kiosk_page(device: KioskDevice, form: KioskForm):
    """The kiosk's page, with the error of a refused move (400)."""
    choices = filter_choices(visible=scope.visible_unit_ids(current_user), locale=i18n.current())
    error = form.counter.errors[0] if form.counter.errors else None
    return render_template(
        "admin/kiosk.html", device=device, choices=choices, error=error
    ), 400 if error else 200


def _unit_id(code: str | None) -> int:
    unit = find_unit(code)
    if unit is None:
        abort(400)
    return unit.id


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
