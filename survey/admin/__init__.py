"""Manager pages under /admin/: sign-in, the dashboard, users, tokens and the audit log.

Every page needs a signed-in account; what a page shows is limited to the units the account
may see (survey.scope), checked on the server for every request.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from survey import accounts, two_factor
from survey.abuse import KIOSK_COOKIE
from survey.admin.forms import PageForm
from survey.extensions import login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin")
# The second-step pages check the pending sign-in themselves (survey.admin.account).
OPEN_ENDPOINTS = {
    "admin.login",
    "admin.language",
    "admin.two_factor_prompt",
    "admin.enrol",
    "admin.enrol_qr",
}


@login_manager.user_loader
def _load_user(token: str):
    live = accounts.resume_session(token)
    if live is None:
        return None
    live.user.session_token, live.user.session_expires = live.token, live.expires_at
    return live.user


@bp.before_request
def _require_sign_in():
    if request.cookies.get(KIOSK_COOKIE):
        abort(404)  # a browser activated as a kiosk never reaches the manager pages
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    if two_factor.required(current_user) and not current_user.totp_secret:
        if request.endpoint != "admin.logout":
            return redirect(url_for("admin.enrol"))  # an administrator sets it up first
    if current_user.must_change_password and request.endpoint not in (
        "admin.password",
        "admin.logout",
    ):
        return redirect(url_for("admin.password"))
    return None


@bp.after_request
def _private(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def page_number() -> int:
    """The `page` query parameter, between 1 and MAX_PAGE."""
    return PageForm().page.data


def role_required(*roles: str):
    """Refuse (403) a signed-in account whose role is not one of `roles`."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# Last, and not at the top: each page module imports `bp` and `role_required` from this one
# (a cycle), and importing them is what attaches their routes to `bp`.
from survey.admin import (  # noqa: E402,F401
    account,
    alert_pages,
    auth,
    cases,
    catalogue,
    dashboard,
    devices,
    hotline,
    paper,
    planning,
    posters,
    report,
    topics,
    users,
    webhooks,
)
