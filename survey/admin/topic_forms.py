"""Forms of the topic pages: the dashboard filter with a topic, a comment's topics, the lexicon."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import Length

from survey.filters import SummaryFilterForm
from survey.forms import choices
from survey.i18n import lazy_text as _l
from survey.topics import LABELS, TOPICS

TOPIC_CHOICES = [(topic, LABELS[topic]) for topic in TOPICS]  # (value, label) pairs


class DashboardFilterForm(SummaryFilterForm):
    """The dashboard's filters, and the topic its list of comments is about (blank: any)."""

    topic = SelectField(
        _l("Topic of the comments"),
        choices=choices([("", _l("All")), *TOPIC_CHOICES]),
        validate_choice=False,
        id="f-topic",
    )

    @property
    def chosen_topic(self) -> str | None:
        """The topic asked for, None for an unknown one or none."""
        return self.topic.data if self.topic.data in TOPICS else None

    def link_args(self) -> dict[str, str]:
        """The query parameters a dashboard link keeps, the topic with them."""
        kept = super().link_args()
        return {**kept, "topic": self.chosen_topic} if self.chosen_topic else kept


class CommentTopicsForm(FlaskForm):
    """A manager's choice of a comment's topics (none checked: about none of them)."""

    topics = SelectMultipleField(_l("Topics"), choices=choices(TOPIC_CHOICES))
    next = HiddenField()


class LexiconForm(FlaskForm):
    """The phrases of every topic, one a line; a topic left blank goes back to the file's."""

    @classmethod
    def build(cls, current: dict[str, list[str]]) -> LexiconForm:
        """The form with one text area per topic, filled with `current` on a GET."""

        class Filled(cls):
            pass

        for topic in TOPICS:
            field = TextAreaField(LABELS[topic], validators=[Length(max=20_000)], id=f"t-{topic}")
            setattr(Filled, topic, field)
        return Filled(data={t: "\n".join(current.get(t, [])) for t in TOPICS})
