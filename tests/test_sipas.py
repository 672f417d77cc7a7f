"""The SIPAS index arithmetic against hand-computed figures (SIPAS.md §4)."""

from __future__ import annotations

import pytest

from survey import sipas
from survey.sipas import Criterion, Proportion


def counts(*answers: int | None) -> dict[int | None, int]:
    """Answer counts from a list of single answers; None is a not-applicable answer."""
    result: dict[int | None, int] = {}
    for answer in answers:
        result[answer] = result.get(answer, 0) + 1
    return result


def test_worked_example():
    tc1 = sipas.criterion(counts(5, 4, 2))
    tc2 = sipas.criterion(counts(3, None, 4))
    tc3 = sipas.criterion(counts(4, 4, 4))
    assert tc1.index == pytest.approx(200 / 3)
    assert tc2.index == pytest.approx(50.0)
    assert tc3.index == pytest.approx(100.0)
    tc = sipas.element([tc1, tc2, tc3])
    assert tc.index == pytest.approx(72.22, abs=0.005)
    assert tc.index == pytest.approx((200 / 3 + 50 + 100) / 3)
    assert tc.n == 3


def test_not_applicable_excluded_from_denominators():
    with_na = sipas.criterion({5: 2, 1: 2, None: 6, 0: 4})
    assert with_na.n == 4
    assert with_na.index == pytest.approx(50.0)
    assert with_na.dissatisfaction == pytest.approx(50.0)
    assert with_na.mean == pytest.approx(3.0)
    assert with_na.distribution == pytest.approx({1: 50.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 50.0})
    assert with_na.counts == {1: 2, 2: 0, 3: 0, 4: 0, 5: 2}
    assert with_na.ci95 == pytest.approx(sipas.wilson(2, 4))
    assert sipas.overall_question({4: 1, None: 9}).index == pytest.approx(100.0)
    assert sipas.overall_question({4: 1, None: 9}).n == 1


def test_criterion_with_only_not_applicable_answers():
    empty = sipas.criterion({None: 3})
    assert empty == Criterion(
        index=None,
        n=0,
        ci95=None,
        mean=None,
        dissatisfaction=None,
        distribution={1: 0.0, 2: 0.0, 3: 0.0, 4: 0.0, 5: 0.0},
        counts={1: 0, 2: 0, 3: 0, 4: 0, 5: 0},
    )


def test_element_skips_criteria_without_answers():
    answered = sipas.criterion({4: 1, 2: 1})
    unanswered = sipas.criterion({None: 5})
    element = sipas.element([answered, unanswered])
    assert element.index == pytest.approx(50.0)
    assert element.n == 2


def test_element_without_answers_is_left_out_of_overall():
    pa = sipas.element([sipas.criterion({None: 4}), sipas.criterion({})])
    assert pa == Proportion(index=None, n=0, ci95=None)
    tc = sipas.element([sipas.criterion({5: 3, 1: 1})])
    overall = sipas.overall([tc, pa])
    assert overall.index == pytest.approx(75.0)
    assert overall.n == 4


def test_nothing_answered_at_all():
    assert sipas.element([]) == Proportion(index=None, n=0, ci95=None)
    assert sipas.overall([]) == Proportion(index=None, n=0, ci95=None)


def test_overall_is_mean_of_elements_not_of_criteria():
    # Element A: criteria 100 and 0 -> 50. Element B: one criterion 80 -> 80.
    # Mean of elements = 65; mean of the three criteria would be 60.
    a = sipas.element([sipas.criterion({5: 10}), sipas.criterion({1: 10})])
    b = sipas.element([sipas.criterion({4: 8, 3: 2})])
    overall = sipas.overall([a, b])
    assert overall.index == pytest.approx(65.0)
    assert overall.n == 10


def test_element_n_is_the_largest_criterion_n():
    element = sipas.element([sipas.criterion({5: 40}), sipas.criterion({5: 7, None: 33})])
    assert element.n == 40
    assert not element.small


def test_composite_interval_is_wilson_on_the_fractional_share():
    # Share 0.7222 of n=3, by hand: centre (0.7222 + z²/6) / (1 + z²/3) = 0.5974,
    # half-width z·sqrt(0.7222·0.2778/3 + z²/36) / (1 + z²/3) = 0.3581.
    tc = sipas.element(
        [
            sipas.criterion(counts(5, 4, 2)),
            sipas.criterion(counts(3, None, 4)),
            sipas.criterion(counts(4, 4, 4)),
        ]
    )
    low, high = tc.ci95
    assert low == pytest.approx(23.94, abs=0.01)
    assert high == pytest.approx(95.55, abs=0.01)
    assert low <= tc.index <= high
    # An integral share gives exactly the Wilson interval of that count.
    half = sipas.element([sipas.criterion({5: 5, 1: 5})])
    assert half.ci95 == pytest.approx(sipas.wilson(5, 10))


