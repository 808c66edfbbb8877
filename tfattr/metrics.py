"""Faithfulness metrics: does an attribution say what the model actually uses?

- :func:`deletion` / :func:`insertion` -- RISE's causal curves: the target score as the
  highest-ranked pixels are removed from the image (or inserted into a blank/blurred copy), and the
  area under the curve (Petsiuk, Das, Saenko 2018).
- :func:`road` -- remove and debias: the target score as the most (or least) relevant pixels are
  removed and filled by noisy linear imputation, which hides where they were (Rong et al. 2022).
- :func:`mufidelity` -- correlation between the attribution mass of random pixel subsets and the
  score drop when they are removed (Bhatt, Weller, Moura 2020; Xplique's MuFidelity).
- :func:`infidelity` and :func:`sensitivity_max` -- Yeh et al. 2019, with Captum's definitions.
- :func:`pointing_game` / :func:`energy_pointing_game` -- whether the attribution falls inside a
  ground-truth mask (Zhang et al. 2016; Wang et al. 2020).

Every metric returns per-image numbers (numpy); the curve metrics also return their curves, drawn
by :func:`plot_curves`. Model evaluations go through the shared
:class:`~tfattr.core.engine.GradientEngine` in compiled chunks of ``batch_size`` perturbed images,
so memory does not grow with the number of steps or samples.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings
import weakref
from collections.abc import Callable, Iterator

import numpy as np
import tensorflow as tf

from tfattr.core import baselines as base
from tfattr.core.adapter import ModelAdapter
from tfattr.core.engine import GradientEngine
from tfattr.core.explainer import Explainer
from tfattr.core.inputs import (
    as_images,
    as_targets,
    check_choice,
    check_positive_int,
    check_seed,
)
from tfattr.core.random import normal_rows, uniform_rows

__all__ = [
    "CurveResult",
    "PointingResult",
    "deletion",
    "energy_pointing_game",
    "infidelity",
    "insertion",
    "mufidelity",
    "noisy_linear_imputation",
    "plot_curves",
    "pointing_game",
    "pointing_tolerance",
    "road",
    "sensitivity_max",
]


# ------------------------------------------------------------------------------------------
# Shared helpers (also used by tfattr.sanity and tfattr.adversarial)


def model_engine(model, *, output: str, batch_size: int = 32) -> GradientEngine:
    """A gradient engine for `model` (a model, a ModelAdapter or an Explainer) with `output`.

    Given an adapter or an explainer, the engine is kept on that adapter, so calling a metric
    many times (e.g. over the batches of a dataset) compiles its steps once; a bare model gets a
    new engine per call. Pass ``tfattr.adapt(model)`` or an explainer to reuse compiled work.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    if isinstance(model, Explainer):
        model = model.adapter
    if not isinstance(model, ModelAdapter):
        return GradientEngine(ModelAdapter(model, output=output), batch_size=batch_size)
    engines = _ENGINES.setdefault(model, {})
    key = (output, batch_size)
    if key not in engines:
        # A new adapter of the same model: an engine holding `model` itself would keep the weak
        # key alive for ever.
        adapter = ModelAdapter(model.model, output=output, output_index=model.output_index)
        engines[key] = GradientEngine(adapter, batch_size=batch_size)
    return engines[key]


# adapter -> {(output, batch_size): engine}; entries go when the adapter (or explainer) does.
_ENGINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def resolve_targets(engine: GradientEngine, x: tf.Tensor, target) -> tf.Tensor:
    """Checked int32 targets (N,); None becomes each image's top class."""
    targets = as_targets(target, int(x.shape[0]), engine.adapter.num_classes(x.shape[1:]))
    if targets is None:
        targets = tf.argmax(engine.scores(x), axis=-1, output_type=tf.int32)
    return targets


