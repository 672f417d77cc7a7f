"""The summary API's JSON document (DESIGN.md §4), built from a Summary."""

from __future__ import annotations

from flask_babel import gettext as _

from survey import sipas
from survey.summary import Figures, Summary


def _num(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _proportion(p: sipas.Proportion, *, interval: bool = False) -> dict:
    data = {"index": _num(p.index), "n": p.n}
    if interval:
        data["ci95"] = [_num(v) for v in p.ci95] if p.ci95 else None
    return data


def _block(f: Figures, hidden: bool = False) -> dict:
    if hidden:  # a counter with too few answers: no figure that could point at a person
        return {"overall": None, "elements": None, "hidden": True}
    return {
        "overall": _proportion(f.overall, interval=True),
        "elements": {k: _proportion(v) for k, v in f.elements.items()},
    }


def summary_json(result: Summary) -> dict:
    """The figures of `result`, its groups, and a message when there is nothing to show."""
    fig = result.figures
    document = {
        "period": result.filters.period,
        "from": result.filters.since.isoformat(),
        "to": result.filters.until.isoformat(),
        "questionnaire": result.questionnaire.code,
        "responses": fig.responses,
        **_block(fig),
        "overall_question": _proportion(fig.overall_question),
        "criteria": {
            code: {
                "index": _num(c.index),
                "mean": _num(c.mean),
                "n": c.n,
                "distribution": {str(k): _num(v) for k, v in c.distribution.items()},
            }
            for code, c in fig.criteria.items()
        },
        "groups": [
            {
                "key": g.key,
                "label": g.label,
                "responses": g.figures.responses,
                **_block(g.figures, g.hidden),
            }
            for g in result.groups
        ],
    }
    if result.hidden:
        document.update(
            overall=None,
            elements=None,
            criteria=None,
            hidden=True,
            message=_(
                "Fewer than 5 ratings match these filters: they are not shown, "
                "so that nobody can be recognised."
            ),
        )
    elif not fig.responses:
        document["message"] = _("No data for this period.")
    return document
