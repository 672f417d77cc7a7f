"""The pages of the detailed survey: their order, what each asks, and what each shows.

What a page shows is worked out here, in its language, as frozen dataclasses (StepPage), so
that the templates only display: the "Step n of total" position, the page before, the
heading, the questions with the answer shown as chosen, and the scale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from survey import questionnaire
from survey.models import Response
from survey.questionnaire import Questionnaire


def order(q: Questionnaire) -> list[str]:
    """The pages after the overall question, in order."""
    return [e["code"].lower() for e in q.elements] + ["expectations", "comment"]


def items(q: Questionnaire, step: str) -> list[str]:
    """The item codes a page of the detailed survey asks."""
    if step == "expectations":
        return q.expectation_codes
    if step == "comment":
        return []
    return [c["code"] for c in q.element(step)["criteria"]]


# What a page of the detailed survey takes, read and answered one compact row at a time: a
# criterion is a sentence of about 12 words to read, then a choice to find and tap. Rounded up,
# so that the time the start page promises holds for a slow reader too.
SECONDS_PER_QUESTION = 8


@dataclass(frozen=True)
class Detail:
    """What the detailed survey asks of a citizen: its number of questions (every criterion
    and every expectation) and the minutes they take, rounded up."""

    questions: int
    minutes: int


def detail(q: Questionnaire) -> Detail:
    """The size of `q`'s detailed survey, as the start pages state it."""
    questions = len(q.criteria) + len(q.expectation_codes)
    return Detail(questions, -(-questions * SECONDS_PER_QUESTION // 60))


@dataclass(frozen=True)
class Option:
    """One answer of a scale, as a radio button; `short`: its words where space is short
    (the same as `label` unless the questionnaire gives a short form)."""

    value: Any
    label: str
    short: str = ""


@dataclass(frozen=True)
class Question:
    """One question of a page: its code, its text and the answer shown as chosen."""

    code: str
    label: str
    value: Any


@dataclass(frozen=True)
class StepPage:
    """What a page shows: "Step n of total" (the overall question is step 1), the page before
    (None: the "more" page), its heading and lead, its questions and their scale."""

    step: str
    position: int
    total: int
    back_step: str | None
    heading: str
    lead: str | None
    questions: tuple[Question, ...]
    scale: tuple[Option, ...]
    not_applicable: str | None
    colours: bool

    @property
    def labels(self) -> dict[str, str]:
        """Item code -> its text, for the error summary."""
        return {question.code: question.label for question in self.questions}


def _scale(q: Questionnaire, key: str, locale: str) -> tuple[Option, ...]:
    """A scale from its best answer down, in `locale`."""
    return tuple(
        Option(
            level["value"],
            questionnaire.label(level, locale),
            questionnaire.label(level.get("short") or level["label"], locale),
        )
        for level in reversed(q.data[key])
    )


def overall_page(q: Questionnaire, *, locale: str, posted: Mapping[str, Any] | None) -> StepPage:
    """The overall question's page, with the posted answer chosen again after an error."""
    label = questionnaire.label(q.data["overall"], locale)
    question = Question(q.overall_code, label, (posted or {}).get(q.overall_code))
    return StepPage(
        step="ov",
        position=1,
        total=len(order(q)) + 1,
        back_step=None,
        heading=label,
        lead=None,
        questions=(question,),
        scale=_scale(q, "scale", locale),
        not_applicable=None,
        colours=True,
    )


def step_page(
    response: Response, step: str, *, locale: str, posted: Mapping[str, Any] | None = None
) -> StepPage:
    """A page of the detailed survey, with the stored answers (and, after an error, the posted
    ones) chosen; a criterion once answered "not applicable" shows that choice."""
    q = questionnaire.by_id(response.questionnaire_id)
    pages = order(q)
    index = pages.index(step)
    values = {a.item: a.value for a in response.answers} | dict(posted or {})
    expectations = step == "expectations"
    if expectations:
        heading, lead = questionnaire.label(q.data["expectations_question"], locale), None
        entries, scale = q.data["expectations"], _scale(q, "expectation_scale", locale)
    elif step == "comment":
        heading, lead, entries, scale = "", None, [], ()
    else:
        element = q.element(step)
        heading = questionnaire.label(element["question"], locale)
        lead = questionnaire.label(element, locale)
        entries, scale = element["criteria"], _scale(q, "scale", locale)
    questions = tuple(
        Question(c["code"], questionnaire.label(c, locale), _shown(values, c["code"], expectations))
        for c in entries
    )
    na = None if expectations else questionnaire.label(q.data["not_applicable"], locale)
    return StepPage(
        step=step,
        position=index + 2,
        total=len(pages) + 1,
        back_step=pages[index - 1] if index else None,
        heading=heading,
        lead=lead,
        questions=questions,
        scale=scale,
        not_applicable=na,
        colours=not expectations,
    )


@dataclass(frozen=True)
class ProfileQuestion:
    """One profile item: its code, its text, its options and the option shown as chosen."""

    code: str
    label: str
    options: tuple[Option, ...]
    value: str | None


def profile_questions(
    q: Questionnaire, *, locale: str, chosen: Mapping[str, Any] | None
) -> tuple[ProfileQuestion, ...]:
    """The questionnaire's respondent profile items, in `locale`, the `chosen` options checked."""
    chosen = chosen or {}
    return tuple(
        ProfileQuestion(
            entry["code"],
            questionnaire.label(entry, locale),
            tuple(Option(o["code"], questionnaire.label(o, locale)) for o in entry["options"]),
            chosen.get(entry["code"]),
        )
        for entry in q.data.get("profile") or []
    )


def _shown(values: Mapping[str, Any], code: str, expectations: bool) -> Any:
    """The answer shown as chosen: the value, "na" for a criterion answered not applicable."""
    value = values.get(code)
    if value is not None:
        return value
    return "na" if code in values and not expectations else None
