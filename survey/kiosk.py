"""The kiosk's own endpoints under /k: activation, the idle reset and the service worker.

A kiosk's citizen pages are public.py's, registered a second time under /k (blueprint
"kiosk"); these three exist only for a kiosk, so they have their own blueprint.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from survey import activation, citizen, kiosk_screens, kiosks, public
from survey.kiosk_mode import PREFIX, in_kiosk

bp = Blueprint("kiosk_device", __name__, url_prefix=PREFIX)


bp.after_request(public.no_store)  # as every page under /k


@bp.app_context_processor
def _kiosk_settings() -> dict:
    # The kiosk's settings, for its pages, as the request found its kiosk: never a lookup of
    # its own (an error page, the database down, must still render).
    bound = kiosk_screens.bound_service(g.get("kiosk")) if in_kiosk() else None
    return {"kiosk_bound": bound}


@bp.before_request
def _require_kiosk_device():
    # Activation is how a browser becomes a kiosk: the one endpoint open to others.
    if request.endpoint != "kiosk_device.activate":
        return public.require_kiosk_device()
    return None


@bp.route("/activate", methods=["GET", "POST"])
def activate():
    """Make this browser a kiosk once confirmed; never a browser signed in as staff."""
    # A setup page for staff, not a citizen page: no kiosk script, timers or status bar yet.
    if activation.staff_browser():
        return render_template("public/activate_refused.html", kiosk=False), 403
    form = activation.ActivateForm()
    device = kiosks.device_for_token(form.token.data or "")
    if device is None:
        return render_template("public/not_activated.html"), 401
    if form.validate_on_submit():
        return activation.remember_device(redirect(url_for("kiosk.root"), 303), form.token.data)
    return render_template("public/activate.html", form=form, device=device, kiosk=False)


@bp.route("/reset", methods=["POST"])
def reset():
    """The kiosk's idle reset: forget the ratings of this screen, back to the attract screen."""
    citizen.forget_owned()
    return redirect(url_for("kiosk.root"), 303)


@bp.route("/sw.js")
def service_worker():
    """The kiosk's service worker, served from /k/ so that it controls the kiosk pages."""
    response = current_app.send_static_file("kiosk-sw.js")
    response.headers["Service-Worker-Allowed"] = PREFIX + "/"
    return response
