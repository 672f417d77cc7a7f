"""The printed report "Báo cáo kết quả khảo sát sự hài lòng …" of a period and scope, laid out as a
Vietnamese administrative document (Nghị định 30/2020/NĐ-CP), and its PDF.

`build_report` gathers every figure once, as a frozen `Report`; the page, the PDF and the
command line render that same object, so they show the same figures as the summary API for the
same period and unit. The manager's additions (số/ký hiệu, picked comments, recommendations) are
kept in a `ReportDraft` per period and scope (scope "" for every unit, else a unit's code).

Section II ends with who is satisfied: the index per respondent profile option (gender, age
band, ethnicity…) from survey/profiles.py, with the dashboard's rules (a group of 1 to 4 ratings
is not shown, n < 30 greyed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from survey import audit, profiles, questionnaire, rankings, sipas, topics
from survey.cases import CaseCounts, counts
from survey.dashboard import Comment, national_reference, priorities
from survey.extensions import db
from survey.filters import (
    Filters,
    SummaryFilterForm,
    centre_today,
    comment_conditions,
)
from survey.models import ReportDraft, Response, Service, Unit, utcnow
from survey.period_labels import period_label
from survey.summary import Summary, build_summary
from survey.topic_figures import TopicFigures, topic_figures

# WeasyPrint resolves the document's links against this address; the fetcher serves only the
# app's own static files under it, and nothing from the network.
BASE_URL = "https://report.invalid/"
PICKABLE_COMMENTS = 100  # the newest comments offered to quote (the picked ones always)
MAX_PICKED = 30


@dataclass(frozen=True)
class Header:
    """The names of the document's header, date line and signature block."""

    authority: str  # cơ quan chủ quản, e.g. "UBND TỈNH AN GIANG"
    issuer: str  # the scope's unit, or the top unit for every unit
    issuer_code: str
    place: str
    day: date
    signer: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """Every figure and text of one printed report."""

    filters: Filters
    scope: str  # "" for every unit, else the unit's code
    title_period: str  # "Quý III/2026"
    header: Header
    summary: Summary
    elements: list[tuple[str, sipas.Proportion]]
    before: sipas.Proportion  # the overall index of the same period a year before
    national: tuple[int, float]
    ranked: dict[str, list[rankings.Ranked]]
    compared: dict[str, rankings.Comparison]
    expectations: list[tuple[str, sipas.Proportion]]
    who: list[profiles.Item]  # the index per respondent profile option
    with_comments: bool  # whether the reader's role may read comments
    comments: list[Comment]  # the picked ones, within the period and scope
    number: str
    recommendations: str
    topics: TopicFigures | None = None  # what the period's comments are about, per month
    cases: CaseCounts | None = None  # follow-up cases opened in the period (survey/cases.py)

    @property
    def differs_from_before(self) -> bool | None:
        return sipas.differs(self.summary.figures.overall, self.before)


def draft_for(filters: Filters, scope: str) -> ReportDraft | None:
    """The saved additions of this period and scope, if any."""
    return db.session.scalar(select(ReportDraft).filter_by(period=filters.period, scope=scope))


def top_unit() -> Unit | None:
    """The unit at the top of the tree (the provincial centre): the issuer for every unit."""
    return db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.code))


def _header(scope: str, locale: str, today: date) -> Header:
    config = current_app.config
    unit = db.session.scalar(select(Unit).filter_by(code=scope)) if scope else top_unit()
    recipients = tuple(
        part.strip() for part in config["SURVEY_REPORT_RECIPIENTS"].split(";") if part.strip()
    )
    return Header(
        authority=config["SURVEY_REPORT_AUTHORITY"],
        issuer=unit.name_in(locale) if unit else "",
        issuer_code=unit.code if unit else "",
        place=config["SURVEY_REPORT_PLACE"],
        day=today,
        signer=config["SURVEY_REPORT_SIGNER"],
        recipients=recipients,
    )


def comment_query(filters: Filters):
    """The comments of the period and scope that a report may quote, newest first."""
    return (
        select(Response.id, Response.captured_at, Response.comment, Service)
        .join(Service, Service.id == Response.service_id)
        .where(*comment_conditions(filters))
        .order_by(Response.captured_at.desc(), Response.id.desc())
    )


def pickable_comments(
    filters: Filters, picked: list[int], locale: str
) -> list[tuple[int, Comment]]:
    """The comments offered to quote: the picked ones first, then the newest others."""
    rows = list(db.session.execute(comment_query(filters).where(Response.id.in_(picked or [-1]))))
    rows += db.session.execute(
        comment_query(filters).where(Response.id.not_in(picked or [-1])).limit(PICKABLE_COMMENTS)
    )
    return [
        (rid, Comment(moment, service.name_in(locale), None, text))
        for rid, moment, text, service in rows
    ]


