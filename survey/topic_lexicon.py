"""The topic lexicon: which topics a comment is about, by diacritics-insensitive phrases.

Pure functions, no Flask and no SQL, so the migration that tags existing comments and the
accuracy test use exactly what the app uses. The phrases live in survey/data/topics.toml;
administrators' overrides (survey.topics) replace a topic's phrases there.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TOPICS = (
    "thoi_gian_cho",
    "thai_do",
    "phi_le_phi",
    "ho_so_giay_to",
    "hen_tra_ket_qua",
    "co_so_vat_chat",
    "huong_dan",
    "truc_tuyen",
)
BITS = {topic: 1 << n for n, topic in enumerate(TOPICS)}  # a response's `topics` column
LANGUAGES = ("vi", "en", "km")
DEFAULT_FILE = Path(__file__).parent / "data" / "topics.toml"
IGNORE = ""  # the topic of [ignore] phrases: they hide shorter phrases and tag nothing
_WORD = re.compile(r"[\w\u1780-\u17ff\u19e0-\u19ff]+")  # Khmer signs are not \w
_LATIN = re.compile(r"[a-z0-9#]")


def fold(text: str) -> str:
    """Lower-case `text` without diacritics (as catalogue.fold), 'Chờ lâu' → 'cho lau'."""
    text = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return unicodedata.normalize("NFC", "".join(ch for ch in text if not unicodedata.combining(ch)))


def bits(topics: Iterable[str]) -> int:
    """The topics as the bits of a response's `topics` column (0: about none of them)."""
    return sum(BITS[topic] for topic in set(topics) if topic in BITS)


def topics_of_bits(value: int | None) -> list[str]:
    """The topics whose bits `value` holds, in TOPICS order."""
    return [topic for topic in TOPICS if value and value & BITS[topic]]


@dataclass(frozen=True)
class Lexicon:
    """Phrases per topic (as written), the abbreviations, and the compiled patterns."""

    phrases: Mapping[str, tuple[str, ...]]  # topic → phrases, every language together
    abbreviations: Mapping[str, str]
    ignored: tuple[str, ...] = ()

    def patterns(self) -> list[tuple[int, str, re.Pattern]]:
        """(length, topic, pattern) for every phrase, the longest first."""
        found = []
        for topic, phrases in [*self.phrases.items(), (IGNORE, self.ignored)]:
            for phrase in phrases:
                folded = " ".join(fold(phrase).split())
                if folded:
                    found.append((len(folded), topic, _compile(folded)))
        return sorted(found, key=lambda item: -item[0])


def _compile(folded: str) -> re.Pattern:
    """A phrase as a pattern: whole words for Latin script, anywhere for Khmer."""
    body = r"\s+".join(re.escape(word) for word in folded.split()).replace(r"\#", r"\d+")
    if _LATIN.search(folded):
        return re.compile(rf"(?<!\w){body}(?!\w)")
    return re.compile(body)


def read_file(path: Path = DEFAULT_FILE) -> dict:
    """The lexicon file as data: {"topics": {topic: {lang: [...]}}, "abbreviations", "ignore"}."""
    with path.open("rb") as handle:
        return tomllib.load(handle)


def load(data: dict | None = None, overrides: Mapping[str, Iterable[str]] | None = None) -> Lexicon:
    """The lexicon of the file's `data` (read when None), with `overrides` replacing the
    phrases of the topics they name."""
    data = data if data is not None else read_file()
    phrases = {
        topic: tuple(p for lang in LANGUAGES for p in data["topics"].get(topic, {}).get(lang, []))
        for topic in TOPICS
    }
    for topic, chosen in (overrides or {}).items():
        if topic in phrases:
            phrases[topic] = tuple(chosen)
    ignored = tuple(p for lang in LANGUAGES for p in data.get("ignore", {}).get(lang, []))
    return Lexicon(phrases, dict(data.get("abbreviations", {})), ignored)


def normalise(text: str, abbreviations: Mapping[str, str]) -> str:
    """`text` folded, its words joined by single spaces and its abbreviations written out."""
    words = _WORD.findall(fold(text))
    return " ".join(abbreviations.get(word, word) for word in words)


def tag(text: str, lexicon: Lexicon, patterns: list | None = None) -> frozenset[str]:
    """The topics `text` is about. Where found phrases overlap, the one that starts first
    wins, the longest of those: "ket qua tai" is "kết quả", not "quá tải"."""
    plain = normalise(text, lexicon.abbreviations)
    found = sorted(
        (match.start(), -(match.end() - match.start()), topic)
        for _length, topic, pattern in patterns or lexicon.patterns()
        for match in pattern.finditer(plain)
    )
    topics, free_from = set(), 0
    for start, negative_length, topic in found:
        if start >= free_from:
            free_from = start - negative_length
            topics.add(topic)
    return frozenset(topics - {IGNORE})


class Tagger:
    """A lexicon with its patterns compiled once, to tag many comments."""

    def __init__(self, lexicon: Lexicon):
        self.lexicon, self._patterns = lexicon, lexicon.patterns()

    def __call__(self, text: str) -> frozenset[str]:
        """The topics of `text`."""
        return tag(text, self.lexicon, self._patterns)
