"""Paper questionnaires (survey/paper.py): the keyboard-first typing page, the import of forms
typed elsewhere, and the printable blank form. Admins and managers, within their units."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from survey import i18n, paper, paper_import, paper_print, questionnaire, scope
from survey.admin import bp, role_required
from survey.admin.paper_forms import (
    LANGUAGE_NAMES,
    EntryForm,
    KeptForm,
    PrintForm,
    UploadForm,
    entry_form,
)
from survey.catalogue import filter_choices, find_code, find_service
from survey.extensions import db
from survey.filters import UNKNOWN_CODE, centre_today
from survey.i18n import lazy_text as _l
from survey.paper_reports import produced_reports
from survey.periods import parse_local_date
from survey.responses import Invalid, clean_comment

SHOWN_ERRORS = 30  # bad lines listed on the import page; the count says how many more


def _questionnaire() -> questionnaire.Questionnaire:
    q = questionnaire.active()
    if q is None:
        abort(503)
    return q


def _page(q, form: EntryForm, status: int = 200) -> tuple[str, int]:
    """The typing page with `form` and the forms waiting for a typing."""
    visible, locale = scope.visible_unit_ids(current_user), i18n.current()
    form.unit.choices = filter_choices(visible=visible, locale=locale)["unit"]
    return render_template(
        "admin/paper/entry.html",
        form=form,
        q=questionnaire.localized(q, locale),
        items=paper.items(q),
        services=filter_choices(visible=visible, locale=locale)["service"],
        double_always=current_app.config["SURVEY_PAPER_DOUBLE_ENTRY"],
        waiting=paper.open_forms(visible=visible, locale=locale),
        field_names=_field_names(),
        language_names=LANGUAGE_NAMES,
    ), status


@bp.url_value_preprocessor
def _upload_limit(endpoint: str | None, values: dict | None) -> None:
    """A file of typed forms may be larger than other requests (read before the CSRF check)."""
    if endpoint == "admin.paper_import_page":
        request.max_content_length = paper_import.UPLOAD_LIMIT


@bp.get("/paper")
@role_required("admin", "manager")
def paper_entry():
    """The page where staff type paper forms, and the forms waiting for a typing."""
    q = _questionnaire()
    return _page(q, entry_form(q, formdata=None, data=KeptForm().kept()))


@bp.post("/paper")
@role_required("admin", "manager")
def paper_save():
    """Store one typing of a paper form (double entry applies), then back to an empty form
    that keeps the unit, date and language of this one."""
    q = _questionnaire()
    form = entry_form(q)
    typed = _typed(form, q)
    if typed is None:
        return _page(q, form, status=400)
    double = current_app.config["SURVEY_PAPER_DOUBLE_ENTRY"] or form.double.data
    try:
        outcome = paper.enter(typed, q=q, actor=current_user.email, double=double)
        db.session.commit()
    except paper.Refused as exc:
        db.session.rollback()
        form[exc.field].errors = [*form[exc.field].errors, exc.message]
        return _page(q, form, status=400)
    except IntegrityError:  # the same serial stored by someone else at this very moment
        db.session.rollback()
        return _page(q, _with_error(form, _("Someone has just stored this form: try again.")), 409)
    flash(_outcome(outcome))
    _warn_reports(typed)
    kept = {"unit": typed.unit.code, "written_on": form.written_on.data, "locale": typed.locale}
    return redirect(url_for("admin.paper_entry", **kept), code=303)


def _outcome(outcome: paper.Outcome) -> str:
    """What the page says after a typing."""
    serial = outcome.form.serial
    if outcome.status == "pending":
        return _(
            "Form %(serial)s is stored. It counts once another person types it the same way.",
            serial=serial,
        )
    if outcome.status == "agreed":
        return _("Form %(serial)s: both typings agree. It is counted.", serial=serial)
    if outcome.status == "disputed":
        return _(
            "Form %(serial)s: the two typings differ (%(fields)s). It stays out of the figures "
            "until someone who typed neither types it again from the paper.",
            serial=serial,
            fields=", ".join(_field_names().get(code, code) for code in outcome.differences),
        )
    if outcome.status == "resolved":
        return _("Form %(serial)s is resolved and counted.", serial=serial)
    return _("Form %(serial)s is stored and counted.", serial=serial)


def _with_error(form: EntryForm, message: str) -> EntryForm:
    form.serial.errors = [*form.serial.errors, message]
    return form


def _field_names() -> dict[str, str]:
    """The header fields as the page names them (a differing item is named by its code)."""
    return {
        "unit": _("Unit"),
        "service": _("Procedure"),
        "written_on": _("Date"),
        "locale": _("Language"),
        "comment": _("Comment"),
    }


def _warn_reports(typed: paper.Typed) -> None:
    """Say which produced reports this form changes (survey/paper_reports.py)."""
    produced = produced_reports(typed.written_on, typed.unit)
    if produced:
        flash(
            _(
                "The report of %(periods)s was already produced: its figures will change.",
                periods=", ".join(produced),
            )
        )


def _typed(form: EntryForm, q) -> paper.Typed | None:
    """The checked typing, or None with each error on its field; 403 for another's unit."""
    valid = form.validate()
    unit = find_code("unit", form.unit.data or "")
    if unit is not None and not scope.can_see(current_user, unit.id):
        abort(403)
    code = (form.service.data or "").strip()
    service = find_service(code)
    written_on = parse_local_date(form.written_on.data)
    errors = {
        "unit": None if unit else _("Choose a unit."),
        "service": None
        if service
        else UNKNOWN_CODE["service"](code)
        if code
        else _l("Choose a procedure."),
        "written_on": paper.date_error(written_on, centre_today()),
    }
    try:
        serial = paper.clean_serial(form.serial.data)
    except paper.Refused as exc:
        serial, errors["serial"] = None, exc.message
    try:
        comment = clean_comment(form.comment.data)
    except Invalid as exc:
        comment, errors["comment"] = None, exc.errors[0].message
    answers, digit_errors = paper.clean_digits(q, {c: form[c].data for c in paper.items(q)})
    for name, message in {**errors, **digit_errors}.items():
        if message is not None:
            form[name].errors, valid = [*form[name].errors, message], False
    if not valid:
        return None
    return paper.Typed(serial, unit, service, written_on, form.locale.data, answers, comment)