def allowed_comment_ids(filters: Filters, ids: list[int]) -> list[int]:
    """Of `ids`, those of comments within the period and scope (in the order given)."""
    found = set(
        db.session.scalars(
            select(Response.id).where(*comment_conditions(filters), Response.id.in_(ids or [-1]))
        )
    )
    return [rid for rid in dict.fromkeys(ids) if rid in found][:MAX_PICKED]


def _picked(filters: Filters, ids: list[int], locale: str) -> list[Comment]:
    rows = db.session.execute(comment_query(filters).where(Response.id.in_(ids or [-1])))
    return [
        Comment(moment, service.name_in(locale), None, text) for _, moment, text, service in rows
    ]


def build_report(
    filters: Filters,
    *,
    scope: str,
    locale: str,
    with_comments: bool,
    today: date,
    now: datetime | None = None,
) -> Report:
    """The report of `filters` (a period and the units of `scope`), with its saved draft;
    with `now`, the period's untagged comments are tagged first (survey.topics)."""
    if now is not None:
        topics.tag_pending(filters, now=now)
    summary = build_summary(filters, locale=locale)
    q = questionnaire.by_id(filters.questionnaire_id)
    ranked = {} if summary.hidden else rankings.rankings(filters, locale=locale)
    before = build_summary(rankings.year_before(filters), locale=locale).figures.overall
    draft = draft_for(filters, scope)
    picked = (draft.comment_ids or []) if draft and with_comments else []
    return Report(
        filters=filters,
        scope=scope,
        title_period=period_label(filters.period),
        header=_header(scope, locale, today),
        summary=summary,
        elements=[
            (questionnaire.label(e, locale), summary.figures.elements[e["code"]])
            for e in q.elements
        ],
        before=before,
        national=national_reference(),
        ranked=ranked,
        compared={kind: rankings.compare(rows) for kind, rows in ranked.items()},
        expectations=priorities(summary, locale),
        who=[] if summary.hidden else profiles.breakdown(filters, locale),
        with_comments=with_comments,
        comments=_picked(filters, picked, locale) if picked else [],
        number=(draft.number or "") if draft else "",
        recommendations=(draft.recommendations or "") if draft else "",
        topics=None
        if summary.hidden
        else topic_figures(filters, filters, comments=summary.comments),
        cases=counts(since=filters.since, until=filters.until, unit_ids=filters.units, today=today),
    )


def report_from_query(locale: str) -> Report:
    """The report of this request's `period` and `unit` over every unit's scope, comments
    included (the command line: an operator of the server)."""
    form = SummaryFilterForm.from_query()
    filters = form.resolve(visible=None)
    with force_locale(locale):
        return build_report(
            filters,
            scope=form.unit.data or "",
            locale=locale,
            with_comments=True,
            today=centre_today(),
            now=topics.tag_on_view(utcnow()),
        )


def save_draft(
    filters: Filters,
    scope: str,
    *,
    number: str,
    recommendations: str,
    comment_ids: list[int] | None,
    actor: str,
) -> ReportDraft:
    """Create or update the draft of this period and scope, audited, and commit; `comment_ids`
    None keeps the picked comments (a role that may not read them never changes them)."""
    draft = draft_for(filters, scope) or ReportDraft(period=filters.period, scope=scope)
    draft.number, draft.recommendations = number or None, recommendations or None
    if comment_ids is not None:
        draft.comment_ids = allowed_comment_ids(filters, comment_ids)
    draft.updated_by, draft.updated_at = actor, utcnow()
    db.session.add(draft)
    audit.record(
        "report_draft",
        actor=actor,
        target=f"{filters.period}/{scope or '*'}",
        detail={"comments": len(comment_ids or [])},
        commit=False,
    )
    db.session.commit()
    return draft


class StaticFetcher(URLFetcher):
    """WeasyPrint's url_fetcher: the app's own static files, and nothing else (no network)."""

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        parts, base = urlsplit(url), urlsplit(BASE_URL)
        prefix = current_app.static_url_path.rstrip("/") + "/"
        asset = None
        if (parts.scheme, parts.netloc) == (base.scheme, base.netloc) and parts.path.startswith(
            prefix
        ):
            asset, _ = current_app.extensions["delivery"].find(parts.path[len(prefix) :])
        if asset is None:
            raise ValueError(f"the report loads only the app's static files, not {url}")
        return URLFetcherResponse(url, asset.body, {"Content-Type": asset.mimetype})


def render_html(report: Report, *, standalone: bool = True) -> str:
    """The report as a complete HTML document (for the PDF and `survey report --format html`)."""
    return render_template("admin/report/print.html", report=report, standalone=standalone)


def render_pdf(report: Report) -> bytes:
    """The report as A4 PDF, rendered on the server with WeasyPrint."""
    html = render_html(report)
    return HTML(string=html, base_url=BASE_URL, url_fetcher=StaticFetcher()).write_pdf()
