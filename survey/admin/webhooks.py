"""Webhooks to the province's systems (survey/webhooks.py): register an endpoint, see the
deliveries, re-send one by hand, resume a paused endpoint. Administrators only."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import webhooks
from survey.admin import bp, role_required
from survey.admin.forms import ButtonForm
from survey.admin.webhook_forms import EVENT_LABELS, WebhookForm, refusal_message
from survey.extensions import db
from survey.models import utcnow
from survey.webhook_models import WebhookDelivery, WebhookEndpoint
from survey.webhook_net import AddressRefused


def _page(form: WebhookForm, secret: str | None = None, status: int = 200):
    endpoints, deliveries = webhooks.overview()
    return render_template(
        "admin/webhooks.html",
        form=form,
        secret=secret,
        endpoints=endpoints,
        deliveries=deliveries,
        event_labels=EVENT_LABELS,
        button=ButtonForm(),
    ), status


@bp.get("/webhooks")
@role_required("admin")
def webhooks_page():
    """The endpoints, their latest deliveries, and the form to register one."""
    return _page(WebhookForm(formdata=None))


@bp.post("/webhooks")
@role_required("admin")
def webhooks_register():
    """Register an endpoint; its signing secret is shown on this answer only."""
    form = WebhookForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        _endpoint, secret = webhooks.register(
            form.url.data, form.events.data, actor=current_user.email, now=utcnow()
        )
    except AddressRefused as exc:
        form.url.errors.append(refusal_message(exc))
        return _page(form, status=400)
    return _page(WebhookForm(formdata=None), secret=secret)


@bp.post("/webhooks/<int:endpoint_id>/resume")
@role_required("admin")
def webhooks_resume(endpoint_id: int):
    """Resume a paused endpoint: its failed deliveries are sent again by the next run."""
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    n = webhooks.resume(endpoint, actor=current_user.email, now=utcnow())
    flash(_("The endpoint has been resumed. Deliveries to be sent again: %(n)d.", n=n))
    return redirect(url_for("admin.webhooks_page"), 303)


@bp.post("/webhooks/deliveries/<int:delivery_id>/resend")
@role_required("admin")
def webhooks_resend(delivery_id: int):
    """Send one delivery again now, and say how it went."""
    delivery = db.get_or_404(WebhookDelivery, delivery_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    if webhooks.resend(delivery, actor=current_user.email, now=utcnow()):
        flash(_("The delivery has been received by the endpoint."))
        if delivery.endpoint.paused_at:
            flash(_("The endpoint is still paused: resume it to send its other deliveries."))
    else:
        flash(_("The delivery failed again: %(error)s", error=delivery.last_error))
    return redirect(url_for("admin.webhooks_page"), 303)