def attribution_maps(attributions, x: tf.Tensor | None, name: str = "attributions", *, size=None):
    """One value per pixel, (N, H, W) float64: pixel attributions summed over channels.

    Accepts ``(N, H, W, C)`` (pixel methods), ``(N, H, W)`` (CAM methods) or a single map,
    matching the images ``x``, or, without images, ``size = (N, H, W)`` and any channel count.
    """
    a = np.asarray(attributions.numpy() if hasattr(attributions, "numpy") else attributions)
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"{name}: expected real numbers, got dtype {a.dtype}.")
    n, h, w = (int(d) for d in (x.shape[:3] if x is not None else size))
    channels = int(x.shape[3]) if x is not None else (a.shape[-1] if a.ndim == 4 else 1)
    if a.shape in ((h, w), (h, w, channels)) and n == 1:
        a = a[None]
    if a.shape == (n, h, w, channels):
        a = a.sum(axis=-1)
    if a.shape != (n, h, w):
        raise ValueError(
            f"{name}: expected shape {(n, h, w, channels)} (pixel attributions) or "
            f"{(n, h, w)} (CAM maps) to match the images, got {a.shape}. Upsample CAM maps to "
            f"the input size (upsample=True)."
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or infinite values; fix the explanation first.")
    return a.astype(np.float64)


def chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of consecutive chunks of ``size`` rows."""
    for start in range(0, total, size):
        yield start, min(start + size, total)


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks of each row of ``values`` (M, D), ties sharing their average rank (as Spearman)."""
    values = np.asarray(values, np.float64).reshape(len(values), -1)
    ranks = np.empty_like(values)
    for i, row in enumerate(values):
        _, inverse, counts = np.unique(row, return_inverse=True, return_counts=True)
        ends = np.cumsum(counts)
        ranks[i] = (ends - (counts - 1) / 2.0)[inverse]
    return ranks


def pearson(a: np.ndarray, b: np.ndarray, what: str = "correlation") -> np.ndarray:
    """Row-wise Pearson correlation of (M, D) arrays; NaN (with a warning) for constant rows."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    constant = denominator <= 1e-300
    if np.any(constant):
        warnings.warn(
            f"{what}: undefined (NaN) for rows {np.flatnonzero(constant).tolist()} because one "
            f"side is constant (e.g. an all-zero attribution map).",
            RuntimeWarning,
            stacklevel=3,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(constant, np.nan, (a * b).sum(axis=1) / np.where(constant, 1, denominator))


def spearman(a: np.ndarray, b: np.ndarray, what: str = "rank correlation") -> np.ndarray:
    """Row-wise Spearman rank correlation of (M, ...) arrays (Pearson of average ranks)."""
    return pearson(average_ranks(a), average_ranks(b), what)


def _check_number(value, name: str, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}.")
    if positive and value <= 0:
        raise ValueError(f"{name}: expected a number > 0, got {value!r}.")
    return float(value)


def _target_scores(engine: GradientEngine, rows: tf.Tensor, targets: tf.Tensor) -> np.ndarray:
    return engine.target_scores(rows, targets).numpy().astype(np.float64)


# ------------------------------------------------------------------------------------------
# Deletion and insertion


@dataclasses.dataclass
class CurveResult:
    """Curves of a causal metric.

    Attributes:
        kind: ``"deletion"`` or ``"insertion"``.
        auc: (N,) area under each image's curve (fractions on the x axis, so in score units).
        curves: (N, steps + 1) the target score after each step.
        fractions: (steps + 1,) the fraction of pixels removed (deletion) or inserted.
        targets: (N,) the classes scored.

    Example:
        >>> result = tfattr.metrics.deletion(model, x, tfattr.Saliency(model).explain(x), steps=8)
        >>> result.curves.shape, result.fractions.shape     # 2 images, 8 steps + the start
        ((2, 9), (9,))
    """

    kind: str
    auc: np.ndarray
    curves: np.ndarray
    fractions: np.ndarray
    targets: np.ndarray

    def plot(self, ax=None, **kwargs):
        """Draws the curves (see :func:`plot_curves`).

        Args:
            ax: a matplotlib Axes (default: a new figure).
            **kwargs: :func:`plot_curves`' ``labels`` and ``image``.

        Returns:
            ``(fig, ax)``.

        Example:
            >>> fig, ax = tfattr.metrics.deletion(model, x, tfattr.Saliency(model).explain(x)).plot()
        """
        return plot_curves(self, ax=ax, **kwargs)


def deletion(
    model,
    images,
    attributions,
    target=None,
    *,
    steps: int = 50,
    baseline="black",
    output: str = "probabilities",
    batch_size: int = 32,
    blur_sigma=None,
) -> CurveResult:
    """RISE deletion: the target score as pixels are removed in order of attribution.

    Pixels (channels summed) are ranked by decreasing attribution; at step ``s`` of ``steps`` the
    top ``round(s / steps * H * W)`` pixels are replaced by the baseline. A faithful attribution
    makes the score fall fast: a **lower** AUC is better.

    Args:
        model: a Keras model, a SavedModel/callable, a ModelAdapter or an Explainer (its model).
        images: ``(N, H, W, C)`` or one image, in the model's input scale.
        attributions: ``(N, H, W, C)`` pixel attributions or ``(N, H, W)`` maps.
        target: None (each image's top class), an int or one int per image.
        steps: number of removal steps (the curve has ``steps + 1`` points).
        baseline: what replaces removed pixels: ``"black"`` (zeros, default), ``"blur"`` (a
            blurred copy), ``"white"``, ``"uniform"`` (noise drawn with seed 0), or a tensor
            broadcastable to one image (see :mod:`tfattr.core.baselines`).
        output: ``"probabilities"`` (default, as in RISE), ``"logits"`` or ``"raw"``.
        batch_size: perturbed images per forward pass; bounds memory.
        blur_sigma: Gaussian sigma in pixels for ``baseline="blur"``.

    Returns:
        A :class:`CurveResult` with per-image ``auc`` and ``curves``.

    Example:
        >>> attr = tfattr.Saliency(model).explain(x)
        >>> result = tfattr.metrics.deletion(model, x, attr, steps=20)
        >>> result.auc.shape      # one area per image; lower is better
        (2,)

    Reference: Petsiuk, Das, Saenko, "RISE: Randomized Input Sampling for Explanation of
    Black-box Models", BMVC 2018.
    """
    return _causal_curve(
        "deletion",
        model,
        images,
        attributions,
        target,
        steps,
        baseline,
        output,
        batch_size,
        blur_sigma,
    )


def insertion(
    model,
    images,
    attributions,
    target=None,
    *,
    steps: int = 50,
    baseline="blur",
    output: str = "probabilities",
    batch_size: int = 32,
    blur_sigma=None,
) -> CurveResult:
    """RISE insertion: the target score as pixels are inserted into a blurred (or blank) copy.

    Starts from the baseline (a blurred copy by default, as in RISE) and, at step ``s``, puts
    back the top ``round(s / steps * H * W)`` pixels by attribution. A faithful attribution makes
    the score rise fast: a **higher** AUC is better.

    Args:
        model: a Keras model, a SavedModel/callable, a ModelAdapter or an Explainer (its model).
        images: ``(N, H, W, C)`` or one image, in the model's input scale.
        attributions: ``(N, H, W, C)`` pixel attributions or ``(N, H, W)`` maps.
        target: None (each image's top class), an int or one int per image.
        steps: number of insertion steps (the curve has ``steps + 1`` points).
        baseline: the image pixels are inserted into: ``"blur"`` (default), ``"black"``,
            ``"white"``, ``"uniform"`` or a tensor broadcastable to one image.
        output: ``"probabilities"`` (default, as in RISE), ``"logits"`` or ``"raw"``.
        batch_size: perturbed images per forward pass; bounds memory.
        blur_sigma: Gaussian sigma in pixels for ``baseline="blur"``.

    Returns:
        A :class:`CurveResult` with per-image ``auc`` and ``curves``.

    Example:
        >>> attr = tfattr.Saliency(model).explain(x)
        >>> result = tfattr.metrics.insertion(model, x, attr, baseline="blur")
        >>> result.auc.shape      # one area per image; higher is better
        (2,)

    Reference: Petsiuk, Das, Saenko, "RISE", BMVC 2018.
    """
    return _causal_curve(
        "insertion",
        model,
        images,
        attributions,
        target,
        steps,
        baseline,
        output,
        batch_size,
        blur_sigma,
    )


def _causal_curve(
    kind, model, images, attributions, target, steps, baseline, output, batch_size, blur_sigma
) -> CurveResult:
    steps = check_positive_int(steps, "steps")
    engine = model_engine(model, output=output, batch_size=batch_size)
    x, _ = as_images(images, engine.adapter, name="images")
    maps = attribution_maps(attributions, x)
    targets = resolve_targets(engine, x, target)
    reference = _single_baseline(baseline, x, blur_sigma)

    n, h, w = maps.shape
    pixels = h * w
    # Rank 0 is the most important pixel; the stable sort breaks ties in raster order.
    order = np.argsort(-maps.reshape(n, -1), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(pixels)[None], axis=1)
    ranks = tf.constant(ranks.reshape(n, h, w, 1), tf.int32)
    counts = tf.constant(np.round(np.arange(steps + 1) / steps * pixels), tf.int32)

    # Rows (image i, step s) are built chunk by chunk: memory is bounded by batch_size.
    total = n * (steps + 1)
    scores = np.empty(total)
    for start, end in chunks(total, engine.batch_size):
        row = tf.range(start, end)
        image, step = row // (steps + 1), row % (steps + 1)
        chosen = tf.gather(ranks, image) < tf.reshape(tf.gather(counts, step), (-1, 1, 1, 1))
        x_rows, b_rows = tf.gather(x, image), tf.gather(reference, image)
        rows = (
            tf.where(chosen, b_rows, x_rows)
            if kind == "deletion"
            else tf.where(chosen, x_rows, b_rows)
        )
        scores[start:end] = _target_scores(engine, rows, tf.gather(targets, image))

    curves = scores.reshape(n, steps + 1)
    fractions = counts.numpy() / pixels
    auc = _trapezoid_auc(curves, fractions)
    return CurveResult(kind, auc, curves, fractions, targets.numpy())


def _trapezoid_auc(curves: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Area under each row of ``curves`` (N, K) over ``fractions`` (K,), trapezoidal rule."""
    # Written out: np.trapezoid is NumPy >= 2 only, and TF 2.16/2.17 need NumPy 1.26.
    return np.sum(np.diff(fractions) * (curves[:, 1:] + curves[:, :-1]) / 2, axis=1)


def _single_baseline(baseline, x: tf.Tensor, blur_sigma) -> tf.Tensor:
    """One reference image per input image, (N, H, W, C)."""
    resolved = base.resolve(baseline, x, seed=0, blur_sigma=blur_sigma)
    if resolved.count != 1:
        raise ValueError(
            f"baseline: expected one baseline (broadcastable to one image), got a stack of "
            f"{resolved.count}; run the metric once per baseline instead."
        )
    return resolved.per_image_stack(int(x.shape[0]))[:, 0]


# ------------------------------------------------------------------------------------------
# ROAD: remove and debias

# The neighbours of a pixel in the noisy linear imputation and their weights (Rong et al.):
# 1/6 for the four direct neighbours, 1/12 for the four diagonal ones.
ROAD_NEIGHBOURS = (
    (-1, -1, 1 / 12),
    (-1, 0, 1 / 6),
    (-1, 1, 1 / 12),
    (0, -1, 1 / 6),
    (0, 1, 1 / 6),
    (1, -1, 1 / 12),
    (1, 0, 1 / 6),
    (1, 1, 1 / 12),
)
ROAD_ORDERS = ("morf", "lerf")


def noisy_linear_imputation(image, removed, *, noise: float = 0.01, rng=None) -> np.ndarray:
    """Fills removed pixels with the weighted mean of their neighbours, plus Gaussian noise.

    The removed pixels' values solve one sparse linear system per image: each equals the
    weighted average of its (up to 8) neighbours inside the image, direct neighbours weighing
    1/6 and diagonal ones 1/12, renormalised at the border; neighbours that are removed too are
    unknowns of the same system, so a removed region is filled smoothly from its boundary (a
    linear ramp is reproduced exactly inside the image). Then ``noise`` (a standard deviation,
    in the image's scale) is added to every imputed value. Kept pixels are not changed.

    Args:
        image: ``(H, W)`` or ``(H, W, C)`` array.
        removed: ``(H, W)`` booleans, True where the pixel is removed; at least one pixel kept.
        noise: standard deviation of the Gaussian noise added to imputed values (0: none).
        rng: a ``numpy.random.Generator`` for the noise (None: seed 0).

    Returns:
        float64 array of the image's shape.

    Example:
        >>> ramp = np.tile(np.arange(8.0), (8, 1))           # a linear ramp, left to right
        >>> removed = np.zeros((8, 8), bool)
        >>> removed[2:6, 2:6] = True
        >>> filled = tfattr.metrics.noisy_linear_imputation(ramp, removed, noise=0.0)
        >>> bool(np.allclose(filled, ramp))                 # the hole is filled by the ramp
        True

    Reference: Rong, Leemann, Borisov, Kasneci, Kasneci, "A Consistent and Efficient Evaluation
    Strategy for Attribution Methods", ICML 2022 (section 4, noisy linear imputation).
    """
    from scipy.sparse import csc_matrix
    from scipy.sparse.linalg import splu

    image = np.asarray(image, np.float64)
    removed = np.asarray(removed, bool)
    if removed.ndim != 2 or image.shape[:2] != removed.shape:
        raise ValueError(
            f"removed: expected an (H, W) mask matching the image {image.shape}, got "
            f"{removed.shape}."
        )
    h, w = removed.shape
    flat = image.reshape(h * w, -1).copy()
    unknown = np.flatnonzero(removed)
    if unknown.size == 0:
        return image.copy()
    if unknown.size == h * w:
        raise ValueError("removed: every pixel is removed; keep at least one to impute from.")
    count = unknown.size
    variable = np.full(h * w, -1)
    variable[unknown] = np.arange(count)
    row, col = np.divmod(unknown, w)
    diagonal = np.zeros(count)
    rhs = np.zeros((count, flat.shape[1]))
    rows, cols, values = [np.arange(count)], [np.arange(count)], []
    for dr, dc, weight in ROAD_NEIGHBOURS:
        r, c = row + dr, col + dc
        inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
        equation = np.flatnonzero(inside)
        neighbour = r[inside] * w + c[inside]
        diagonal[equation] += weight  # the weights of the neighbours inside the image
        unknowns = variable[neighbour]
        known = unknowns < 0
        rhs[equation[known]] += weight * flat[neighbour[known]]
        rows.append(equation[~known])
        cols.append(unknowns[~known])
        values.append(np.full(int((~known).sum()), -weight))
    # total_weight * x_i - sum(weight * unknown neighbours) = sum(weight * known neighbours)
    matrix = csc_matrix(
        (np.concatenate([diagonal, *values]), (np.concatenate(rows), np.concatenate(cols))),
        shape=(count, count),
    )
    solved = splu(matrix).solve(rhs)
    if noise:
        solved = solved + (rng or np.random.default_rng(0)).normal(0.0, noise, solved.shape)
    flat[unknown] = solved
    return flat.reshape(image.shape)


def road(
    model,
    images,
    attributions,
    target=None,
    *,
    order: str = "morf",
    percentages=(10, 20, 30, 40, 50, 60, 70, 80, 90),
    noise: float = 0.01,
    output: str = "probabilities",
    batch_size: int = 32,
    seed: int | None = 0,
) -> CurveResult:
    """ROAD: the target score as pixels are removed and imputed, most or least relevant first.

    Pixels (channels summed) are ranked by attribution; for each percentage ``p`` the
    ``round(p / 100 * H * W)`` most relevant (``order="morf"``) or least relevant
    (``order="lerf"``) pixels are removed and filled by :func:`noisy_linear_imputation`, which
    keeps the removed region from telling the model where it was (the "class information
    leakage" of plain deletion) and its values close to the image's distribution. A faithful
    attribution makes the MoRF curve fall fast (**lower** AUC is better) and the LeRF curve
    stay high (**higher** AUC is better). Imputation runs on the CPU (SciPy's sparse solver),
    one system per (image, percentage); the perturbed images are scored ``batch_size`` at a
    time through the shared engine.

    Args:
        model: a Keras model, a SavedModel/callable, a ModelAdapter or an Explainer (its model).
        images: ``(N, H, W, C)`` or one image, in the model's input scale.
        attributions: ``(N, H, W, C)`` pixel attributions or ``(N, H, W)`` maps.
        target: None (each image's top class), an int or one int per image.
        order: ``"morf"`` (most relevant first, default) or ``"lerf"`` (least relevant first).
        percentages: increasing percentages of pixels removed, each in [0, 100), at least two
            (default 10, 20, ..., 90 as the paper).
        noise: standard deviation of the noise added to imputed values, in the images' scale
            (default 0.01, the paper's value for normalised images; scale it with the input
            range, e.g. 2.55 for 0-255 inputs).
        output: ``"probabilities"`` (default), ``"logits"`` or ``"raw"``.
        batch_size: perturbed images per forward pass; bounds memory.
        seed: seed of the noise (the same seed gives the same result).

    Returns:
        A :class:`CurveResult` of kind ``"road_morf"`` or ``"road_lerf"``: ``curves``
        ``(N, len(percentages))``, ``fractions`` the fractions of pixels removed, and ``auc``
        the trapezoidal area under each curve over those fractions.

    Example:
        >>> attr = tfattr.Saliency(model).explain(x)
        >>> morf = tfattr.metrics.road(model, x, attr, order="morf")
        >>> lerf = tfattr.metrics.road(model, x, attr, order="lerf")
        >>> (lerf.auc - morf.auc).shape   # one value per image; higher is better
        (2,)

    Reference: Rong, Leemann, Borisov, Kasneci, Kasneci, "A Consistent and Efficient Evaluation
    Strategy for Attribution Methods", ICML 2022.
    """
    order = check_choice(order, "order", ROAD_ORDERS)
    noise = _check_number(noise, "noise", positive=False)
    if noise < 0:
        raise ValueError(f"noise: expected a standard deviation >= 0, got {noise!r}.")
    percentages = _road_percentages(percentages)
    rng = np.random.default_rng(check_seed(seed))
    engine = model_engine(model, output=output, batch_size=batch_size)
    x, _ = as_images(images, engine.adapter, name="images")
    maps = attribution_maps(attributions, x)
    targets = resolve_targets(engine, x, target)

    n, h, w = maps.shape
    pixels = h * w
    # Rank 0 is the most relevant pixel; the stable sort breaks ties in raster order.
    ranking = np.argsort(-maps.reshape(n, -1), axis=1, kind="stable")
    ranks = np.empty_like(ranking)
    np.put_along_axis(ranks, ranking, np.arange(pixels)[None], axis=1)
    counts = np.round(percentages / 100.0 * pixels).astype(int)

    # Rows (image i, percentage p) are imputed and scored chunk by chunk: bounded memory, and
    # the noise is drawn in row order, so the result does not depend on batch_size.
    images_np = x.numpy()
    steps = len(counts)
    total = n * steps
    scores = np.empty(total)
    for start, end in chunks(total, engine.batch_size):
        rows = []
        for row in range(start, end):
            image, step = divmod(row, steps)
            rank = ranks[image].reshape(h, w)
            removed = rank < counts[step] if order == "morf" else rank >= pixels - counts[step]
            rows.append(noisy_linear_imputation(images_np[image], removed, noise=noise, rng=rng))
        image_ids = np.arange(start, end) // steps
        scores[start:end] = _target_scores(
            engine,
            tf.constant(np.stack(rows), tf.float32),
            tf.gather(targets, image_ids),
        )
    curves = scores.reshape(n, steps)
    fractions = counts / pixels
    auc = _trapezoid_auc(curves, fractions)
    return CurveResult(f"road_{order}", auc, curves, fractions, targets.numpy())


def _road_percentages(percentages) -> np.ndarray:
    try:
        values = np.asarray(percentages, np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"percentages: expected a sequence of numbers, got {percentages!r}."
        ) from None
    if (
        values.ndim != 1
        or values.size < 2
        or not np.all(np.isfinite(values))
        or values.min() < 0
        or values.max() >= 100
        or np.any(np.diff(values) <= 0)
    ):
        raise ValueError(
            f"percentages: expected at least two increasing numbers in [0, 100), got "
            f"{percentages!r} (e.g. (10, 20, ..., 90))."
        )
    return values


# ------------------------------------------------------------------------------------------
# MuFidelity


def mufidelity(
    model,
    images,
    attributions,
    target=None,
    *,
    grid_size: int = 9,
    subset_percent: float = 0.2,
    samples: int = 128,
    baseline=0.0,
    output: str = "logits",
    seed: int | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """MuFidelity: correlation between attribution mass and score drop over random subsets.

    The image is divided into a ``grid_size x grid_size`` grid; for each of ``samples`` draws a
    random ``subset_percent`` of the cells is set to the baseline. Per image, the Pearson
    correlation across draws between ``sum(attribution over the removed pixels)`` and
    ``F(x) - F(x with the cells removed)``. Higher is better (1: the attribution predicts the
    effect of every removal exactly, as Integrated Gradients does for a linear model).

    Args:
        model: a model, ModelAdapter or Explainer.
        images: ``(N, H, W, C)`` or one image.
        attributions: ``(N, H, W, C)`` or ``(N, H, W)``.
        target: None (top class), an int or one per image.
        grid_size: cells per side (Xplique's default 9).
        subset_percent: fraction of the cells removed in each draw, in (0, 1).
        samples: random subsets per image (shared by the images of a call).
        baseline: value of the removed pixels: a number, ``"black"``, ``"blur"``, a tensor.
        output: ``"logits"`` (default), ``"probabilities"`` or ``"raw"``.
        seed: seed of the subsets.
        batch_size: perturbed images per forward pass.

    Returns:
        (N,) correlations; NaN with a RuntimeWarning where the attribution sums are constant.

    Example:
        >>> attr = tfattr.IntegratedGradients(model, steps=16).explain(x)
        >>> scores = tfattr.metrics.mufidelity(model, x, attr, samples=64, seed=0)

    Reference: Bhatt, Weller, Moura, "Evaluating and Aggregating Feature-based Model
    Explanations", IJCAI 2020.
    """
    grid_size = check_positive_int(grid_size, "grid_size")
    samples = check_positive_int(samples, "samples", minimum=2)
    fraction = _check_number(subset_percent, "subset_percent")
    if not fraction < 1:
        raise ValueError(f"subset_percent: expected a fraction in (0, 1), got {subset_percent!r}.")
    engine = model_engine(model, output=output, batch_size=batch_size)
    x, _ = as_images(images, engine.adapter, name="images")
    maps = attribution_maps(attributions, x)
    targets = resolve_targets(engine, x, target)
    reference = _single_baseline(baseline, x, None)
    n, h, w = maps.shape

    cells = grid_size * grid_size
    removed_cells = max(1, int(round(fraction * cells)))
    rng = np.random.default_rng(check_seed(seed))
    # Each draw removes exactly `removed_cells` cells: those with the smallest random keys.
    keys = rng.random((samples, cells))
    removed = np.argsort(np.argsort(keys, axis=1), axis=1) < removed_cells
    cell_of_pixel = (np.arange(h)[:, None] * grid_size // h) * grid_size + (
        np.arange(w)[None, :] * grid_size // w
    )
    masks = removed[:, cell_of_pixel]  # (samples, H, W): True where the pixel is removed
    attribution_sums = np.einsum("nhw,shw->ns", maps, masks.astype(np.float64))

    clean = _target_scores(engine, x, targets)
    mask_tensor = tf.constant(masks[..., None])
    total = n * samples
    drops = np.empty(total)
    for start, end in chunks(total, engine.batch_size):
        row = tf.range(start, end)
        image, sample = row // samples, row % samples
        rows = tf.where(
            tf.gather(mask_tensor, sample), tf.gather(reference, image), tf.gather(x, image)
        )
        drops[start:end] = clean[image.numpy()] - _target_scores(
            engine, rows, tf.gather(targets, image)
        )
    return pearson(attribution_sums, drops.reshape(n, samples), "mufidelity")


# ------------------------------------------------------------------------------------------
# Infidelity and sensitivity (Yeh et al. 2019)


def infidelity(
    model,
    images,
    attributions,
    target=None,
    *,
    perturbation: str | Callable = "gaussian",
    stddev: float = 0.1,
    samples: int = 64,
    normalize: bool = False,
    output: str = "logits",
    seed: int | None = None,
    batch_size: int = 32,
) -> np.ndarray:
    """Infidelity: expected squared error of the attribution as a predictor of score changes.

    ``INFD(a, x) = E_I[(I . a - (F(x) - F(x - I)))^2]`` over random perturbations ``I``
    (Captum's convention: the perturbed input is ``x - I``). With ``normalize=True`` the
    attribution is first rescaled by the optimal ``beta = E[I.a * dF] / E[(I.a)^2]`` (Captum's
    ``normalize``), so that only the direction of the attribution is judged. Lower is better; a
    linear model's gradient has infidelity 0.

    Args:
        model: a model, ModelAdapter or Explainer.
        images: ``(N, H, W, C)`` or one image.
        attributions: ``(N, H, W, C)`` (pixel attributions, same layout as the images).
        target: None (top class), an int or one per image.
        perturbation: ``"gaussian"`` (``I ~ N(0, stddev^2)`` per element, Yeh et al.'s noisy
            baseline) or a function ``(images (M, H, W, C) numpy, rng) -> I (M, H, W, C)``
            drawing from the given ``numpy.random.Generator``.
        stddev: standard deviation of the Gaussian perturbation, in the model's input scale.
        samples: perturbations per image.
        normalize: rescale the attribution optimally first (Captum's ``normalize``).
        output: ``"logits"`` (default), ``"probabilities"`` or ``"raw"``.
        seed: seed of the perturbations.
        batch_size: perturbed images per forward pass.

    Returns:
        (N,) infidelity per image.

    Example:
        >>> attr = tfattr.Saliency(model, abs=False).explain(x, target=1)
        >>> scores = tfattr.metrics.infidelity(model, x, attr, target=1, stddev=0.05, seed=0)

    Reference: Yeh, Hsieh, Suggala, Inouye, Ravikumar, "On the (In)fidelity and Sensitivity of
    Explanations", NeurIPS 2019.
    """
    samples = check_positive_int(samples, "samples")
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize: expected True or False, got {normalize!r}.")
    if perturbation == "gaussian":
        stddev = _check_number(stddev, "stddev")
    elif not callable(perturbation):
        raise ValueError(
            f"perturbation: expected 'gaussian' or a function (images, rng) -> perturbations, "
            f"got {perturbation!r}."
        )
    seed = check_seed(seed)
    engine = model_engine(model, output=output, batch_size=batch_size)
    x, _ = as_images(images, engine.adapter, name="images")
    targets = resolve_targets(engine, x, target)
    a = tf.constant(_pixel_attributions(attributions, x))
    n = int(x.shape[0])
    rng = np.random.default_rng(seed)

    clean = _target_scores(engine, x, targets)
    dots, diffs = np.empty(n * samples), np.empty(n * samples)
    for start, end in chunks(n * samples, engine.batch_size):
        row = tf.range(start, end)
        image, sample = row // samples, row % samples
        x_rows = tf.gather(x, image)
        if perturbation == "gaussian":
            # Draw s is shared by the images: an image's result does not depend on its batch.
            noise = stddev * normal_rows(seed, sample, tuple(x.shape[1:]), stream=11)
        else:
            noise = _user_perturbation(perturbation, x_rows, rng)
        dots[start:end] = tf.reduce_sum(noise * tf.gather(a, image), axis=[1, 2, 3]).numpy()
        diffs[start:end] = clean[image.numpy()] - _target_scores(
            engine, x_rows - noise, tf.gather(targets, image)
        )
    dots, diffs = dots.reshape(n, samples), diffs.reshape(n, samples)
    if normalize:
        power = np.mean(dots * dots, axis=1, keepdims=True)
        beta = np.where(power > 0, np.mean(dots * diffs, axis=1, keepdims=True), 0.0) / np.where(
            power > 0, power, 1.0
        )
        dots = beta * dots
    return np.mean((dots - diffs) ** 2, axis=1)


def _pixel_attributions(attributions, x: tf.Tensor) -> np.ndarray:
    a = np.asarray(attributions.numpy() if hasattr(attributions, "numpy") else attributions)
    if a.shape == tuple(x.shape[1:]) and x.shape[0] == 1:
        a = a[None]
    if a.shape != tuple(x.shape):
        raise ValueError(
            f"attributions: expected the images' shape {tuple(x.shape)}, got {a.shape}; "
            f"infidelity needs pixel attributions (not channel-reduced or CAM maps)."
        )
    if not np.all(np.isfinite(a)):
        raise ValueError("attributions: contains NaN or infinite values; fix the explanation.")
    return a.astype(np.float32)


def _user_perturbation(perturbation, x_rows: tf.Tensor, rng) -> tf.Tensor:
    noise = np.asarray(perturbation(x_rows.numpy(), rng), np.float32)
    if noise.shape != tuple(x_rows.shape) or not np.all(np.isfinite(noise)):
        raise ValueError(
            f"perturbation: the function must return finite perturbations of shape "
            f"{tuple(x_rows.shape)} (one per image row), got {noise.shape}."
        )
    return tf.constant(noise)


def sensitivity_max(
    explainer,
    images,
    target=None,
    *,
    radius: float = 0.02,
    samples: int = 10,
    norm: str = "fro",
    seed: int | None = None,
) -> np.ndarray:
    """Max-sensitivity: the largest relative change of the explanation within a small ball.

    ``SENS_MAX = max_{||d||_inf <= radius} ||E(x + d) - E(x)|| / ||E(x)||`` estimated with
    ``samples`` uniform draws of ``d`` (Captum's ``sensitivity_max`` with its default perturbation
    and normalisation by the explanation's norm). The target class is that of the clean image.
    Lower is better.

    Args:
        explainer: an :class:`~tfattr.core.explainer.Explainer` (or a function
            ``(images, target) -> attributions``, in which case ``target`` must be given).
        images: ``(N, H, W, C)`` or one image.
        target: None (each clean image's top class), an int or one per image.
        radius: half-width of the uniform perturbation, in the model's input scale.
        samples: perturbations per image.
        norm: ``"fro"`` (Frobenius / L2, default) or ``"inf"`` (max abs).
        seed: seed of the perturbations.

    Returns:
        (N,) sensitivity per image (NaN with a warning where the explanation itself is zero).

    Example:
        >>> scores = tfattr.metrics.sensitivity_max(tfattr.Saliency(model), x, radius=0.05, seed=0)

    Reference: Yeh et al., "On the (In)fidelity and Sensitivity of Explanations", NeurIPS 2019.
    """
    radius = _check_number(radius, "radius")
    samples = check_positive_int(samples, "samples")
    if norm not in ("fro", "inf"):
        raise ValueError(f"norm: expected 'fro' or 'inf', got {norm!r}.")
    seed = check_seed(seed)
    explain, adapter = _explain_function(explainer, target)
    x, _ = as_images(images, adapter, name="images")
    if isinstance(explainer, Explainer):
        targets = resolve_targets(explainer.engine, x, target)
    else:
        targets = target
    reference = np.asarray(explain(x, targets), np.float64).reshape(x.shape[0], -1)

    def size(v):
        return np.sqrt((v * v).sum(axis=1)) if norm == "fro" else np.abs(v).max(axis=1)

    worst = np.zeros(len(reference))
    shape = tuple(x.shape[1:])
    for sample in range(samples):
        # Draw s is shared by the images: an image's result does not depend on its batch.
        noise = radius * (2.0 * uniform_rows(seed, tf.constant([sample]), shape, stream=12) - 1.0)
        moved = np.asarray(explain(x + noise, targets), np.float64).reshape(x.shape[0], -1)
        worst = np.maximum(worst, size(moved - reference))
    scale = size(reference)
    if np.any(scale == 0):
        warnings.warn(
            f"sensitivity_max: the explanation is zero for images "
            f"{np.flatnonzero(scale == 0).tolist()}, so its relative change is undefined (NaN).",
            RuntimeWarning,
            stacklevel=2,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scale > 0, worst / np.where(scale > 0, scale, 1.0), np.nan)


def _explain_function(explainer, target):
    """``(explain(images, targets) -> array, adapter or None)`` for an explainer or a function."""
    if isinstance(explainer, Explainer):

        def explain(images, targets):
            result = explainer.explain(images, target=targets)
            # Methods that also return a convergence delta: keep the attributions.
            return (result[0] if isinstance(result, tuple) else result).numpy()

        return explain, explainer.adapter
    if callable(explainer):
        if target is None:
            raise ValueError(
                "target: required when explainer is a plain function, so that every perturbed "
                "image is explained for the same class; pass target=<class index(es)>."
            )
        return (lambda images, targets: np.asarray(explainer(images, targets))), None
    raise TypeError(
        f"explainer: expected a tfattr explainer (e.g. tfattr.Saliency(model)) or a function "
        f"(images, target) -> attributions, got {type(explainer).__name__}."
    )


# ------------------------------------------------------------------------------------------
# Pointing game


@dataclasses.dataclass
class PointingResult:
    """Localisation of attributions against ground-truth masks.

    Attributes:
        hits: (N,) bool, whether the attribution's maximum lies in the (tolerance-dilated) mask.
        energy: (N,) share of the positive attribution mass inside the mask, in [0, 1].
        accuracy: mean of ``hits``.

    Example:
        >>> result = tfattr.metrics.pointing_game(tfattr.GradCAM(model).explain(x), masks)
        >>> result.hits.dtype, result.energy.shape
        (dtype('bool'), (2,))
    """

    hits: np.ndarray
    energy: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.hits))


def pointing_game(attributions, masks, *, tolerance: int = 0) -> PointingResult:
    """Pointing game: is the most attributed pixel inside the object's mask?

    Channels are summed; a hit is counted when the maximum of the map (any of them, on ties)
    falls in the mask dilated by ``tolerance`` pixels (the original paper uses 15 pixels on
    ImageNet-size images). The energy-based variant (Score-CAM) is returned as well: the share
    of the positive attribution inside the (undilated) mask.

    Args:
        attributions: ``(N, H, W, C)`` or ``(N, H, W)`` (or one map).
        masks: ``(N, H, W)`` (or ``(N, H, W, 1)``) booleans or 0/1, True on the object.
        tolerance: dilation of the mask in pixels for the hit test.

    Returns:
        A :class:`PointingResult` with ``hits``, ``energy`` and ``accuracy``.

    Example:
        >>> cam = tfattr.GradCAM(model).explain(x)
        >>> result = tfattr.metrics.pointing_game(cam, masks, tolerance=15)
        >>> result.hits.shape, 0 <= result.accuracy <= 1
        ((2,), True)

    References: Zhang et al., "Top-down Neural Attention by Excitation Backprop", ECCV 2016;
    Wang et al., "Score-CAM", CVPR Workshops 2020 (energy-based pointing game).
    """
    mask = _masks(masks)
    n = len(mask)
    maps = attribution_maps(attributions, None, size=mask.shape)
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Integral) or tolerance < 0:
        raise ValueError(f"tolerance: expected an int >= 0 (pixels), got {tolerance!r}.")
    near = _dilate(mask, int(tolerance))
    peaks = maps == maps.reshape(n, -1).max(axis=1)[:, None, None]
    hits = np.any(peaks & near, axis=(1, 2))
    return PointingResult(hits=hits, energy=_energy(maps, mask))


def pointing_tolerance(image_size) -> int:
    """Pointing-game tolerance in pixels: Zhang et al.'s 15 px at 224 px, scaled to the image.

    Args:
        image_size: ``(height, width)`` of the images.

    Returns:
        The tolerance in pixels (at least 1), for :func:`pointing_game`.

    Example:
        >>> tfattr.metrics.pointing_tolerance((448, 448))
        30
    """
    return max(1, round(15 * max(image_size) / 224))


def energy_pointing_game(attributions, masks) -> np.ndarray:
    """Energy-based pointing game: share of the positive attribution mass inside the mask.

    ``sum(max(a, 0) * mask) / sum(max(a, 0))`` per image (channels summed first).

    Args:
        attributions: ``(N, H, W, C)`` or ``(N, H, W)``.
        masks: ``(N, H, W)`` booleans, True on the object.

    Returns:
        (N,) values in [0, 1]; NaN with a warning where the map has no positive mass.

    Example:
        >>> energy = tfattr.metrics.energy_pointing_game(tfattr.GradCAM(model).explain(x), masks)
        >>> energy.shape          # the share of each map's positive mass inside its mask
        (2,)

    Reference: Wang et al., "Score-CAM: Score-Weighted Visual Explanations for CNNs", 2020.
    """
    mask = _masks(masks)
    return _energy(attribution_maps(attributions, None, size=mask.shape), mask)


def _masks(masks) -> np.ndarray:
    m = np.asarray(masks.numpy() if hasattr(masks, "numpy") else masks)
    if m.ndim == 4 and m.shape[-1] == 1:
        m = m[..., 0]
    if m.ndim == 2:
        m = m[None]
    if m.ndim != 3:
        raise ValueError(f"masks: expected (N, H, W) booleans, got shape {m.shape}.")
    if not (m.dtype == np.bool_ or np.all((m == 0) | (m == 1))):
        raise ValueError("masks: expected booleans or 0/1 values (True on the object).")
    return m.astype(bool)


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius == 0:
        return mask
    pooled = tf.nn.max_pool2d(tf.constant(mask[..., None], tf.float32), 2 * radius + 1, 1, "SAME")
    return pooled.numpy()[..., 0] > 0


def _energy(maps: np.ndarray, mask: np.ndarray) -> np.ndarray:
    positive = np.maximum(maps, 0.0)
    total = positive.sum(axis=(1, 2))
    if np.any(total == 0):
        warnings.warn(
            f"energy pointing game: no positive attribution in images "
            f"{np.flatnonzero(total == 0).tolist()}; their energy is NaN.",
            RuntimeWarning,
            stacklevel=3,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            total > 0, (positive * mask).sum(axis=(1, 2)) / np.where(total > 0, total, 1), np.nan
        )


# ------------------------------------------------------------------------------------------
# Plots


def plot_curves(results, ax=None, *, labels=None, image: int | None = None):
    """Plots deletion/insertion curves: the mean over images (or one image) per result.

    Args:
        results: a :class:`CurveResult` or a list of them (e.g. one per method).
        ax: a matplotlib Axes (a new figure when None).
        labels: legend labels, one per result (default: the kind and mean AUC).
        image: plot this image's curve instead of the mean.

    Returns:
        ``(figure, axes)``.

    Example:
        >>> a1 = tfattr.Saliency(model).explain(x)
        >>> a2 = tfattr.IntegratedGradients(model, steps=16).explain(x)
        >>> curves = [tfattr.metrics.deletion(model, x, a) for a in (a1, a2)]
        >>> fig, ax = tfattr.metrics.plot_curves(curves, labels=["Saliency", "IG"])
    """
    import matplotlib.pyplot as plt

    if isinstance(results, CurveResult):
        results = [results]
    if labels is not None and len(labels) != len(results):
        raise ValueError(f"labels: expected {len(results)} labels, got {len(labels)}.")
    fig, ax = plt.subplots(figsize=(4.5, 3.5)) if ax is None else (ax.figure, ax)
    for k, result in enumerate(results):
        curve = result.curves.mean(axis=0) if image is None else result.curves[image]
        auc = result.auc.mean() if image is None else result.auc[image]
        label = labels[k] if labels is not None else result.kind
        ax.plot(result.fractions, curve, label=f"{label} (AUC {auc:.3f})")
        ax.fill_between(result.fractions, curve, alpha=0.1)
    kinds = {r.kind for r in results}
    ax.set_xlabel("fraction of pixels " + ("removed" if kinds == {"deletion"} else "changed"))
    ax.set_ylabel("target score")
    ax.set_title(" / ".join(sorted(kinds)))
    ax.legend(fontsize="small")
    return fig, ax
