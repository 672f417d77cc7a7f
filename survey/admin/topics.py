"""What people complain about: correct a comment's topics, and see or edit the topic lexicon."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from survey import i18n, questionnaire, scope, topics
from survey.admin import bp, role_required
from survey.admin.auth import _safe_next
from survey.admin.topic_forms import CommentTopicsForm, LexiconForm
from survey.models import utcnow


@bp.route("/comments/<public_id>")
@role_required("admin", "manager")
def comment(public_id: str):
    """One comment and what a manager may do with it: correct its topics, open a follow-up
    case, remove personal details (the dashboard links here, so it carries no form per row)."""
    response = topics.find_comment(public_id, visible=scope.visible_unit_ids(current_user))
    if response is None:
        abort(404)
    back = _safe_next(request.args.get("next"))
    found = topics.topics_of([response.id])[response.id]
    form = CommentTopicsForm(data={"topics": [t for t, _s in found], "next": back})
    overall = questionnaire.by_id(response.questionnaire_id).overall_code
    return render_template(
        "admin/comment.html",
        response=response,
        procedure=response.service.name_in(i18n.current()),
        overall=next((a.value for a in response.answers if a.item == overall), None),
        found=found,
        topic_labels=topics.LABELS,
        form=form,
        back=back,
    )


@bp.route("/comments/<public_id>/topics", methods=["POST"])
@role_required("admin", "manager")
def comment_topics(public_id: str):
    """Replace a comment's topics by the manager's choice (kept, audited)."""
    form = CommentTopicsForm()
    if not form.validate_on_submit():
        abort(400)
    response = topics.find_comment(public_id, visible=scope.visible_unit_ids(current_user))
    if response is None:
        abort(404)
    topics.correct(response, form.topics.data, actor=current_user.email, now=utcnow())
    flash(_("The comment's topics were saved."))
    return redirect(_safe_next(form.next.data), 303)


@bp.route("/topics", methods=["GET", "POST"])
def topic_lexicon():
    """The phrases of each topic; an administrator may replace them."""
    form = LexiconForm.build({t: p for t, _l, p, _o in topics.lexicon_view()})
    if form.is_submitted() and current_user.role != "admin":
        abort(403)
    if form.validate_on_submit():
        data = {t: form[t].data or "" for t in topics.TOPICS}
        changed = topics.save_lexicon(data, actor=current_user.email, now=utcnow())
        flash(
            _(
                "Topics changed: %(n)d. Comments not corrected by hand will be tagged again.",
                n=len(changed),
            )
        )
        return redirect(url_for("admin.topic_lexicon"), 303)
    return render_template("admin/topic_lexicon.html", form=form, rows=topics.lexicon_view())
