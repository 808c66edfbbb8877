"""Each integration rule: weights sum to 1, and polynomials of its degree integrate exactly."""

import numpy as np
import pytest

from tfattr.core.quadrature import RULES, rule

# Highest polynomial degree each rule integrates exactly on [0, 1] (n points).
EXACT_DEGREE = {
    "riemann_left": lambda n: 0,
    "riemann_right": lambda n: 0,
    "riemann_middle": lambda n: 1,
    "riemann_trapezoid": lambda n: 1,
    "gausslegendre": lambda n: 2 * n - 1,
}


@pytest.mark.parametrize("method", RULES)
@pytest.mark.parametrize("steps", [2, 3, 7, 50])
def test_weights_sum_to_one_and_exact_degree(method, steps):
    alphas, weights = rule(method, steps)
    assert len(alphas) == len(weights) == steps
    assert np.all((alphas >= 0) & (alphas <= 1))
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    degree = EXACT_DEGREE[method](steps)
    for d in range(degree + 1):
        assert np.sum(weights * alphas**d) == pytest.approx(1 / (d + 1), abs=1e-12)
    # ... and not one degree more (checked where the error is above float noise).
    d = degree + 1
    if steps <= 7:
        assert abs(np.sum(weights * alphas**d) - 1 / (d + 1)) > 1e-9


def test_conventions_match_captum_points():
    assert rule("riemann_left", 4)[0].tolist() == [0, 0.25, 0.5, 0.75]
    assert rule("riemann_right", 4)[0].tolist() == [0.25, 0.5, 0.75, 1]
    assert rule("riemann_middle", 4)[0].tolist() == [0.125, 0.375, 0.625, 0.875]
    alphas, weights = rule("riemann_trapezoid", 5)
    assert alphas.tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert weights.tolist() == [0.125, 0.25, 0.25, 0.25, 0.125]


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="method"):
        rule("simpson", 10)
    with pytest.raises(ValueError, match="steps"):
        rule("riemann_trapezoid", 1)
    with pytest.raises(ValueError, match="steps"):
        rule("riemann_left", 0)


@pytest.mark.parametrize("intervals", [1, 2, 4, 16])
def test_trapezoid_refinement_nests(intervals):
    """Doubling keeps every point: old points + midpoints are the rule on 2m intervals, and
    the refined weighted sum is (old sum + new sum) / (2m)."""
    from tfattr.core.quadrature import trapezoid_midpoints, trapezoid_points

    alphas, weights = trapezoid_points(intervals)
    new = trapezoid_midpoints(intervals)
    assert len(new) == intervals == len(alphas) - 1  # n points -> 2n - 1: n - 1 new
    fine, fine_weights = rule("riemann_trapezoid", 2 * intervals + 1)
    np.testing.assert_allclose(np.sort(np.concatenate([alphas, new])), fine, atol=1e-15)
    f = np.cos(3 * fine) + fine**2
    coarse_sum = np.sum(weights * (np.cos(3 * alphas) + alphas**2))
    refined = (coarse_sum + np.sum(np.cos(3 * new) + new**2)) / (2 * intervals)
    assert refined == pytest.approx(np.sum(fine_weights * f), abs=1e-13)
    np.testing.assert_allclose(weights / intervals, rule("riemann_trapezoid", intervals + 1)[1])
