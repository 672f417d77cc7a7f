"""The catalogue on the web: units, counters, agencies, lĩnh vực and procedures, added and
edited one at a time with the CSV import's rules (survey/catalogue_edit.py), audited.

Administrators edit every kind; managers the units they may see and their counters (other
kinds: 403; an entry out of their scope: 404).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import catalogue_edit, i18n, scope
from survey.admin import bp, role_required
from survey.admin.forms import CatalogueForm
from survey.catalogue import filter_choices, find_unit
from survey.catalogue_rules import KINDS


@bp.route("/catalogue")
@role_required("admin", "manager")
def catalogue_index():
    """The entries one may edit, by kind, each with its link and an "add" link."""
    entries = catalogue_edit.entries(user=current_user, locale=i18n.current())
    return render_template("admin/catalogue/index.html", entries=entries)


@bp.route("/catalogue/<kind>/new", methods=["GET", "POST"])
@role_required("admin", "manager")
def catalogue_new(kind: str):
    """Add a unit, counter, agency, lĩnh vực or procedure."""
    if kind not in KINDS:
        abort(404)
    form = CatalogueForm()
    if not current_user.role == "admin" and kind not in catalogue_edit.MANAGER_KINDS:
        abort(403)
    return _edit(kind, form, entity=None)


@bp.route("/catalogue/<kind>/<code>", methods=["GET", "POST"])
@role_required("admin", "manager")
def catalogue_entry(kind: str, code: str):
    """Edit an entry (its code stays)."""
    entity = catalogue_edit.find_entry(kind, code)
    unit = catalogue_edit.unit_of(entity) if entity is not None else None
    if entity is None or unit is not None and not scope.can_see(current_user, unit):
        abort(404)
    if not current_user.role == "admin" and kind not in catalogue_edit.MANAGER_KINDS:
        abort(403)
    row = catalogue_edit.row_of(entity, kind)
    form = CatalogueForm(data={**row, "active": row["active"] != "0"})
    return _edit(kind, form, entity=entity)


def _edit(kind: str, form: CatalogueForm, *, entity):
    """Save a posted entry (303 to the list), or show the form with its errors (400)."""
    errors = []
    if form.validate_on_submit():
        row = form.row()
        if not catalogue_edit.may_edit(current_user, kind, row, entity):
            abort(403)
        try:
            catalogue_edit.save_entry(kind, row, actor=current_user.email, entity=entity)
        except catalogue_edit.EntryError as exc:
            errors = [(f"c-{exc.column}", _refusal(kind, exc.column))]
        else:
            flash(_("The catalogue entry %(code)s has been saved.", code=row["code"]))
            return redirect(url_for("admin.catalogue_index"), 303)
    errors = errors or [(f"c-{name}", texts[0]) for name, texts in form.errors.items()]
    choices = filter_choices(visible=scope.visible_unit_ids(current_user), locale=i18n.current())
    parent = find_unit(form.parent.data)
    if parent is not None and parent.code not in dict(choices["unit"]):
        choices["unit"].insert(0, (parent.code, parent.name))  # a manager's unit keeps its own
    page = render_template(
        "admin/catalogue/entry.html",
        kind=kind,
        form=form,
        entity=entity,
        choices=choices,
        errors=errors,
    )
    return page, 400 if errors else 200


def _refusal(kind: str, column: str) -> str:
    """What to tell the editor about a refused column (the rules' reasons are the import's)."""
    return {
        "code": _("Use 1 to 40 letters, digits, '-', '_' or '.' for the code, not one in use."),
        "name_vi": _("Enter the name in Vietnamese."),
        "parent": _("Choose a unit from the list (not this unit or one below it).")
        if kind == "unit"
        else _("Choose a unit from the list."),
        "national_code": _("Write the national procedure code like 1.001193, or leave it empty."),
        "field": _("Choose a field (lĩnh vực) from the list."),
        "agency": _("Choose an agency from the list."),
    }.get(column, _("Check this entry."))
