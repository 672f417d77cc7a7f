"""Which units a user may see: admins all; managers and viewers their units and those below."""

from __future__ import annotations

from sqlalchemy import select

from survey.extensions import db
from survey.models import Unit, User


def with_descendants(unit_ids: list[int]) -> set[int]:
    """The units `unit_ids` and every unit below them."""
    children: dict[int | None, list[int]] = {}
    for unit_id, parent_id in db.session.execute(select(Unit.id, Unit.parent_id)):
        children.setdefault(parent_id, []).append(unit_id)
    seen: set[int] = set()
    stack = list(unit_ids)
    while stack:
        unit_id = stack.pop()
        if unit_id not in seen:
            seen.add(unit_id)
            stack.extend(children.get(unit_id, []))
    return seen


def visible_unit_ids(user: User) -> set[int] | None:
    """The ids of the units `user` may see, or None for every unit."""
    if user.role == "admin":
        return None
    return with_descendants([unit.id for unit in user.units])


def can_see(user: User, unit_id: int) -> bool:
    """Whether `user` may see figures of the unit `unit_id`."""
    visible = visible_unit_ids(user)
    return visible is None or unit_id in visible
