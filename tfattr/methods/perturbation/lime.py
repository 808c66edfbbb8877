"""LIME and Kernel SHAP over segments: a linear surrogate fitted to the model's perturbed scores.

Both draw binary vectors ``z`` (which segments are kept; removed ones take the baseline), score
the composed images, and fit ``F(compose(z)) ~ c + z . phi`` by weighted least squares; ``phi``
is the attribution of each segment. The forward passes run through the engine, ``batch_size``
rows at a time, with ``z`` drawn on the device from ``(seed, sample index)`` (the images of a
call share the draws, so a result does not depend on the batch). Instead of keeping
the ``samples`` scores, each row adds its terms of the normal equations ``w [1 z][1 z]^T`` and
``w [1 z] y`` to a per-image sum (memory ``O(segments^2)`` per image, not ``O(samples)``); the
small solve is done on the host in float64, per image.
"""

from __future__ import annotations

import abc

import numpy as np
import tensorflow as tf

from tfattr.core import random
from tfattr.core import segments as seg
from tfattr.core.engine import Plan
from tfattr.core.explainer import Explainer
from tfattr.core.inputs import check_positive_int, check_seed
from tfattr.core.targets import pick, pick_each, top

MAX_FEATURES = 1024  # each row adds a (1 + M) x (2 + M) float32 system: 4 MB at this bound


