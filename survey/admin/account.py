"""Two-step sign-in: the code prompt, enrolment (QR code), recovery codes and the account page.

After the password, an account with two-factor sign-in (and every administrator) is only
"pending": the signed session cookie holds its id, the time and the page to go to, for five
minutes. It is signed in — a server-side session opened, Flask-Login told — only once the
code is right. An administrator without two-factor sign-in is sent to set it up first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import abort, flash, make_response, redirect, render_template, session, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_user

from survey import accounts, two_factor
from survey.admin import bp
from survey.admin.forms import CodeForm, ConfirmPasswordForm, EnrolForm
from survey.extensions import db
from survey.models import User, utcnow

PENDING = "pending_sign_in"
SECRET = "pending_totp_secret"
PENDING_FOR = timedelta(minutes=5)


def refusal(exc: accounts.SignInRefused, wrong: str) -> str:
    """The message for a refused attempt: locked until a time, or `wrong`."""
    if exc.locked_until:
        return _(
            "This account is locked after too many failed attempts. Try again after %(time)s.",
            time=format_datetime(exc.locked_until, "HH:mm"),
        )
    return wrong


def begin(user: User, next_url: str):
    """After a right password: sign in, or ask for (or set up) the second factor."""
    session.clear()  # a new session at every sign-in
    if not (user.totp_secret or two_factor.required(user)):
        return _complete(user, next_url)
    session[PENDING] = {"user": user.id, "at": int(utcnow().timestamp()), "next": next_url}
    return redirect(url_for("admin.two_factor_prompt" if user.totp_secret else "admin.enrol"), 303)


def _complete(user: User, next_url: str):
    session.clear()
    user.session_token = accounts.start_session(user)
    login_user(user)
    return redirect(next_url, 303)


def _pending_user(now: datetime) -> User | None:
    pending = session.get(PENDING)
    if not pending or now.timestamp() - pending["at"] > PENDING_FOR.total_seconds():
        return None
    user = db.session.get(User, pending["user"])
    return user if user is not None and user.active else None


def _enrolling_user(now: datetime) -> User | None:
    """The signed-in account, or a pending one that has no second factor yet."""
    if current_user.is_authenticated:
        return current_user
    user = _pending_user(now)
    return user if user is not None and not user.totp_secret else None


@bp.route("/two-factor", methods=["GET", "POST"])
def two_factor_prompt():
    """The second step of signing in: a code from the app, or a recovery code."""
    now = utcnow()
    user = _pending_user(now)
    if user is None or not user.totp_secret:
        return redirect(url_for("admin.login"), 303)
    form, refused = CodeForm(), None
    if form.validate_on_submit():
        try:
            two_factor.check_code(user, form.code.data, now=now)
        except accounts.SignInRefused as exc:
            refused = refusal(exc, _("The code is wrong, or it was used already."))
        else:
            return _complete(user, session[PENDING]["next"])
    status = 400 if form.errors or refused else 200
    return render_template("admin/two_factor_prompt.html", form=form, refused=refused), status


@bp.route("/two-factor/enrol", methods=["GET", "POST"])
def enrol():
    """Set up two-step sign-in: scan the QR code, then prove it with a code."""
    now = utcnow()
    user = _enrolling_user(now)
    if user is None:
        return redirect(url_for("admin.login"), 303)
    secret = session.setdefault(SECRET, two_factor.new_secret())
    form = EnrolForm()
    if form.validate_on_submit():
        codes = two_factor.enrol(user, secret, form.code.data, now=now)
        if codes is not None:
            return _enrolled(user, codes)
        form.code.errors.append(_("The code is wrong. Enter the code the app shows now."))
    key, required = two_factor.grouped(secret), two_factor.required(user)
    page = render_template("admin/enrol.html", form=form, key=key, required=required)
    return page, 400 if form.errors else 200


def _enrolled(user: User, codes: list[str]):
    session.pop(SECRET, None)
    next_url = url_for("admin.account")
    if not current_user.is_authenticated:
        next_url = session[PENDING]["next"]
        _complete(user, next_url)
    return render_template("admin/recovery_codes.html", codes=codes, next_url=next_url)


@bp.route("/two-factor/qr.svg")
def enrol_qr():
    """The enrolment QR code as an SVG image (never cached)."""
    user, secret = _enrolling_user(utcnow()), session.get(SECRET)
    if user is None or secret is None:
        abort(404)
    response = make_response(two_factor.qr_svg(secret, email=user.email))
    response.mimetype = "image/svg+xml"
    return response


@bp.route("/account")
def account():
    """One's own account: two-step sign-in and the recovery codes left."""
    return _account_page(ConfirmPasswordForm(), 200)


def _account_page(form: ConfirmPasswordForm, status: int):
    return render_template(
        "admin/account.html",
        form=form,
        required=two_factor.required(current_user),
        codes_left=two_factor.codes_left(current_user),
    ), status


@bp.route("/account/two-factor/disable", methods=["POST"])
def disable_two_factor():
    """Turn two-step sign-in off (not for administrators); asks for the password again."""
    if two_factor.required(current_user) or not current_user.totp_secret:
        abort(403)
    form = ConfirmPasswordForm()
    if form.validate_on_submit():
        if accounts.check_password(current_user, form.password.data):
            two_factor.disable(current_user, actor=current_user.email)
            flash(_("Two-step verification is off."))
            return redirect(url_for("admin.account"), 303)
        form.password.errors.append(_("The password is wrong."))
    return _account_page(form, 400)
