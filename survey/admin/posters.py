"""QR posters from the manager pages."""

from __future__ import annotations

from flask import Response, abort, render_template
from flask_login import current_user

from survey import audit, catalogue, i18n, posters, scope
from survey.admin import bp, role_required
from survey.admin.forms import PosterForm
from survey.catalogue import filter_choices


@bp.route("/qr")
@role_required("admin", "manager")
def qr_codes():
    """Links to the poster of every procedure, for the whole centre or one counter."""
    choices = filter_choices(visible=scope.visible_unit_ids(current_user), locale=i18n.current())
    groups = catalogue.services_by_field(locale=i18n.current())
    return render_template(
        "admin/qr_codes.html",
        groups=groups,
        counters=choices["counter"],
        counter=PosterForm().counter.data or "",
    )


@bp.route("/qr/<code>.<fmt>")
@role_required("admin", "manager")
def qr_poster(code: str, fmt: str):
    """One poster as PDF or SVG, A4 or A5."""
    form = PosterForm()
    service, size = catalogue.find_service(code), form.size.data
    counter = catalogue.find_counter(form.counter.data)
    if service is None or fmt not in ("pdf", "svg") or size not in posters.SIZES:
        abort(404)
    if form.counter.data and (counter is None or not scope.can_see(current_user, counter.unit_id)):
        abort(404)
    poster = posters.make_poster(service, counter, size)
    audit.record("export.poster", actor=current_user.email, target=poster.url)
    if fmt == "svg":
        return Response(posters.render_svg(poster), mimetype="image/svg+xml")
    return Response(
        posters.render_pdf(poster),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="qr-{code}-{size}.pdf"'},
    )
