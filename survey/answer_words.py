"""A stored response's answers in words: the questionnaire's labels in the reader's language.

Answers are stored as codes and levels (1–5, 1–4 for the expectations, NULL for not
applicable); a manager reviewing one rating reads the question and the chosen level as the
citizen saw them, from the version of the questionnaire the rating answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from survey import questionnaire
from survey.questionnaire import Questionnaire


@dataclass(frozen=True)
class Worded:
    """One answer as the manager reads it: the question's label and the chosen level's."""

    code: str
    question: str
    answer: str


def _wording(q: Questionnaire, locale: str) -> dict[str, tuple[str, dict[int, str]]]:
    """Item code -> (its label, its scale's labels by value) in `locale`, in questionnaire
    order: the overall question, the criteria, the expectations."""
    data, label = q.data, questionnaire.label
    scale = {s["value"]: label(s, locale) for s in data["scale"]}
    wanted = {s["value"]: label(s, locale) for s in data["expectation_scale"]}
    items = [(data["overall"], scale)]
    items += [(c, scale) for e in q.elements for c in e["criteria"]]
    items += [(x, wanted) for x in data["expectations"]]
    return {item["code"]: (label(item, locale), levels) for item, levels in items}


def worded(q: Questionnaire, answers: Mapping[str, int | None], locale: str) -> tuple[Worded, ...]:
    """A response's answers in words, in questionnaire order; an item the questionnaire does
    not know keeps its code and value."""
    words, none = _wording(q, locale), questionnaire.label(q.data["not_applicable"], locale)
    order = {code: i for i, code in enumerate(words)}
    found = []
    for code in sorted(answers, key=lambda c: (order.get(c, len(order)), c)):
        value = answers[code]
        question, levels = words.get(code, (code, {}))
        found.append(
            Worded(code, question, none if value is None else levels.get(value, str(value)))
        )
    return tuple(found)
