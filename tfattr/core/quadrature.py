"""Integration rules for path methods: points ``alphas`` in [0, 1] and ``weights`` summing to 1.

``steps`` counts gradient evaluations (Captum's ``n_steps``). Conventions, per rule:

- ``riemann_left``   alphas ``k/steps``, k = 0..steps-1; weights ``1/steps``.
- ``riemann_right``  alphas ``(k+1)/steps``; weights ``1/steps``.
- ``riemann_middle`` alphas ``(k+1/2)/steps``; weights ``1/steps``.
- ``riemann_trapezoid`` alphas ``k/(steps-1)`` (both ends included, ``steps - 1`` intervals, the
  TF tutorial's ``m_steps``); weights ``1/(steps-1)`` with the two ends halved, summing to 1.
  Captum 0.9 uses ``1/steps`` here (ends halved), so its weights sum to ``(steps-1)/steps`` and its
  attributions are ``(steps-1)/steps`` times ours.
- ``gausslegendre``  Gauss-Legendre nodes and weights on [-1, 1] mapped to [0, 1] (exact for
  polynomials of degree ``2*steps - 1``), as Captum.

The trapezoid rule nests: doubling its intervals keeps every point, so
:func:`trapezoid_points` and :func:`trapezoid_midpoints` refine an estimate at the cost of the
new points only (Integrated Gradients' ``steps="auto"``). Gauss-Legendre points do not nest.
"""

from __future__ import annotations

import numpy as np

RULES = ("riemann_trapezoid", "riemann_left", "riemann_right", "riemann_middle", "gausslegendre")


def rule(method: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns ``(alphas, weights)`` as float64 arrays of length ``steps``.

    Example:
        >>> alphas, weights = rule("riemann_trapezoid", 3)
        >>> alphas.tolist(), weights.tolist()
        ([0.0, 0.5, 1.0], [0.25, 0.5, 0.25])
    """
    if method not in RULES:
        raise ValueError(f"method: expected one of {RULES}, got {method!r}.")
    minimum = 2 if method == "riemann_trapezoid" else 1
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < minimum:
        raise ValueError(f"steps: {method} needs an int >= {minimum}, got {steps!r}.")
    n = int(steps)
    k = np.arange(n, dtype=np.float64)
    if method == "riemann_trapezoid":
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
        return k / (n - 1), weights
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return (nodes + 1) / 2, weights / 2
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[method]
    return (k + offset) / n, np.full(n, 1.0 / n)


def trapezoid_points(intervals: int) -> tuple[np.ndarray, np.ndarray]:
    """The trapezoid rule on ``intervals + 1`` points, unnormalised: ``(alphas, weights)`` with
    weights ``0.5, 1, ..., 1, 0.5`` (divide the weighted sum by ``intervals``).

    Example:
        >>> trapezoid_points(2)
        (array([0. , 0.5, 1. ]), array([0.5, 1. , 0.5]))
    """
    weights = np.ones(intervals + 1)
    weights[[0, -1]] = 0.5
    return np.arange(intervals + 1, dtype=np.float64) / intervals, weights


def trapezoid_midpoints(intervals: int) -> np.ndarray:
    """The points that refine the trapezoid rule from ``intervals`` to ``2 * intervals``: the
    midpoints ``(2j + 1) / (2 * intervals)``, each of unnormalised weight 1.

    With ``n = intervals + 1`` points already evaluated, refining to ``2n - 1`` points costs
    these ``n - 1`` new ones: the weighted sum becomes ``old + sum(new)`` over ``2 * intervals``.

    Example:
        >>> trapezoid_midpoints(2).tolist()
        [0.25, 0.75]
    """
    return (2 * np.arange(intervals, dtype=np.float64) + 1) / (2 * intervals)
