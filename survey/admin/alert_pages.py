"""One's alert choices (/admin/account/alerts) and the redaction of a comment (issue 13)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import alerts, retention
from survey.admin import bp, role_required
from survey.admin.alert_forms import AlertPreferenceForm, RedactForm


@bp.route("/account/alerts", methods=["GET", "POST"])
@role_required("admin", "manager")
def alert_settings():
    """Which alerts one receives by e-mail, the daily digest, and the e-mails' language."""
    form = AlertPreferenceForm(obj=alerts.preference(current_user))
    if form.validate_on_submit():
        alerts.save_preference(
            current_user, kinds=form.kinds.data, digest=form.digest.data, locale=form.locale.data
        )
        flash(_("Your alert choices are saved."))
        return redirect(url_for("admin.alert_settings"), 303)
    return render_template("admin/alert_settings.html", form=form), 400 if form.errors else 200


@bp.route("/comments/<int:response_id>/redact", methods=["GET", "POST"])
@role_required("admin", "manager")
def redact(response_id: int):
    """Replace a comment with a version without personal details, or remove it (audited)."""
    try:
        response = retention.comment_for_redaction(response_id, current_user)
    except retention.RedactRefused:
        abort(404)
    form = RedactForm()
    if form.validate_on_submit():
        text = None if form.remove.data else form.text.data
        removed = retention.redact_comment(response_id, text, user=current_user)
        flash(_("The comment is removed.") if removed else _("The redacted comment is saved."))
        return redirect(url_for("admin.summary", unit=response.unit.code), 303)
    if not form.is_submitted():
        form.text.data = response.comment
    status = 400 if form.errors else 200
    return render_template("admin/redact.html", form=form, response=response), status
