"""The topic lexicon on 200 comments labelled by hand (tests/data/comment_topics.csv, committed
before the lexicon): at least 80% get exactly the hand-labelled set of topics."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from survey import topic_lexicon

DATA = Path(__file__).parent / "data" / "comment_topics.csv"
# 40 comments labelled after the lexicon was first tuned: 65% exact before they were used to
# extend it (tests/data/comment_topics.md); kept here as a second regression set.
LATER = Path(__file__).parent / "data" / "comment_topics_holdout.csv"
FLOOR = 0.80


def _labelled(path: Path = DATA) -> list[tuple[str, frozenset[str]]]:
    with path.open(encoding="utf-8") as handle:
        return [
            (row["comment"], frozenset(row["topics"].split())) for row in csv.DictReader(handle)
        ]


def test_the_labels_use_only_the_known_topics():
    rows = _labelled()
    assert len(rows) == 200
    assert set().union(*(topics for _, topics in rows)) == set(topic_lexicon.TOPICS)


@pytest.mark.parametrize("path", [DATA, LATER], ids=["labelled-200", "labelled-later-40"])
def test_at_least_80_percent_of_comments_get_exactly_their_topics(path):
    tagger = topic_lexicon.Tagger(topic_lexicon.load())
    rows = _labelled(path)
    misses = [
        (text, sorted(want), sorted(got)) for text, want in rows if (got := tagger(text)) != want
    ]
    accuracy = 1 - len(misses) / len(rows)
    print(f"exact topic sets: {accuracy:.1%} of {len(rows)}; misses:")
    for text, want, got in misses:
        print(f"  {text!r}: labelled {want}, tagged {got}")
    assert accuracy >= FLOOR


def test_matching_ignores_diacritics_case_and_short_forms_but_keeps_whole_words():
    tagger = topic_lexicon.Tagger(topic_lexicon.load())
    assert tagger("CHO LAU QUA") == tagger("Chờ lâu quá") == {"thoi_gian_cho"}
    assert tagger("cb ko nhiet tinh") == {"thai_do"}
    assert tagger("Phía trước cổng") == frozenset()  # "phi" is a whole word, not part of "phia"
    assert tagger("Phải ngồi chờ") == {"thoi_gian_cho"}
    assert tagger("Thêm ghế ngồi chờ") == {"co_so_vat_chat"}  # the longer phrase wins


def test_an_override_replaces_a_topics_phrases():
    lexicon = topic_lexicon.load(overrides={"phi_le_phi": ["tiền trà nước"]})
    assert topic_lexicon.tag("Lệ phí cao", lexicon) == frozenset()
    assert topic_lexicon.tag("Bị đòi tien tra nuoc", lexicon) == {"phi_le_phi"}