def test_wilson_hand_computed():
    assert sipas.wilson(8, 10) == pytest.approx((49.02, 94.33), abs=0.01)
    assert sipas.wilson(0, 10) == pytest.approx((0.0, 27.75), abs=0.01)
    assert sipas.wilson(10, 10) == pytest.approx((72.25, 100.0), abs=0.01)
    assert sipas.wilson(0, 10)[0] == 0.0
    assert sipas.wilson(10, 10)[1] == 100.0
    assert sipas.wilson(0, 0) is None


def test_wilson_wider_z_gives_wider_interval():
    low95, high95 = sipas.wilson(8, 10)
    low99, high99 = sipas.wilson(8, 10, z=2.5758293035489)
    assert low99 < low95 and high99 > high95


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 29, 30, 100, 1000])
def test_wilson_contains_point_estimate(n):
    for successes in range(n + 1):
        low, high = sipas.wilson(successes, n)
        assert 0.0 <= low <= 100 * successes / n <= high <= 100.0


def test_wilson_refuses_impossible_counts():
    with pytest.raises(ValueError):
        sipas.wilson(11, 10)
    with pytest.raises(ValueError):
        sipas.wilson(-1, 10)


def test_mean_dissatisfaction_distribution():
    # 1,2,2,3,4,4,4,5 -> mean 25/8, dissatisfied 3/8, satisfied 4/8.
    result = sipas.criterion({1: 1, 2: 2, 3: 1, 4: 3, 5: 1})
    assert result.n == 8
    assert result.mean == pytest.approx(25 / 8)
    assert result.dissatisfaction == pytest.approx(37.5)
    assert result.index == pytest.approx(50.0)
    assert result.distribution == pytest.approx({1: 12.5, 2: 25.0, 3: 12.5, 4: 37.5, 5: 12.5})
    assert sum(result.distribution.values()) == pytest.approx(100.0)
    assert result.counts == {1: 1, 2: 2, 3: 1, 4: 3, 5: 1}


def test_overall_question():
    ov = sipas.overall_question({5: 3, 4: 5, 3: 1, 2: 1, None: 2})
    assert ov.index == pytest.approx(80.0)
    assert ov.n == 10
    assert ov.ci95 == pytest.approx((49.02, 94.33), abs=0.01)
    assert not isinstance(ov, Criterion)


def test_expectation_share():
    share = sipas.expectation_share({1: 1, 2: 3, 3: 4, 4: 2, None: 5})
    assert share.index == pytest.approx(60.0)
    assert share.n == 10
    with pytest.raises(ValueError):
        sipas.expectation_share({5: 1})


def test_proportion():
    assert sipas.proportion(3, 4) == Proportion(index=75.0, n=4, ci95=sipas.wilson(3, 4))
    assert sipas.proportion(0, 0) == Proportion(index=None, n=0, ci95=None)


def test_differs():
    before = sipas.proportion(80, 100)
    close = sipas.proportion(75, 100)
    far = sipas.proportion(40, 100)
    assert sipas.differs(before, close) is False
    assert sipas.differs(before, far) is True
    assert sipas.differs(far, before) is True
    assert sipas.differs(before, sipas.proportion(0, 0)) is None
    assert sipas.differs(sipas.proportion(0, 0), before) is None


def test_small():
    assert sipas.SMALL_N == 30
    assert sipas.proportion(20, 29).small is True
    assert sipas.proportion(20, 30).small is False
    assert sipas.criterion({4: 29}).small is True
    assert sipas.criterion({4: 29, 1: 1}).small is False


def test_mean_of():
    assert sipas.mean_of([1.0, None, 2.0]) == pytest.approx(1.5)
    assert sipas.mean_of([None, None]) is None
    assert sipas.mean_of([]) is None


@pytest.mark.parametrize("bad", [{6: 1}, {-1: 1}, {"4": 1}])
def test_value_outside_scale_is_refused(bad):
    with pytest.raises(ValueError):
        sipas.criterion(bad)
    with pytest.raises(ValueError):
        sipas.overall_question(bad)


def test_negative_count_is_refused():
    with pytest.raises(ValueError):
        sipas.criterion({4: -1})
