"""Completeness checks: how far attributions are from adding up to ``F(x) - F(baseline)``.

Path methods (Integrated Gradients and its relatives) and DeepLift promise completeness:
``sum(attr) = F(x) - F(b)``. Their convergence delta ``delta = sum(attr) - (F(x) - F(b))``
measures the error exactly, per image. This module holds the one rule every caller (the
explainers, the CLI, the reports) uses to judge it:

- :func:`relative_error`: ``|delta| / reference``, where the reference is ``|F(x) - F(b)|``,
  or, when that difference is tiny, 1 % of the scores themselves (``(|F(x)| + |F(b)|) / 2``,
  when known), so that images whose target score barely changes are not judged against a
  difference at float precision;
- :func:`warn_inaccurate`: a :class:`ConvergenceWarning` naming the images whose relative error
  is above a threshold (5 % by default, :data:`WARN_FRACTION`) and the fix.

Example:
    >>> attr, delta = ig.explain(x, target=t, return_convergence_delta=True)
    >>> difference = score_difference(attr, delta)        # F(x) - F(b), from the two
    >>> flagged = warn_inaccurate(delta, difference, method="IntegratedGradients",
    ...                           fix="use steps='auto' or more steps")
"""

from __future__ import annotations

import warnings

import numpy as np

WARN_FRACTION = 0.05
# Below this fraction of the scores' own size, |F(x) - F(b)| is measured against that fraction.
FLOOR_FRACTION = 0.01


class ConvergenceWarning(UserWarning):
    """Attributions that do not add up to ``F(x) - F(baseline)`` within the expected accuracy."""


def score_difference(attributions, delta) -> np.ndarray:
    """``F(x) - F(b)`` per image, recovered from attributions and their convergence delta.

    Args:
        attributions: ``(N, ...)`` attributions (any array-like).
        delta: ``(N,)`` convergence deltas ``sum(attr) - (F(x) - F(b))``.

    Returns:
        A float64 array ``(N,)``.
    """
    attributions = np.asarray(attributions, np.float64)
    total = attributions.reshape(len(attributions), -1).sum(axis=1)
    return total - np.asarray(delta, np.float64).reshape(-1)


def reference(difference, magnitude=None) -> np.ndarray:
    """The size each image's delta is compared with: ``max(|F(x) - F(b)|, 1 % of magnitude)``.

    Args:
        difference: ``(N,)`` values of ``F(x) - F(b)``.
        magnitude: optional ``(N,)`` size of the scores, ``(|F(x)| + |F(b)|) / 2`` (mean over
            baselines for a stack); None: no floor.

    Returns:
        A float64 array ``(N,)``.
    """
    size = np.abs(np.asarray(difference, np.float64)).reshape(-1)
    if magnitude is None:
        return size
    floor = FLOOR_FRACTION * np.abs(np.asarray(magnitude, np.float64)).reshape(-1)
    return np.maximum(size, floor)


def relative_error(delta, difference, magnitude=None) -> np.ndarray:
    """``|delta| / reference(difference, magnitude)`` per image (inf where the reference is 0
    and delta is not, 0 where both are)."""
    error = np.abs(np.asarray(delta, np.float64)).reshape(-1)
    size = reference(difference, magnitude)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(error == 0, 0.0, error / size)


def warn_inaccurate(
    delta,
    difference,
    magnitude=None,
    *,
    method: str,
    fix: str,
    threshold: float = WARN_FRACTION,
    labels=None,
    stacklevel: int = 2,
) -> np.ndarray:
    """Warns when ``|delta| > threshold * reference`` for some images; returns their indices.

    Args:
        delta: ``(N,)`` convergence deltas.
        difference: ``(N,)`` ``F(x) - F(b)`` (see :func:`score_difference` to get it from the
            attributions).
        magnitude: optional ``(N,)`` ``(|F(x)| + |F(b)|) / 2`` for the floor (see
            :func:`reference`).
        method: who computed the attributions, e.g. ``"IntegratedGradients(steps=32)"``.
        fix: what the user can do, e.g. ``"use steps='auto' or more steps"``.
        threshold: the largest acceptable ``|delta| / reference`` (default 5 %).
        labels: optional names of the N entries (default ``"image i"``).
        stacklevel: passed to :func:`warnings.warn` (2: the caller's caller's line).

    Returns:
        The int indices of the flagged images (empty when none; no warning then).
    """
    errors = relative_error(delta, difference, magnitude)
    flagged = np.flatnonzero(errors > threshold)
    if flagged.size:
        names = [f"image {i}" if labels is None else str(labels[i]) for i in flagged[:8]]
        shown = ", ".join(
            f"{name} ({errors[i]:.1%})" for name, i in zip(names, flagged[:8], strict=True)
        )
        if flagged.size > 8:
            shown += f" and {flagged.size - 8} more"
        warnings.warn(
            f"{method}: the attributions of {shown} of {len(errors)} miss completeness by more "
            f"than {threshold:.3g} x |F(x) - F(baseline)| (|convergence delta| relative to it "
            f"in brackets): {fix}.",
            ConvergenceWarning,
            stacklevel=stacklevel + 1,
        )
    return flagged
