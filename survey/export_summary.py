"""The summary tables of an export: overall, the elements, the criteria, the expectations,
then one table per grouping, as the dashboard shows them (survey/exports.py writes them).

Every text is in the current locale (the caller sets it with force_locale).
"""

from __future__ import annotations

from flask_babel import gettext as _

from survey import questionnaire, sipas
from survey.export_files import Column, Table
from survey.filters import Filters
from survey.questionnaire import Questionnaire
from survey.summary import Figures, Group, Summary, build_summary

GROUPINGS = ("service", "unit", "agency", "field")


def _grouping_titles() -> dict[str, str]:
    return {
        "service": _("By procedure"),
        "unit": _("By unit"),
        "agency": _("By agency"),
        "field": _("By field"),
    }


def _interval(p: sipas.Proportion) -> tuple[float | None, float | None]:
    return p.ci95 or (None, None)


def _note(p: sipas.Proportion, *, withheld: bool = False) -> str:
    if withheld:
        return _("Fewer than 5 ratings: not shown")
    return _("Few data (n < 30)") if p.n and p.small else ""


def summary_tables(filters: Filters, lang: str) -> list[Table]:
    """Overall, the elements, the criteria, the expectations, then one table per grouping."""
    grouped = {g: build_summary(filters, group_by=g, locale=lang) for g in GROUPINGS}
    result = grouped["service"]
    q = result.questionnaire
    tables = [_overall_table(result)]
    if not result.hidden:
        tables += [_element_table(result, lang), _criteria_table(result, lang)]
        tables.append(_expectation_table(result, lang))
    titles = _grouping_titles()
    return tables + [_group_table(titles[g], grouped[g], q, lang) for g in GROUPINGS]


def _overall_table(result: Summary) -> Table:
    f = result.figures
    columns = [
        Column(_("From"), "date"),
        Column(_("To"), "date"),
        Column(_("Responses"), "int"),
        Column(_("Satisfaction index (%)"), "number"),
        Column(_("Interval low (95%)"), "number"),
        Column(_("Interval high (95%)"), "number"),
        Column(_("n (criteria)"), "int"),
        Column(_("Overall question: satisfied (%)"), "number"),
        Column(_("n (overall question)"), "int"),
        Column(_("Note")),
    ]
    dates = [result.filters.since, result.filters.until]
    if result.hidden:
        row = [*dates, *[None] * 7, _note(f.overall, withheld=True)]
    else:
        p, ov = f.overall, f.overall_question
        row = [*dates, f.responses, p.index, *_interval(p), p.n, ov.index, ov.n, _note(p)]
    return Table(_("Overall"), columns, [row])


def _proportion_columns() -> list[Column]:
    return [
        Column(_("Index (%)"), "number"),
        Column(_("Interval low (95%)"), "number"),
        Column(_("Interval high (95%)"), "number"),
        Column("n", "int"),
    ]


def _element_table(result: Summary, lang: str) -> Table:
    columns = [Column(_("Code")), Column(_("Element")), *_proportion_columns()]
    rows = []
    for element in result.questionnaire.elements:
        p = result.figures.elements[element["code"]]
        rows.append([element["code"], questionnaire.label(element, lang), p.index, *_interval(p)])
        rows[-1].append(p.n)
    return Table(_("Elements"), columns, rows)


def _criteria_table(result: Summary, lang: str) -> Table:
    columns = [
        Column(_("Code")),
        Column(_("Element")),
        Column(_("Criterion")),
        *_proportion_columns(),
        Column(_("Mean (1–5)"), "number"),
        Column(_("Dissatisfied (%)"), "number"),
    ]
    rows = []
    for element in result.questionnaire.elements:
        for criterion in element["criteria"]:
            c = result.figures.criteria[criterion["code"]]
            label = questionnaire.label(criterion, lang)
            rows.append([criterion["code"], element["code"], label, c.index, *_interval(c)])
            rows[-1] += [c.n, c.mean, c.dissatisfaction]
    return Table(_("Criteria"), columns, rows)


def _expectation_table(result: Summary, lang: str) -> Table:
    columns = [Column(_("Code")), Column(_("Expectation")), *_proportion_columns()]
    rows = []
    for entry in result.questionnaire.data["expectations"]:
        p = result.figures.expectations[entry["code"]]
        rows.append([entry["code"], questionnaire.label(entry, lang), p.index, *_interval(p)])
        rows[-1].append(p.n)
    return Table(_("Expectations"), columns, rows)


def _group_table(title: str, result: Summary, q: Questionnaire, lang: str) -> Table:
    columns = [
        Column(_("Code")),
        Column(_("Name")),
        Column(_("Responses"), "int"),
        *_proportion_columns(),
        Column(_("Overall question: satisfied (%)"), "number"),
        *(Column(f"{questionnaire.label(e, lang)} (%)", "number") for e in q.elements),
        Column(_("Note")),
    ]
    return Table(title, columns, [_group_row(g, q) for g in result.groups])


def _group_row(group: Group, q: Questionnaire) -> list:
    if group.hidden:
        blanks = [None] * (6 + len(q.elements))
        return [group.key, group.label, *blanks, _note(group.figures.overall, withheld=True)]
    f: Figures = group.figures
    p = f.overall
    elements = [f.elements[e["code"]].index for e in q.elements]
    return [
        group.key,
        group.label,
        f.responses,
        p.index,
        *_interval(p),
        p.n,
        f.overall_question.index,
        *elements,
        _note(p),
    ]
