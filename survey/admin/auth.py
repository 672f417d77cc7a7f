"""Sign-in, sign-out, password change and the language of the manager pages."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, logout_user

from survey import accounts
from survey.admin import bp
from survey.admin.account import begin, refusal
from survey.admin.forms import LoginForm, NextForm, PasswordForm
from survey.config import LOCALES
from survey.extensions import limiter
from survey.i18n import COOKIE
from survey.models import utcnow


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.summary")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["SURVEY_SIGNIN_RATE_LIMIT"],
    key_func=get_remote_address,
    methods=["POST"],
)
def login():
    """Sign in with e-mail and password, then the second step where the account has one."""
    form, refused = LoginForm(), None
    if form.validate_on_submit():
        try:
            user = accounts.authenticate(form.email.data, form.password.data, now=utcnow())
        except accounts.SignInRefused as exc:
            current_app.logger.warning(
                "refused sign-in for %s from %s", form.email.data, request.remote_addr
            )
            refused = refusal(exc, _("The e-mail address or password is wrong."))
        else:
            return begin(user, _safe_next(NextForm().next.data))
    status = 400 if form.errors or refused else 200
    return render_template("admin/login.html", form=form, refused=refused), status


@bp.route("/logout", methods=["POST"])
def logout():
    """End the session for good, then show the sign-in page."""
    accounts.end_session(current_user.session_token, actor=current_user.email)
    logout_user()
    session.clear()
    flash(_("You have signed out."))
    return redirect(url_for("admin.login"), 303)


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Change one's own password (required after a one-time password)."""
    form = PasswordForm()
    if form.validate_on_submit():
        if not accounts.check_password(current_user, form.current.data):
            form.current.errors.append(_("The current password is wrong."))
        else:
            try:
                accounts.set_password(current_user, form.new.data, actor=current_user.email)
            except accounts.AccountError as exc:
                form.new.errors.append(str(exc))
            else:
                flash(_("Your password has been changed. Sign in with the new password."))
                logout_user()
                session.clear()
                return redirect(url_for("admin.login"), 303)
    return render_template("admin/password.html", form=form), 400 if form.errors else 200


@bp.route("/language/<code>")
def language(code: str):
    """Switch the language of the manager pages and return to the page."""
    response = redirect(_safe_next(NextForm().next.data))
    if code in LOCALES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
