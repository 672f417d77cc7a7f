"""The planning page: dossiers handled per procedure and unit, the response rate, the sample each
procedure needs and how far the ratings are toward it; managers import or type the dossiers."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from survey import dossier_file, i18n, periods, planning, scope
from survey.admin import bp, role_required
from survey.catalogue import filter_choices, find_code
from survey.filters import FilterError, Filters, SummaryFilterForm, centre_today
from survey.forms import choices
from survey.i18n import lazy_text as _l
from survey.period_labels import period_label

SHOWN_ERRORS = 30  # bad lines listed on the page; the count says how many more


class UploadForm(FlaskForm):
    file = FileField(
        _l("CSV file from the one-stop software"),
        validators=[FileRequired(_l("Choose a CSV file."))],
        id="p-file",
    )


class EntryForm(FlaskForm):
    period = SelectField(_l("Period"), validate_choice=False, id="p-period")
    unit = SelectField(_l("Unit"), validate_choice=False, id="p-unit")
    service = SelectField(_l("Procedure"), validate_choice=False, id="p-service")
    dossiers = IntegerField(
        _l("Dossiers handled"),
        validators=[
            InputRequired(_l("Enter the number of dossiers, for example 1200.")),
            NumberRange(0, dossier_file.MAX_DOSSIERS, _l("Enter a number from 0 to 1,000,000.")),
        ],
        id="p-dossiers",
        render_kw={"inputmode": "numeric"},
    )


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, values: dict | None) -> None:
    """A dossier file may be larger than other requests (read before the CSRF check)."""
    if endpoint == "admin.planning_import":
        request.max_content_length = dossier_file.UPLOAD_LIMIT


def _filters(form: SummaryFilterForm) -> Filters:
    """The form's filters within the account's scope: 403 for a unit outside it."""
    try:
        return form.resolve(visible=scope.visible_unit_ids(current_user))
    except FilterError as exc:
        if exc.forbidden:
            abort(403)
        raise


def _offer(entry: EntryForm, names: dict, filters: Filters | None) -> None:
    """Fill the entry form's <select>s: recent named periods, one's units, every procedure."""
    offered = periods.recent_keywords(
        centre_today(), current_app.config.get("SURVEY_REPORT_CUTOFF")
    )
    entry.period.choices = {
        str(year): choices((key, period_label(key)) for key in keys)
        for year, keys in offered.items()
    }
    entry.unit.choices = choices(names["unit"])
    entry.service.choices = choices(names["service"])
    if filters is not None and ".." not in filters.period and not entry.period.data:
        entry.period.data = filters.period


def _page(
    upload: UploadForm | None = None,
    entry: EntryForm | None = None,
    errors: list[dossier_file.LineError] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The planning page for the period and filters in the URL, with the forms' errors."""
    form = SummaryFilterForm.from_query()
    names = filter_choices(visible=scope.visible_unit_ids(current_user), locale=i18n.current())
    form.offer(names)
    upload, entry = upload or UploadForm(formdata=None), entry or EntryForm(formdata=None)
    try:
        filters, error = _filters(form), None
    except FilterError as exc:
        filters, error, status = None, exc, 400
    _offer(entry, names, filters)
    plan = planning.build_plan(filters, locale=i18n.current()) if filters else None
    return render_template(
        "admin/planning.html",
        form=form,
        error=error,
        plan=plan,
        upload=upload,
        entry=entry,
        line_errors=(errors or [])[:SHOWN_ERRORS],
        more_errors=max(0, len(errors or []) - SHOWN_ERRORS),
    ), status


def _back() -> Response:
    """Back to the planning page with the same period and filters (303)."""
    return redirect(url_for("admin.planning", **SummaryFilterForm.from_query().link_args()), 303)


@bp.route("/planning", endpoint="planning")
def planning_page():
    """The planning table; managers also see the import and entry forms."""
    return _page()


@bp.route("/planning/import", methods=["POST"])
@role_required("admin", "manager")
def planning_import():
    """Import a dossier CSV within one's units (403 when a line names another unit)."""
    upload = UploadForm()
    if not upload.validate():
        return _page(upload=upload, status=400)
    name = (upload.file.data.filename or "")[:100]  # as the audit log keeps it
    try:
        done = planning.import_csv(
            upload.file.data.read(),
            actor=current_user.email,
            name=name,
            visible=scope.visible_unit_ids(current_user),
        )
    except planning.OutsideScope:
        abort(403)
    except dossier_file.DossierError as exc:
        return _page(errors=exc.errors, status=400)
    flash(_imported(name, done))
    return _back()


def _imported(name: str, done) -> str:
    """What the page says after an import."""
    return _(
        "%(name)s: %(rows)s rows imported (%(added)s new, %(replaced)s replaced).",
        name=name,
        rows=format_decimal(done.rows),
        added=format_decimal(done.added),
        replaced=format_decimal(done.replaced),
    )


def _entry_period(key: str | None) -> periods.Period | None:
    """The named period an entry is for (not custom dates), or None."""
    period = periods.named_period(
        key or "", centre_today(), current_app.config.get("SURVEY_REPORT_CUTOFF")
    )
    return period if period is not None and period.preset != "custom" else None


def _entry_choices(entry: EntryForm) -> tuple | None:
    """The (period, unit, service) a valid entry names, each error on its field otherwise
    (None); 403 for a unit outside one's scope."""
    unit, service = (
        find_code("unit", entry.unit.data or ""),
        find_code("service", entry.service.data or ""),
    )
    if unit is not None and not scope.can_see(current_user, unit.id):
        abort(403)
    period = _entry_period(entry.period.data)
    valid = entry.validate()
    for field, found, message in (
        (entry.period, period, _l("Choose a period.")),
        (entry.unit, unit, _l("Choose a unit.")),
        (entry.service, service, _l("Choose a procedure.")),
    ):
        if found is None:
            field.errors = [*field.errors, message]
            valid = False
    return (period, unit, service) if valid else None


@bp.route("/planning/entry", methods=["POST"])
@role_required("admin", "manager")
def planning_entry():
    """Store the dossiers of a procedure at one of one's units for a whole period."""
    entry = EntryForm()
    chosen = _entry_choices(entry)
    if chosen is None:
        return _page(entry=entry, status=400)
    period, unit, service = chosen
    planning.enter(
        period,
        unit=unit,
        service=service,
        dossiers=entry.dossiers.data,
        actor=current_user.email,
    )
    flash(
        _(
            "%(dossiers)s dossiers recorded for %(service)s at %(unit)s, %(period)s.",
            dossiers=format_decimal(entry.dossiers.data),
            service=service.name_in(i18n.current()),
            unit=unit.name_in(i18n.current()),
            period=period_label(period.key),
        )
    )
    return _back()
