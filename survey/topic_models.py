"""What comments are about (survey/topics.py): each comment's topics, and the lexicon's overrides.

One module per feature beside the core data model (survey/models.py); imported by the topics
service, so the app always maps these tables (the dashboard imports it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from survey.extensions import db
from survey.models import UtcDateTime, utcnow

AUTO, MANUAL = "auto", "manual"  # tagged by the lexicon; chosen by a manager (kept for good)
NO_TOPIC = "none"  # the row of a comment that was tagged and is about none of the topics


class CommentTopic(db.Model):
    """One topic of one response's comment; a comment without any row is not tagged yet."""

    __tablename__ = "comment_topic"
    # The counts per topic join the responses from here; the list filtered by topic too.
    __table_args__ = (Index("ix_comment_topic_topic", "topic", "response_id"),)

    response_id: Mapped[int] = mapped_column(
        ForeignKey("response.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[str] = mapped_column(String(20), primary_key=True)
    source: Mapped[str] = mapped_column(String(6))
    tagged_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TopicKeywords(db.Model):
    """An administrator's phrases for a topic, replacing the lexicon file's (one a line)."""

    __tablename__ = "topic_keywords"

    topic: Mapped[str] = mapped_column(String(20), primary_key=True)
    phrases: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(254))
