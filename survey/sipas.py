"""The SIPAS index arithmetic (SIPAS.md §4) as pure functions over answer counts.

Every function takes counts (answer value -> number of answers) or results built from them; no
Flask, no SQL, no I/O. A key of None or 0 means "not applicable / skipped" and is left out of
every denominator. Indices are percentages 0..100, never rounded here: rounding is display.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Counts = Mapping[int, int]

SMALL_N = 30
"""Below this many valid answers a figure is greyed ("ít dữ liệu") and left out of rankings."""

COUNTER_MIN_N = 5
"""Below this many answers a counter (quầy) is not reported on its own [ours]."""

Z95 = 1.959963984540054
SCALE = range(1, 6)
EXPECTATION_SCALE = range(1, 5)


@dataclass(frozen=True)
class Proportion:
    """A share in percent with its number of valid answers and its 95% Wilson interval."""

    index: float | None
    n: int
    ci95: tuple[float, float] | None

    @property
    def small(self) -> bool:
        """Whether n is below SMALL_N, so the figure is greyed and not ranked."""
        return self.n < SMALL_N


@dataclass(frozen=True)
class Criterion(Proportion):
    """A criterion's index (share of 4 and 5) with its mean, dissatisfaction and distribution."""

    mean: float | None
    dissatisfaction: float | None
    distribution: dict[int, float]
    counts: dict[int, int]


def _wilson_share(share: float, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval, in percent, for an observed share 0..1 out of n."""
    if n <= 0:
        return None
    z2 = z * z
    denom = 1 + z2 / n
    centre = (share + z2 / (2 * n)) / denom
    half = z * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n)) / denom
    # Clamp float noise so that 0 of n starts at exactly 0 and n of n ends at exactly 100.
    low = max(0.0, centre - half) if share > 0 else 0.0
    high = min(1.0, centre + half) if share < 1 else 1.0
    return (100 * low, 100 * high)


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for successes out of n, in percent; None when n == 0."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return None
    return _wilson_share(successes / n, n, z)


def _valid(counts: Counts, scale: range) -> dict[int, int]:
    """The counts of each value on the scale; N/A (None or 0) dropped, anything else refused."""
    valid = dict.fromkeys(scale, 0)
    for value, count in counts.items():
        if value is None or value == 0:
            continue
        if value not in scale:
            raise ValueError(f"answer value {value!r} is outside {scale.start}..{scale.stop - 1}")
        if count < 0:
            raise ValueError(f"negative count {count!r} for answer value {value!r}")
        valid[int(value)] += count
    return valid


def _share(part: int, n: int) -> float | None:
    """part of n in percent, None when n == 0."""
    return 100 * part / n if n else None


def proportion(successes: int, n: int) -> Proportion:
    """A Proportion of successes out of n valid answers."""
    interval = wilson(successes, n)
    return Proportion(index=_share(successes, n), n=n, ci95=interval)


def criterion(counts: Counts) -> Criterion:
    """P_c, M_c, D_c and the distribution of one criterion; satisfied means 4 or 5."""
    valid = _valid(counts, SCALE)
    n = sum(valid.values())
    satisfied = valid[4] + valid[5]
    total = sum(value * count for value, count in valid.items())
    return Criterion(
        index=_share(satisfied, n),
        n=n,
        ci95=wilson(satisfied, n),
        mean=total / n if n else None,
        dissatisfaction=_share(valid[1] + valid[2], n),
        distribution={value: _share(count, n) or 0.0 for value, count in valid.items()},
        counts=valid,
    )


def criterion_share(counts: Counts) -> Proportion:
    """P_c and its n only, without the interval: all that elements and the overall index use."""
    valid = _valid(counts, SCALE)
    return satisfied_share(valid[4] + valid[5], sum(valid.values()))


def satisfied_share(satisfied: int, n: int) -> Proportion:
    """P_c of `satisfied` (4 or 5) among `n` valid answers, without the interval."""
    return Proportion(index=_share(satisfied, n), n=n, ci95=None)


def mean_of(values: Iterable[float | None]) -> float | None:
    """Mean of the values that are not None; None when there are none."""
    present = [value for value in values if value is not None]
    return sum(present) / len(present) if present else None


def _composite(parts: Sequence[Proportion]) -> Proportion:
    """Mean of the indices of the parts that have answers, with an approximate n and interval.

    n is the largest part's n, an approximation of the number of respondents. The interval
    is the Wilson interval of the exact (fractional) share index/100 out of that n, not of a
    rounded count, so it always contains the index; being built on an approximate n it is
    itself an approximation [ours].
    """
    answered = [part for part in parts if part.n > 0 and part.index is not None]
    index = mean_of(part.index for part in answered)
    n = max((part.n for part in answered), default=0)
    interval = _wilson_share(index / 100, n) if index is not None else None
    return Proportion(index=index, n=n, ci95=interval)


def element(criteria: Sequence[Criterion]) -> Proportion:
    """P_e: mean of the indices of the element's criteria that have at least one valid answer."""
    return _composite(criteria)


def overall(elements: Sequence[Proportion]) -> Proportion:
    """P: mean of the element indices (not of the criteria) over elements with answers."""
    return _composite(elements)


def overall_question(counts: Counts) -> Proportion:
    """P_OV: share of 4 and 5 among valid answers to the overall question."""
    valid = _valid(counts, SCALE)
    return proportion(valid[4] + valid[5], sum(valid.values()))


def expectation_share(counts: Counts) -> Proportion:
    """Share answering 3 or 4 on the 4-level expectation scale (valid answers 1..4)."""
    valid = _valid(counts, EXPECTATION_SCALE)
    return proportion(valid[3] + valid[4], sum(valid.values()))


def differs(a: Proportion, b: Proportion) -> bool | None:
    """Whether the two 95% intervals do not overlap; None when either has no data."""
    if a.ci95 is None or b.ci95 is None:
        return None
    return a.ci95[1] < b.ci95[0] or b.ci95[1] < a.ci95[0]
