"""A synthetic province for demo data: where ratings come from, for what, and when.

An Giang after the 2025 merger: one provincial centre, ward centres and commune service points.
`add_points` adds demo commune points to the bundled catalogue; `Province.load` reads units,
counters and services and decides, stably per code, which services each unit handles, at which
counter, how popular they are and how well they are done. `Calendar` spreads ratings over the
opening hours (local time) of the two years before a moment.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from survey.extensions import db
from survey.models import Counter, Service, Unit

POINT_PREFIX = "DEMO-XA-"
COMMUNE_AGENCIES = {"UBNDXA", "CAXA"}  # procedures a commune handles itself
# Lunar New Year's day: offices close for the holiday and are quiet around it.
TET = {
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
}
HOLIDAYS = {(1, 1), (4, 30), (5, 1), (9, 1), (9, 2)}
MORNING = (7 * 3600, 11 * 3600 + 1800)  # 7:00–11:30, local time
AFTERNOON = (13 * 3600 + 1800, 17 * 3600)  # 13:30–17:00
DAYS = 730


def add_points(count: int) -> dict[str, int]:
    """Make sure demo commune points 1..`count` exist (1–3 counters each).

    Returns the codes of the points added with how many counters each has."""
    top = db.session.scalar(select(Unit).where(Unit.parent_id.is_(None)).order_by(Unit.id))
    have = set(db.session.scalars(select(Unit.code).where(Unit.code.startswith(POINT_PREFIX))))
    added: dict[str, int] = {}
    for number in range(1, count + 1):
        code = f"{POINT_PREFIX}{number:03d}"
        if code in have:
            continue
        unit = Unit(
            code=code,
            parent=top,
            name_vi=f"Điểm phục vụ xã mẫu {number:03d} (dữ liệu demo)",
            name_en=f"Demo commune service point {number:03d}",
            name_km="",
        )
        for q in range(1, random.Random(code).randint(1, 3) + 1):
            unit.counters.append(
                Counter(code=f"{code}-Q{q:02d}", name_vi=f"Quầy {q}", name_en=f"Counter {q}")
            )
        db.session.add(unit)
        added[code] = len(unit.counters)
    db.session.commit()
    return added


def describe(added: dict[str, int]) -> str:
    """What `add_points` added, in a line."""
    codes = list(added)
    return (
        f"Added {len(codes)} demo commune service points ({codes[0]}…{codes[-1]}) "
        f"with {sum(added.values())} counters."
    )


@dataclass
class Place:
    """A unit as a source of ratings: its services, their counters and their weights."""

    id: int
    code: str
    weight: float
    saturday: bool
    khmer: float  # share of ratings given in Khmer
    quality: float  # how much better or worse than the province this unit does
    services: list[int] = field(default_factory=list)
    cum_weights: list[float] = field(default_factory=list)
    counters: dict[int, list[int]] = field(default_factory=dict)

    def pick(self, rng: random.Random) -> tuple[int, int | None]:
        """A service this unit handles, by popularity, and the counter that handled it."""
        i = bisect.bisect(self.cum_weights, rng.random() * self.cum_weights[-1])
        service = self.services[min(i, len(self.services) - 1)]
        desks = self.counters.get(service)
        return service, (rng.choice(desks) if desks else None)


@dataclass
class Province:
    places: list[Place]
    cum_weights: list[float]
    quality: dict[int, float]  # latent satisfaction (0..1) per service

    @classmethod
    def load(cls) -> Province:
        """Read the catalogue and decide the province's shape, stably per unit and service code."""
        services = list(
            db.session.scalars(select(Service).filter_by(active=True).order_by(Service.id))
        )
        popularity = {s.id: 1 / (rank + 1) ** 0.9 for rank, s in enumerate(services)}
        commune = [s for s in services if s.agency.code in COMMUNE_AGENCIES]
        provincial = [s for s in services if s.agency.code not in COMMUNE_AGENCIES]
        quality = {s.id: random.Random(s.code).uniform(0.62, 0.9) for s in services}
        desks: dict[int, list[int]] = {}
        for counter in db.session.scalars(select(Counter).order_by(Counter.id)):
            desks.setdefault(counter.unit_id, []).append(counter.id)
        units = list(db.session.scalars(select(Unit).order_by(Unit.id)))
        places = [_place(u, commune, provincial, popularity, desks.get(u.id, [])) for u in units]
        places = [p for p in places if p.services]
        others = sum(p.weight for p in places if p.code != units[0].code)
        for p in places:  # the provincial centre takes about a seventh of all visits
            if units and p.code == units[0].code and units[0].parent_id is None:
                p.weight = max(p.weight, others * 0.15 / 0.85)
        return cls(places, list(itertools.accumulate(p.weight for p in places)), quality)

    def pick(self, rng: random.Random) -> Place:
        """A unit, by how busy it is."""
        i = bisect.bisect(self.cum_weights, rng.random() * self.cum_weights[-1])
        return self.places[min(i, len(self.places) - 1)]