class _Surrogate(Explainer):
    """Shared machinery: segmentation, the sampled plan, the per-image solve."""

    defaults = {
        "samples": 1000,
        "segments": "slic",
        "n_segments": 50,
        "baseline": 0.0,
        "seed": None,
    }

    def check_options(self, options):
        check_positive_int(options["samples"], "samples")
        seg.check(options["segments"], options["n_segments"])
        check_seed(options["seed"])

    @abc.abstractmethod
    def draw(self, seed, sample, features, counts_rows):
        """Binary ``(B, M_max)`` float vectors for the rows' sample indices."""

    def weight(self, x_rows, points, on, tensors):
        """Per-row regression weights ``(B,)``."""
        return tf.ones(tf.shape(on)[:1])

    def weight_tensors(self, options) -> dict:
        """Option values :meth:`weight` reads inside the compiled step."""
        return {}

    @abc.abstractmethod
    def solve(self, normal, counts, clean, options):
        """Per-image coefficients ``(N, M_max)`` from the summed normal equations.

        ``normal`` is ``(N, 1 + M_max, 2 + M_max)``: the Gram matrix of ``[1 z]`` and, in the
        last column, its products with ``y = F(sample) - F(baseline)``; ``clean`` is
        ``F(x) - F(baseline)`` per image.
        """

    def attribute(self, x, targets, options):
        seed = check_seed(options["seed"])
        scores = self.engine.scores(x)
        if targets is None:
            targets = top(scores)
        image_shape = tuple(x.shape[1:])
        labels, counts = seg.segment(x, options["segments"], options["n_segments"])
        if counts.max() > MAX_FEATURES:
            raise ValueError(
                f"segments: {int(counts.max())} segments in one image; the surrogate keeps a "
                f"(segments x segments) system per row, so use at most {MAX_FEATURES} (e.g. "
                f"superpixels instead of pixels)."
            )
        baseline = seg.baseline_value(options["baseline"], image_shape)
        baseline_scores = pick_each(self.engine.scores(baseline), targets)[0]
        draw, weight = self.draw, self.weight
        # Static width of the draws, rounded up so that other segment counts rarely retrace;
        # element j's draw does not depend on the width, and segments past M_i are never kept.
        features = -(-int(counts.max()) // 32) * 32

        def build(images, rows, tensors):
            counts_rows = tf.gather(tensors["counts"], rows.image)
            on = draw(tensors["seed"], rows.point, features, counts_rows)
            points = seg.compose(
                images, tf.gather(tensors["labels"], rows.image), on, tensors["baseline"]
            )
            w = weight(images, points, on, tensors)
            return points, (on, w, tf.gather(tensors["offset"], rows.image))

        def value(points, row_targets, coef, adapter):
            on, w, offset = coef
            # Centred on F(baseline): smaller sums, less float32 cancellation.
            y = pick(adapter(points), row_targets) - offset
            design = tf.concat([tf.ones_like(on[:, :1]), on], axis=1)  # (B, 1 + M_max)
            weighted = w[:, None] * design
            gram = weighted[:, :, None] * design[:, None, :]
            return tf.concat([gram, (weighted * y[:, None])[:, :, None]], axis=2)

        plan = Plan(
            points=options["samples"],
            build=build,
            key=(type(self).__name__, features),
            tensors={
                "labels": labels,
                "counts": counts,
                "baseline": baseline,
                "offset": baseline_scores,
                "seed": tf.constant(seed, tf.int64),
                **self.weight_tensors(options),
            },
            value=value,
        )
        normal = self.engine.run(x, targets, plan)["sum"].numpy().astype(np.float64)
        clean = pick(scores, targets).numpy() - baseline_scores.numpy()
        coefficients = self.solve(normal, counts, clean, options)
        return tf.broadcast_to(seg.spread(coefficients, labels), x.shape)


class Lime(_Surrogate):
    """LIME: a weighted ridge regression of the target score on which segments are kept.

    Sampling and weights follow Captum's ``Lime`` defaults: every segment is kept with
    probability 1/2; a sample's weight is the exponential kernel
    ``exp(-d^2 / (2 kernel_width^2))`` of the cosine distance ``d = 1 - cos(x, x_perturbed)``
    between the input and the perturbed image (flattened, in the model's input scale). The
    surrogate has an intercept. Captum fits a Lasso (``alpha=0.01``) and the ``lime`` package a
    ridge (``alpha=1``); here it is ridge regression with strength ``alpha`` (intercept not
    penalised), solved exactly from the accumulated normal equations; ``alpha=0`` is ordinary
    weighted least squares (minimum-norm when under-determined).

    Args:
        samples: perturbed images per input (forward passes). Default 1000 (``lime_image``'s
            ``num_samples``).
        segments: ``"slic"`` (default), ``"quickshift"`` (``lime_image``'s choice),
            ``"felzenszwalb"``, or an int array of labels ``(H, W)`` / ``(N, H, W)``.
        n_segments: superpixels SLIC aims at. Default 50.
        baseline: value of removed segments (number or array broadcastable to one image).
            Default 0.
        kernel_width: width of the exponential kernel. Default 1.0 (Captum).
        alpha: ridge strength. Default 1.0.
        seed: seed of the samples; the same seed gives identical results.

    Returns from ``explain``: ``(N, H, W, C)`` float32, each segment's coefficient on its
    elements.

    Example:
        >>> attr = tfattr.Lime(model, samples=500, seed=0).explain(images, target=3)

    Reference: Ribeiro, Singh, Guestrin, "'Why Should I Trust You?': Explaining the Predictions
    of Any Classifier", KDD 2016.
    """

    defaults = {**_Surrogate.defaults, "kernel_width": 1.0, "alpha": 1.0}

    def check_options(self, options):
        super().check_options(options)
        for name in ("kernel_width", "alpha"):
            value = options[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}: expected a number >= 0, got {value!r}.")
        if options["kernel_width"] == 0:
            raise ValueError("kernel_width: expected a positive number, got 0.")

    def draw(self, seed, sample, features, counts_rows):
        u = random.uniform_rows(seed, sample, (features,), stream=21)
        exists = tf.range(features)[None, :] < counts_rows[:, None]
        return tf.cast((u < 0.5) & exists, tf.float32)

    def weight_tensors(self, options):
        return {"kernel_width": tf.constant(float(options["kernel_width"]), tf.float32)}

    def weight(self, x_rows, points, on, tensors):
        flat_x = tf.reshape(x_rows, (tf.shape(x_rows)[0], -1))
        flat_p = tf.reshape(points, (tf.shape(points)[0], -1))
        norms = tf.norm(flat_x, axis=1) * tf.norm(flat_p, axis=1)
        cosine = tf.reduce_sum(flat_x * flat_p, axis=1) / tf.maximum(norms, 1e-12)
        return tf.exp(-tf.square(1.0 - cosine) / (2.0 * tf.square(tensors["kernel_width"])))

    def solve(self, normal, counts, clean, options):
        out = np.zeros((normal.shape[0], normal.shape[1]))
        for i, m in enumerate(counts):
            gram = normal[i, : m + 1, : m + 1]
            rhs = normal[i, : m + 1, -1]
            penalty = np.full(m + 1, float(options["alpha"]))
            penalty[0] = 0.0  # no penalty on the intercept
            solution = np.linalg.lstsq(gram + np.diag(penalty), rhs, rcond=None)[0]
            out[i, :m] = solution[1:]
        return out[:, :-1]


class KernelShap(_Surrogate):
    """Kernel SHAP: Shapley values of segments from the Shapley-kernel weighted regression.

    Sampling follows Captum's ``KernelShap``: a sample keeps ``k`` of the ``M`` segments, ``k``
    drawn from ``1 .. M-1`` with probability proportional to the Shapley kernel
    ``(M - 1) / (k (M - k))`` and the ``k`` segments uniformly; all samples then weigh 1.
    Captum adds the all-kept and all-removed samples with weight 10^6 so that the fit nearly
    satisfies ``phi_0 = F(baseline)`` and ``sum(phi) = F(x) - F(baseline)``; here those two
    equations are imposed exactly (the weight's limit), so efficiency holds to rounding.
    ``samples`` counts the random samples only.

    Args:
        samples: random coalitions per input (forward passes). Default 1000.
        segments: ``"slic"`` (default), ``"quickshift"``, ``"felzenszwalb"``, or an int array
            of labels ``(H, W)`` / ``(N, H, W)``.
        n_segments: superpixels SLIC aims at. Default 50.
        baseline: value of removed segments (number or array broadcastable to one image).
            Default 0.
        seed: seed of the samples; the same seed gives identical results.

    Returns from ``explain``: ``(N, H, W, C)`` float32, each segment's Shapley value ``phi_j``
    on every element of the segment (as Captum with a feature mask), so ``sum_j phi_j`` (one
    value per segment, not the sum over pixels) equals ``F(x) - F(baseline)``.

    Example:
        >>> attr = tfattr.KernelShap(model, segments=labels, seed=0).explain(images, target=3)

    Reference: Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions",
    NeurIPS 2017.
    """

    def draw(self, seed, sample, features, counts_rows):
        m = tf.cast(counts_rows, tf.float32)[:, None]  # (B, 1)
        k = tf.cast(tf.range(1, tf.maximum(features, 2)), tf.float32)[None, :]  # 1 .. M_max-1
        kernel = tf.where(k < m, (m - 1.0) / (k * tf.maximum(m - k, 1.0)), 0.0)
        cdf = tf.math.cumsum(kernel, axis=1) / tf.maximum(tf.reduce_sum(kernel, 1, True), 1e-30)
        u_size = random.uniform_rows(seed, sample, (), stream=22)
        size = 1 + tf.reduce_sum(tf.cast(cdf < u_size[:, None], tf.int32), axis=1)
        u = random.uniform_rows(seed, sample, (features,), stream=23)
        exists = tf.range(features)[None, :] < counts_rows[:, None]
        u = tf.where(exists, u, 2.0)
        threshold = tf.gather(tf.sort(u, axis=1), size - 1, axis=1, batch_dims=1)
        keep = (u <= threshold[:, None]) & exists & (counts_rows[:, None] > 1)
        return tf.cast(keep, tf.float32)

    def solve(self, normal, counts, clean, options):
        out = np.zeros((normal.shape[0], normal.shape[1]))
        for i, m in enumerate(counts):
            if m == 1:
                out[i, 0] = clean[i]
                continue
            # y is centred on F(baseline), so the intercept is 0; sum(phi) = F(x) - F(b) is
            # imposed with a Lagrange multiplier.
            gram = normal[i, 1 : m + 1, 1 : m + 1]
            rhs = normal[i, 1 : m + 1, -1]
            system = np.zeros((m + 1, m + 1))
            system[:m, :m], system[:m, m], system[m, :m] = gram, 1.0, 1.0
            solution = np.linalg.lstsq(system, np.append(rhs, clean[i]), rcond=None)[0]
            out[i, :m] = solution[:m]
        return out[:, :-1]