@bp.route("/paper/import", methods=["GET", "POST"])
@role_required("admin", "manager")
def paper_import_page():
    """Import a CSV of forms typed elsewhere: all or nothing, each bad line named."""
    upload = UploadForm()
    if request.method == "GET" or not upload.validate():
        status = 200 if request.method == "GET" else 400
        return render_template("admin/paper/import.html", upload=upload, errors=[]), status
    name = (upload.file.data.filename or "")[:100]  # as the audit log keeps it
    try:
        done = paper_import.import_csv(
            upload.file.data.read(),
            q=_questionnaire(),
            actor=current_user.email,
            name=name,
            visible=scope.visible_unit_ids(current_user),
        )
    except paper_import.PaperImportError as exc:
        shown = exc.errors[:SHOWN_ERRORS]
        more = len(exc.errors) - len(shown)
        page = render_template("admin/paper/import.html", upload=upload, errors=shown, more=more)
        return page, 400
    flash(_imported(name, done))
    return redirect(url_for("admin.paper_import_page"), code=303)


def _imported(name: str, done: paper_import.Imported) -> str:
    """What the page says after an import."""
    text = _(
        "%(name)s: %(added)s forms imported, %(skipped)s already stored.",
        name=name,
        added=format_decimal(done.added),
        skipped=format_decimal(done.skipped),
    )
    if done.reports:
        text += " " + _(
            "The report of %(periods)s was already produced: its figures will change.",
            periods=", ".join(done.reports),
        )
    return text


@bp.get("/paper/print")
def paper_print_page():
    """Blank paper forms to print: choose the language and the serial numbers."""
    return render_template("admin/paper/print.html", form=PrintForm())


@bp.get("/paper/forms.pdf")
def paper_forms_pdf():
    """The blank forms of a print run as an A4 PDF, one serial number per form."""
    form = PrintForm()
    if not form.validate():
        return render_template("admin/paper/print.html", form=form), 400
    pdf = paper_print.render_pdf(_questionnaire(), locale=form.lang.data, serials=form.serials())
    name = f"phieu-khao-sat-{form.lang.data}-{form.serials()[0]}.pdf"
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )
