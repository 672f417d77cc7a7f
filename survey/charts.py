"""Server-rendered SVG charts: geometry computed here, drawn by the templates."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 40
FLOOR = 50.0  # the y axis runs from 50% to 100%: SIPAS figures live there


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    value: float | None
    n: int
    small: bool


@dataclass(frozen=True)
class TrendChart:
    width: int
    height: int
    points: list[Point]
    path: str
    reference_y: float
    reference_label: str
    reference_value: float
    grid: list[tuple[float, int]]


def _y(value: float) -> float:
    share = (max(min(value, 100.0), FLOOR) - FLOOR) / (100.0 - FLOOR)
    return round(TOP + (1 - share) * (HEIGHT - TOP - BOTTOM), 1)


def trend(groups, reference: tuple[int, float]) -> TrendChart:
    """A monthly line of the overall index with the national reference line."""
    step = (WIDTH - LEFT - RIGHT) / max(len(groups) - 1, 1)
    points = [
        Point(
            round(LEFT + i * step, 1),
            _y(g.figures.overall.index) if g.figures.overall.index is not None else 0,
            g.label,
            g.figures.overall.index,
            g.figures.overall.n,
            g.figures.overall.small,
        )
        for i, g in enumerate(groups)
    ]
    drawn = [p for p in points if p.value is not None]
    path = " ".join(f"{'M' if i == 0 else 'L'}{p.x},{p.y}" for i, p in enumerate(drawn))
    year, value = reference
    return TrendChart(
        WIDTH,
        HEIGHT,
        points,
        path,
        _y(value),
        str(year),
        value,
        [(_y(v), v) for v in (50, 60, 70, 80, 90, 100)],
    )
