"""Versioned questionnaires: data files, their validation, and the active version.

A stored version never changes (install keeps a code's first definition and refuses another
one), so each worker reads a version's definition once and keeps it, frozen, in the app: every
page of the survey and every dashboard shares that one read-only copy. Which version is active
is asked of the database on every call (one small query), so a version activated by another
worker or server is served at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any

from flask import current_app
from sqlalchemy import select

from survey.config import LOCALES
from survey.extensions import db
from survey.models import ROLLUP_ITEMS, QuestionnaireVersion

DEFAULT_CODE = "sipas-2024"
DATA_DIR = Path(__file__).resolve().parent


class QuestionnaireError(ValueError):
    """A questionnaire file that cannot be used; the message says where and why."""


def _check_label(label: Any, where: str) -> None:
    if not isinstance(label, dict):
        raise QuestionnaireError(f"{where}: the label must be an object with {', '.join(LOCALES)}")
    for locale in LOCALES:
        if not isinstance(label.get(locale), str) or not label[locale].strip():
            raise QuestionnaireError(f"{where}: the label has no text in '{locale}'")


def _check_scale(scale: Any, where: str, size: int) -> None:
    if not isinstance(scale, list) or [s.get("value") for s in scale] != list(range(1, size + 1)):
        raise QuestionnaireError(f"{where}: the scale must list the values 1 to {size} in order")
    for level in scale:
        _check_label(level.get("label"), f"{where} {level['value']}")
        if "short" in level:  # optional: the words a compact row of choices shows
            _check_label(level["short"], f"{where} {level['value']} short")


def _check_size(data: dict[str, Any]) -> None:
    """The rollups hold answer counts for ROLLUP_ITEMS scored questions per version."""
    criteria = sum(len(e["criteria"]) for e in data["elements"])
    scored = 1 + criteria + len(data["expectations"])
    if scored > ROLLUP_ITEMS:
        raise QuestionnaireError(
            f"{scored} scored questions, the overall question, {criteria} criteria and "
            f"{len(data['expectations'])} expectations: at most {ROLLUP_ITEMS}"
        )


def validate(data: Any) -> None:
    """Raise QuestionnaireError unless `data` is a complete questionnaire definition."""
    if not isinstance(data, dict):
        raise QuestionnaireError("the file must hold one JSON object")
    for key in (
        "code",
        "title",
        "scale",
        "not_applicable",
        "overall",
        "elements",
        "expectation_scale",
        "expectations_question",
        "expectations",
        "profile",
    ):
        if key not in data:
            raise QuestionnaireError(f"missing section '{key}'")
    for key in ("title", "not_applicable", "expectations_question"):
        _check_label(data[key], key)
    _check_scale(data["scale"], "scale", 5)
    _check_scale(data["expectation_scale"], "expectation_scale", 4)
    seen: set[str] = set()

    def item(entry: Any, where: str) -> None:
        code = entry.get("code") if isinstance(entry, dict) else None
        if not isinstance(code, str) or not code:
            raise QuestionnaireError(f"{where}: an item has no code")
        if code in seen:
            raise QuestionnaireError(f"{where}: the code '{code}' is used twice")
        seen.add(code)
        _check_label(entry.get("label"), f"{where} {code}")

    item(data["overall"], "overall")
    if not data["elements"]:
        raise QuestionnaireError("elements: there must be at least one element")
    for element in data["elements"]:
        item(element, "elements")
        _check_label(element.get("question"), f"elements {element['code']} question")
        if not element.get("criteria"):
            raise QuestionnaireError(f"elements {element['code']}: no criteria")
        for criterion in element["criteria"]:
            item(criterion, f"elements {element['code']}")
    for expectation in data["expectations"]:
        item(expectation, "expectations")
    _check_size(data)
    for field in data["profile"]:
        item(field, "profile")
        for option in field.get("options") or []:
            _check_label(option.get("label"), f"profile {field['code']} {option.get('code')}")


def load_file(path: str | Path) -> dict[str, Any]:
    """Read and validate a questionnaire file; raise QuestionnaireError with the reason."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise QuestionnaireError(f"{path}: cannot be read ({exc})") from exc
    except json.JSONDecodeError as exc:
        raise QuestionnaireError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    try:
        validate(data)
    except QuestionnaireError as exc:
        raise QuestionnaireError(f"{path}: {exc}") from exc
    return data


