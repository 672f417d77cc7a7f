"""Server-rendered SVG charts: geometry computed here, drawn by the templates."""

from __future__ import annotations

from dataclasses import dataclass

from survey import sipas
from survey.dashboard import Dashboard

WIDTH, HEIGHT = 640, 276
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 56  # under the plot: the months, then each month's n
FLOOR = 50.0  # the y axis runs from 50% to 100%: SIPAS figures live there
MAX_TICKS = 13  # month labels under the axis; past that, every second (third…) one
DOT = {False: (5, "#0b5394"), True: (3, "#8a8a8a")}  # (radius, colour); True: fewer than 30
SCALE = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: float | None
    n: int
    small: bool
    radius: int
    fill: str
    tick: str | None  # the month under the axis (and its n under it), when there is room


@dataclass(frozen=True)
class Bar:
    """One answer value's share of a criterion, as a slice of a 100-wide bar."""

    value: int
    x: float
    width: float


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    left: int
    right: int
    tick_y: int
    n_y: int  # the row of each month's n, under the months
    points: list[Point]
    path: str
    reference_y: float
    reference_label: str
    reference_value: float
    grid: list[tuple[float, int]]
    target_y: float | None = None  # the centre's target (SURVEY_TARGET), when one is set
    target_value: float | None = None


def _y(value: float) -> float:
    share = (max(min(value, 100.0), FLOOR) - FLOOR) / (100.0 - FLOOR)
    return round(TOP + (1 - share) * (HEIGHT - TOP - BOTTOM), 1)


def trend(groups, reference: tuple[int, float], target: float | None = None) -> TrendChart:
    """A monthly line of the overall index and each month's n, with the national reference
    line and, when `target` (a percent) is set, the target line."""
    step = (WIDTH - LEFT - RIGHT) / max(len(groups) - 1, 1)
    every = len(groups) // MAX_TICKS + 1
    points = [
        Point(
            round(LEFT + i * step, 1),
            _y(g.figures.overall.index) if g.figures.overall.index is not None else 0,
            g.label,
            g.figures.overall.index,
            g.figures.overall.n,
            g.figures.overall.small,
            *DOT[g.figures.overall.small],
            g.label[:3] + g.label[-2:] if i % every == 0 else None,
        )
        for i, g in enumerate(groups)
    ]
    drawn = [p for p in points if p.value is not None]
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(drawn))
    year, value = reference
    return TrendChart(
        WIDTH,
        HEIGHT,
        LEFT,
        WIDTH - RIGHT,
        HEIGHT - 30,
        HEIGHT - 10,
        points,
        path,
        _y(value),
        str(year),
        value,
        [(_y(v), v) for v in (50, 60, 70, 80, 90, 100)],
        None if target is None else _y(target),
        target,
    )


def distribution(criterion: sipas.Criterion) -> list[Bar]:
    """The answers 1 to 5 of a criterion side by side in one bar (none without answers)."""
    if not criterion.n:
        return []
    bars, x = [], 0
    for value in SCALE:
        bars.append(Bar(value, x, criterion.distribution[value]))
        x = x + criterion.distribution[value]
    return bars


@dataclass(frozen=True)
class DashboardCharts:
    trend: TrendChart
    distributions: dict[str, list[Bar]]  # per criterion code


def dashboard(
    board: Dashboard, reference: tuple[int, float], target: float | None = None
) -> DashboardCharts:
    """The charts of a dashboard.Dashboard: its monthly trend (with the target line when
    `target` is set) and each criterion's answers."""
    criteria = board.summary.figures.criteria
    return DashboardCharts(
        trend(board.trend, reference, target),
        {code: distribution(c) for code, c in criteria.items()},
    )