def _place(unit: Unit, commune, provincial, popularity, desks: list[int]) -> Place:
    rng = random.Random(unit.code)
    if unit.parent_id is None:  # the provincial centre: the provinces' own procedures
        kind, chosen, weight = "centre", list(provincial), 3.0
    elif unit.code.startswith(POINT_PREFIX):  # a commune point: most commune procedures
        kind = "point"
        chosen = [s for s in commune if rng.random() < 0.75]
        chosen += [s for s in provincial if rng.random() < 0.08]
        weight = rng.uniform(0.3, 1.0)
    else:  # a ward centre: every commune procedure and some provincial ones received there
        kind = "ward"
        chosen = list(commune) + [s for s in provincial if rng.random() < 0.4]
        weight = rng.uniform(0.9, 1.6)
    place = Place(
        unit.id,
        unit.code,
        weight,
        saturday=kind != "point" or rng.random() < 0.25,
        khmer=0.2 if unit.code in ("AG-TRITON", "AG-TINHBIEN") else 0.05,
        quality=rng.gauss(0, 0.04),
    )
    place.services = [s.id for s in chosen]
    place.cum_weights = list(itertools.accumulate(popularity[s.id] for s in chosen))
    if desks:
        for s in chosen:  # each procedure at one counter, sometimes two
            first = rng.randrange(len(desks))
            two = len(desks) > 1 and rng.random() < 0.25
            place.counters[s.id] = [desks[first]] + ([desks[first - 1]] if two else [])
    return place


def _season(day: date) -> float:
    tet = TET.get(day.year)
    if tet is not None:
        offset = (day - tet).days
        if -2 <= offset <= 4:
            return 0.0  # the Tết holiday
        if -14 <= offset < -2:
            return 1.3  # papers put in order before Tết
        if 4 < offset <= 12:
            return 0.5  # slow return after it
    return {11: 1.1, 12: 1.3}.get(day.month, 1.0)


class Calendar:
    """Opening days of the `DAYS` days before `now` (local time) with their weights."""

    def __init__(self, now: datetime, timezone: str):
        zone = ZoneInfo(timezone)
        today = now.astimezone(zone).date()
        self.days = [today - timedelta(days=back) for back in range(DAYS, 0, -1)]
        self.starts = [  # each day's local midnight, in UTC
            datetime(d.year, d.month, d.day, tzinfo=zone).astimezone(UTC) for d in self.days
        ]
        base = [
            _season(d) * (0.8 + 0.2 * i / DAYS) * ((d.month, d.day) not in HOLIDAYS)
            for i, d in enumerate(self.days)
        ]
        week = {0: 1.15, 1: 1.0, 2: 1.0, 3: 1.0, 4: 0.9, 5: 0.35, 6: 0.0}
        self.cum = {
            saturday: list(
                itertools.accumulate(
                    w * week[d.weekday()] * (saturday or d.weekday() != 5)
                    for w, d in zip(base, self.days, strict=True)
                )
            )
            for saturday in (False, True)
        }

    def pick(self, rng: random.Random, saturday: bool) -> tuple[datetime, float]:
        """A moment within opening hours, in UTC, and how far through the two years it is (0..1)."""
        cum = self.cum[saturday]
        i = min(bisect.bisect(cum, rng.random() * cum[-1]), len(cum) - 1)
        half = MORNING if self.days[i].weekday() == 5 or rng.random() < 0.6 else AFTERNOON
        second = rng.randrange(*half)
        return self.starts[i] + timedelta(seconds=second), i / DAYS