def freeze(value: Any) -> Any:
    """A read-only copy of JSON data: objects become mappings nobody can change, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value


@dataclass(frozen=True)
class Questionnaire:
    """Read-only view of a stored questionnaire version (`data` is frozen: see freeze)."""

    id: int
    code: str
    data: Mapping[str, Any]

    @property
    def elements(self) -> Sequence[Mapping[str, Any]]:
        return self.data["elements"]

    @cached_property
    def criteria(self) -> Mapping[str, str]:
        """Criterion code -> element code, in questionnaire order."""
        return MappingProxyType(
            {c["code"]: e["code"] for e in self.elements for c in e["criteria"]}
        )

    @property
    def expectation_codes(self) -> list[str]:
        """The expectation codes, in order (a list of the caller's own)."""
        return [e["code"] for e in self.data["expectations"]]

    @property
    def overall_code(self) -> str:
        return self.data["overall"]["code"]

    def element(self, code: str) -> Mapping[str, Any] | None:
        """Return the element with `code`, or None."""
        return next((e for e in self.elements if e["code"].lower() == code.lower()), None)


def label(entry: Mapping[str, Any], locale: str) -> str:
    """Return the text of a label object (or an entry's label) in `locale`."""
    text = entry.get("label", entry)
    return text.get(locale) or text["vi"]


def wording_removed(data: Any) -> Any:
    """`data` without its wording: every label object (one text per language) left out, so
    that two versions compare by their codes, scales and order alone."""
    if isinstance(data, Mapping):
        if data and set(data) <= set(LOCALES):
            return None
        return {key: wording_removed(item) for key, item in data.items()}
    if isinstance(data, list | tuple):
        return [wording_removed(item) for item in data]
    return data


def install(data: dict[str, Any], *, activate: bool = True) -> QuestionnaireVersion:
    """Store a validated questionnaire version (once) and make it the active one.

    The codes, scales and items of a stored version never change (the same code with other
    ones is refused: a new content takes a new code), so that answers keep meaning what was
    asked. Its wording may be corrected in place (DESIGN.md §3): answers are stored as codes,
    so no figure changes. Workers that have read the old wording show it until restarted.
    """
    validate(data)
    version = db.session.scalar(
        select(QuestionnaireVersion).filter_by(code=data["code"])
    ) or QuestionnaireVersion(code=data["code"], definition=data)
    if wording_removed(version.definition) != wording_removed(data):
        raise QuestionnaireError(
            f"the version '{data['code']}' is stored already with other questions or scales: "
            "give the new content a code of its own"
        )
    if version.definition != data:
        version.definition = data  # a wording correction, in place
        _kept().pop(version.id, None)
    db.session.add(version)
    if activate:
        for other in db.session.scalars(select(QuestionnaireVersion).filter_by(active=True)):
            other.active = False
        version.active = True
    db.session.commit()
    return version


def ensure_default() -> QuestionnaireVersion:
    """Install the bundled default questionnaire when no version is active; when it is the
    active one, bring its wording up to the bundled file's (its corrections)."""
    current = db.session.scalar(select(QuestionnaireVersion).filter_by(active=True))
    if current is None or current.code == DEFAULT_CODE:
        return install(load_file(DATA_DIR / f"{DEFAULT_CODE}.json"))
    return current


_ACTIVE = select(QuestionnaireVersion.id, QuestionnaireVersion.code).filter_by(active=True)
# The same as columns another statement can carry (the question page reads them with its
# service, so that the page takes one statement): see version().
ACTIVE_ID = _ACTIVE.with_only_columns(QuestionnaireVersion.id).limit(1).scalar_subquery()
ACTIVE_CODE = _ACTIVE.with_only_columns(QuestionnaireVersion.code).limit(1).scalar_subquery()


def _kept() -> dict[int, Questionnaire]:
    """This app's versions read so far, by id: kept in the app, whose one database numbers
    them (two apps in one process, as in the tests, never share a version)."""
    return current_app.extensions.setdefault("survey.questionnaires", {})


def _read(version_id: int) -> Questionnaire:
    version = db.session.get_one(QuestionnaireVersion, version_id)
    found = Questionnaire(version.id, version.code, freeze(version.definition))
    _kept()[found.id] = found
    return found


def active() -> Questionnaire | None:
    """Return the active questionnaire version, or None before setup.

    Which one is active is read every time (another worker may have switched it); its
    definition only the first time.
    """
    row = db.session.execute(_ACTIVE).first()
    return version(row.id, row.code) if row else None


def version(version_id: int | None, code: str | None) -> Questionnaire | None:
    """The version `version_id` (None: no version), its definition read once per app."""
    if version_id is None:
        return None
    kept = _kept().get(version_id)
    # A restored database is served by restarted workers (docs/OPERATIONS.md); should one
    # number its versions otherwise, the code tells.
    return kept if kept is not None and kept.code == code else _read(version_id)


def by_id(version_id: int) -> Questionnaire:
    """Return the questionnaire a response answered (read from the database once)."""
    return _kept().get(version_id) or _read(version_id)


def localized(q: Questionnaire, locale: str) -> dict[str, Any]:
    """The questionnaire as the API shows it: every label in `locale` only."""
    data = q.data

    def entries(items: Sequence[Mapping[str, Any]], key: str = "code") -> list[dict[str, Any]]:
        return [{key: item[key], "label": label(item, locale)} for item in items]

    return {
        "code": q.code,
        "locale": locale,
        "title": label(data["title"], locale),
        "scale": entries(data["scale"], "value"),
        "not_applicable": label(data["not_applicable"], locale),
        "overall": {"code": data["overall"]["code"], "label": label(data["overall"], locale)},
        "elements": [
            {
                "code": e["code"],
                "label": label(e, locale),
                "question": label(e["question"], locale),
                "criteria": entries(e["criteria"]),
            }
            for e in q.elements
        ],
        "expectation_scale": entries(data["expectation_scale"], "value"),
        "expectations": entries(data["expectations"]),
        "profile": [
            {
                "code": f["code"],
                "label": label(f, locale),
                "options": entries(f.get("options") or []),
            }
            for f in data["profile"]
        ],
    }
