"""Administration: users, API tokens and the audit log."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from survey import accounts, audit, i18n, two_factor
from survey.admin import bp, page_number, role_required
from survey.admin.forms import ButtonForm, ResetPasswordForm, UserForm
from survey.catalogue import filter_choices
from survey.extensions import db
from survey.forms import choices
from survey.models import ApiToken, User


def _user_form(user: User | None = None) -> UserForm:
    form = UserForm(obj=user) if user else UserForm()
    form.units.choices = choices(filter_choices(visible=None, locale=i18n.current())["unit"])
    if user and not form.is_submitted():
        form.units.data = [u.code for u in user.units]
    return form


@bp.route("/users", methods=["GET", "POST"])
@role_required("admin")
def users():
    """List accounts and create one with a one-time password."""
    form, created = _user_form(), None
    if form.validate_on_submit():
        password = accounts.generate_password()
        try:
            user = accounts.create_user(
                form.email.data,
                role=form.role.data,
                password=password,
                units=form.units.data,
                must_change=True,
                actor=current_user.email,
            )
            created = (user.email, password)
        except accounts.AccountError as exc:
            form.email.errors.append(str(exc))
    people = db.session.scalars(select(User).order_by(User.email))
    return render_template(
        "admin/users.html", form=form, people=list(people), created=created
    ), 400 if form.errors else 200


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@role_required("admin")
def user(user_id: int):
    """Change a user's role, units and access, or give a new one-time password."""
    person = db.get_or_404(User, user_id)
    form, password = _user_form(person), None
    if ResetPasswordForm().wants_reset():
        password = accounts.generate_password()
        accounts.set_password(person, password, actor=current_user.email, must_change=True)
    elif form.validate_on_submit():
        accounts.update_user(
            person,
            role=form.role.data,
            units=form.units.data,
            active=form.active.data,
            actor=current_user.email,
        )
        flash(_("The account %(email)s has been saved.", email=person.email))
        return redirect(url_for("admin.users"), 303)
    return render_template(
        "admin/user.html",
        form=form,
        person=person,
        password=password,
        reset_form=ButtonForm(),
    )


@bp.route("/users/<int:user_id>/two-factor-reset", methods=["POST"])
@role_required("admin")
def reset_two_factor(user_id: int):
    """Reset an account's two-step sign-in (a lost phone) and end its sessions; audited."""
    person = db.get_or_404(User, user_id)
    if ButtonForm().validate_on_submit():
        two_factor.reset(person, actor=current_user.email)
        flash(
            _(
                "Two-step verification of %(email)s has been reset and its sessions have "
                "been ended.",
                email=person.email,
            )
        )
    return redirect(url_for("admin.user", user_id=person.id), 303)


@bp.route("/tokens", methods=["GET", "POST"])
@role_required("admin", "manager")
def tokens():
    """API tokens: one's own (all of them for admins); create, shown once; revoke."""
    created = None
    if ButtonForm().validate_on_submit():
        created = accounts.create_api_token(current_user, actor=current_user.email)
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if current_user.role != "admin":
        query = query.filter_by(user_id=current_user.id)
    return render_template(
        "admin/tokens.html", tokens=list(db.session.scalars(query)), created=created
    )


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@role_required("admin", "manager")
def revoke_token(token_id: int):
    """Revoke a token at once."""
    token = db.get_or_404(ApiToken, token_id)
    if current_user.role != "admin" and token.user_id != current_user.id:
        abort(404)
    if not ButtonForm().validate_on_submit():
        abort(400)
    accounts.revoke_api_token(token, actor=current_user.email)
    flash(_("The token %(prefix)s… has been revoked.", prefix=token.prefix))
    return redirect(url_for("admin.tokens"), 303)


@bp.route("/audit")
@role_required("admin")
def audit_log():
    """The audit log, newest first."""
    page = page_number()
    events, total = audit.latest(page=page)
    return render_template("admin/audit_log.html", events=events, total=total, page=page)
