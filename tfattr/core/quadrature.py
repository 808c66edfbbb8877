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
