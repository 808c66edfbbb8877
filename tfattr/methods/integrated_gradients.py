"""Integrated Gradients (Sundararajan, Taly, Yan 2017), with per-image steps for a requested accuracy."""

from __future__ import annotations

import numbers

import numpy as np
import tensorflow as tf

from tfattr.core import convergence
from tfattr.core.engine import Plan, fused, gradients
from tfattr.core.explainer import ReferenceExplainer
from tfattr.core.inputs import check_positive_int, check_seed
from tfattr.core.quadrature import RULES, rule, trapezoid_midpoints
from tfattr.core.targets import pick, pick_each

# steps="auto" cuts the path into this many pieces, refined separately (first round: 9 points).
SEGMENTS = 8


@fused
def _interpolate(x, b, alpha):
    return b + alpha * (x - b)


@fused
def _interpolate_rows(images, image, b, alpha):
    x = tf.gather(images, image)
    return b + alpha * (x - b)


class IntegratedGradients(ReferenceExplainer):
    """Path integral of gradients from a baseline ``b`` to the input ``x``.

    ``IG(x) = (x - b) * integral_0^1 dF(b + a (x - b))/dx da``, approximated with ``steps``
    gradient evaluations by the rule ``method`` (weights summing to 1; see
    :mod:`tfattr.core.quadrature` for each rule and how ``riemann_trapezoid`` differs from
    Captum 0.9). With a stack of K baselines the K results are averaged.

    Completeness: ``sum(IG) = F(x) - F(b)`` for the exact integral; the rule's error shows in
    ``delta = sum(IG) - (F(x) - mean_k F(b_k))`` per image (``return_convergence_delta=True``).

    **Steps to a requested accuracy** (``steps="auto"``): each image (each image and baseline,
    for a stack) is refined until ``|delta| <= tolerance * |F(x) - F(b)|``. The path is cut
    into 8 equal pieces; the first round evaluates their 9 ends. Every point's score is read
    with its gradient, so each piece's own completeness error (its trapezoid sum minus
    ``F(end) - F(start)``) is exact and costs no extra model call. While an image misses the
    tolerance, each of its pieces whose error exceeds ``tolerance / 8`` of ``|F(x) - F(b)|``
    doubles its intervals: ``n`` points become ``2n - 1`` at the cost of the ``n - 1`` new
    midpoints (earlier gradients are kept), most errors being where the gradient changes
    fastest (near a black baseline, on photos). The pieces that need work run together across
    images, one engine run per refinement level, and the host reads one small vector per
    round. An image stops when refining any piece would exceed ``max_steps`` points; those
    that still miss the tolerance are named in a
    :class:`~tfattr.core.convergence.ConvergenceWarning`. Where ``|F(x) - F(b)|`` is under 1 %
    of the scores' size ``(|F(x)| + |F(b)|) / 2``, the tolerance is taken relative to that 1 %
    instead (a floor for images whose score barely changes). An image's result is the
    trapezoid rule on the points it used; where all its pieces reach the same level (e.g. a
    tight tolerance with ``max_steps = 8 * 2^r + 1``) it equals a fixed ``steps`` trapezoid
    run to float precision. See ``docs/guides/ig_accuracy.md``.

    What the tolerance guarantees: the attributions add up to ``F(x) - F(b)`` within it
    (completeness). It does not bound the error of each pixel's value: the rule's errors can
    cancel in the sum, so the map of a converged image can still move (less and less) with more
    steps. A fixed-``steps`` call whose ``|delta|`` exceeds 5 % of ``|F(x) - F(b)|`` for some
    image warns (:func:`tfattr.core.convergence.warn_inaccurate`), naming the images.

    Args:
        steps: gradient evaluations along the path per image and baseline (Captum's
            ``n_steps``), or ``"auto"`` (the trapezoid rule refined per image, where the
            path needs it, until ``tolerance`` is met). Default 50.
        method: ``riemann_trapezoid`` (default), ``riemann_left``, ``riemann_right``,
            ``riemann_middle`` or ``gausslegendre``; ``steps="auto"`` needs the trapezoid rule
            (the only one whose points nest).
        tolerance: ``steps="auto"``: the largest acceptable ``|delta| / |F(x) - F(b)|``.
            Default 0.01.
        max_steps: ``steps="auto"``: the most points per image and baseline (at least 9).
            Default 1025.
        baseline: ``None`` (zeros, default), ``"black"``, ``"white"``, ``"uniform"``,
            ``"blur"``, a tensor broadcastable to one image, or a stack ``(K, H, W, C)`` (see
            :mod:`tfattr.core.baselines`).
        return_convergence_delta: also return the completeness error per image.
        return_steps: also return the points used per image (int32 ``(N,)``, or ``(N, K)``
            for a stack of K baselines); with a fixed ``steps`` every entry is ``steps``.
        seed: seed of the ``"uniform"`` baseline.
        value_range: ``(low, high)`` of the input scale for ``"black"``/``"white"``/
            ``"uniform"`` (default: the preprocessing of a ModelSpec the explainer was built
            on, else zeros for black and each image's own minimum and maximum).
        blur_sigma: Gaussian sigma in pixels for ``"blur"`` (default: the larger side / 8).

    Returns (of ``explain``): the attributions, then the deltas if
    ``return_convergence_delta``, then the steps if ``return_steps``.

    Example:
        >>> ig = tfattr.IntegratedGradients(model, steps="auto", tolerance=0.01)
        >>> attr, delta, steps = ig.explain(images, target=[386, 101],
        ...                                 return_convergence_delta=True, return_steps=True)

    Reference: Sundararajan, Taly, Yan, "Axiomatic Attribution for Deep Networks", ICML 2017.
    """

    defaults = {
        "steps": 50,
        "method": "riemann_trapezoid",
        "tolerance": 0.01,
        "max_steps": 1025,
        "baseline": None,
        "return_convergence_delta": False,
        "return_steps": False,
        "seed": None,
        "value_range": None,
        "blur_sigma": None,
    }

    def check_options(self, options):
        method, steps = options["method"], options["steps"]
        if method not in RULES:
            raise ValueError(f"method: expected one of {RULES}, got {method!r}.")
        tolerance = options["tolerance"]
        if (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, numbers.Real)
            or not 0 < tolerance < np.inf
        ):
            raise ValueError(f"tolerance: expected a number > 0 (e.g. 0.01), got {tolerance!r}.")
        check_positive_int(options["max_steps"], "max_steps", minimum=SEGMENTS + 1)
        if isinstance(steps, str):
            if steps != "auto":
                raise ValueError(f"steps: expected 'auto' or an int, got {steps!r}.")
            if method != "riemann_trapezoid":
                raise ValueError(
                    f"steps='auto' refines the trapezoid rule, whose points nest; "
                    f"method={method!r} has no nested points. Use method='riemann_trapezoid' "
                    f"with steps='auto', or a fixed int steps."
                )
        else:
            rule(method, steps)  # validates steps for the rule
        check_seed(options["seed"])

    # -------------------------------------------------------------------------------------
    def attribute(self, x, targets, options):
        if targets is None:
            targets = self.top_classes(x)
        baselines = self.baselines(x, options)
        if options["steps"] == "auto":
            attr, delta, steps = self._adaptive(x, targets, baselines, options)
        else:
            attr, delta, steps = self._fixed(x, targets, baselines, options)
        if not (options["return_convergence_delta"] or options["return_steps"]):
            return attr
        result = (attr,)
        if options["return_convergence_delta"]:
            result += (delta,)
        if options["return_steps"]:
            result += (steps,)
        return result

    def plan(self, x, options):
        """The fixed-steps plan (attributions only), for wrappers such as NoiseTunnel."""
        if options["steps"] == "auto" or options["return_steps"]:
            raise ValueError(
                "steps='auto' and return_steps need IntegratedGradients.explain (each image "
                "gets its own steps there); a wrapper that runs IG on other inputs "
                "(NoiseTunnel) needs an int steps."
            )
        alphas, weights = rule(options["method"], options["steps"])
        baselines = self.baselines(x, options)
        return self._path_plan(alphas, weights, None, baselines, self._first(x, baselines), True)

    # -------------------------------------------------------------------------------------
    @staticmethod
    def _first(x, baselines):
        """The row of ``baselines.values`` holding each image's first baseline."""
        n = int(x.shape[0])
        if baselines.per_image:
            return np.arange(n, dtype=np.int32) * baselines.count
        return np.zeros(n, np.int32)

    def _path_plan(self, alphas, weights, signs, baselines, first, stack: bool, spans=None) -> Plan:
        """Rows ``b + alpha (x - b)`` weighted by ``weights``, for each engine image and each of
        its baselines (``stack``: all ``baselines.count`` of them, averaged; else the one at row
        ``first[image]``). ``spans``: optional ``(offsets, lengths)`` per engine image, which
        then covers the piece ``offset + length * alphas`` of the path.

        With ``signs`` (+1 at alpha = 1, -1 at alpha = 0, 0 elsewhere) each row also carries
        ``sign * F(point)`` and ``|sign| * |F(point)|``: their sums per image are
        ``F(x) - F(b)`` and ``|F(x)| + |F(b)|``, read off the path's ends at no extra cost.
        """
        layout = baselines.layout
        single = layout == "single"
        count = baselines.count if stack else 1
        # (x - b) is the same for all rows of an image: applied once per image by `factor`.
        per_image_factor = count == 1
        scores = signs is not None
        pieces = spans is not None

        def baseline(tensors, image, k):
            if single:  # (1, H, W, C), broadcast: no copy per row
                return tensors["baselines"]
            return tf.gather(tensors["baselines"], tf.gather(tensors["first"], image) + k)

        def make_rows(x_rows, rows, tensors):
            steps = tf.shape(tensors["alphas"])[0]
            step, k = rows.point % steps, rows.point // steps
            b = baseline(tensors, rows.image, k)
            alpha = tf.gather(tensors["alphas"], step)
            if pieces:
                alpha = tf.gather(tensors["offsets"], rows.image) + alpha * tf.gather(
                    tensors["lengths"], rows.image
                )
            alpha = tf.reshape(alpha, (-1, 1, 1, 1))
            weight = tf.gather(tensors["weights"], step)
            if rows.images is not None:  # x_rows are plain copies: gather inside the fused build
                point = _interpolate_rows(rows.images, rows.image, b, alpha)
            else:
                point = _interpolate(x_rows, b, alpha)
            multiplier = None
            if not per_image_factor:
                weight = weight / tf.cast(tensors["baseline_count"], tf.float32)
                multiplier = x_rows - b
            if not scores:
                if multiplier is None:
                    return point, weight
                return point, tf.reshape(weight, (-1, 1, 1, 1)) * multiplier
            sign = tf.gather(tensors["signs"], step)
            if not per_image_factor:
                sign = sign / tf.cast(tensors["baseline_count"], tf.float32)
            return point, (weight, sign, multiplier)

        def attribute(points, targets, coef, adapter):
            weight, sign, multiplier = coef
            grads, outputs = gradients(adapter, points, targets, scale=weight)
            if multiplier is not None:
                grads = grads * multiplier
            picked = tf.cast(pick(outputs, targets), tf.float32)
            ends = tf.stack([sign * picked, tf.abs(sign) * tf.abs(picked)], axis=1)
            return tf.concat([tf.reshape(grads, (tf.shape(grads)[0], -1)), ends], axis=1)

        def factor(x_images, image, tensors):
            difference = x_images - baseline(tensors, image, tf.zeros_like(image))
            if not scores:
                return difference
            flat = tf.reshape(difference, (tf.shape(difference)[0], -1))
            return tf.concat([flat, tf.ones((tf.shape(flat)[0], 2), flat.dtype)], axis=1)

        tensors = {
            "alphas": tf.constant(alphas, tf.float32),
            "weights": tf.constant(weights, tf.float32),
            "first": tf.constant(first, tf.int32),
            **baselines.tensors,
        }
        if scores:
            tensors["signs"] = tf.constant(signs, tf.float32)
        if pieces:
            tensors["offsets"] = tf.constant(spans[0], tf.float32)
            tensors["lengths"] = tf.constant(spans[1], tf.float32)
        return Plan(
            points=len(alphas) * count,
            make_rows=make_rows,
            key=("integrated_gradients", single, per_image_factor, scores, pieces),
            factor=factor if per_image_factor else None,
            attribute=attribute if scores else None,
            tensors=tensors,
        )

    # -------------------------------------------------------------------------------------
    def _fixed(self, x, targets, baselines, options):
        """One run at the given steps; ``F(x) - F(b)`` from the path's ends (trapezoid rule)
        or from forward passes (the other rules), and the 5 % warning."""
        steps, method = options["steps"], options["method"]
        alphas, weights = rule(method, steps)
        n = int(x.shape[0])
        trapezoid = method == "riemann_trapezoid"
        # Every rule runs the same compiled step; only the trapezoid rule has both ends.
        signs = np.zeros(steps)
        if trapezoid:
            signs[[0, -1]] = (-1.0, 1.0)
        plan = self._path_plan(alphas, weights, signs, baselines, self._first(x, baselines), True)
        attr, difference, magnitude = _split_ends(self.engine.run(x, targets, plan)["sum"], x.shape)
        if not trapezoid:
            difference, magnitude = _score_terms(self.engine, x, targets, baselines)
        delta = tf.reduce_sum(tf.reshape(attr, (n, -1)), axis=1) - difference
        convergence.warn_inaccurate(
            delta.numpy(),
            difference.numpy(),
            magnitude.numpy(),
            method=f"{type(self).__name__}(steps={steps}, method={method!r})",
            fix="use steps='auto' (the fewest steps meeting tolerance=0.01 per image) or more "
            "steps",
            stacklevel=4,
        )
        shape = (n,) if baselines.count == 1 else (n, baselines.count)
        return attr, delta, tf.fill(shape, tf.constant(steps, tf.int32))

    def _adaptive(self, x, targets, baselines, options):
        """Per (image, baseline) unit: the path cut into ``SEGMENTS`` pieces, each refined by
        doubling its intervals while its own completeness error is above its share."""
        n, count = int(x.shape[0]), baselines.count
        tolerance, most = float(options["tolerance"]), int(options["max_steps"])
        units, pieces, length = n * count, SEGMENTS, 1.0 / SEGMENTS
        unit_image = np.repeat(np.arange(n, dtype=np.int32), count)
        unit_k = np.tile(np.arange(count, dtype=np.int32), n)
        unit_first = unit_image * count + unit_k if baselines.per_image else unit_k
        if count == 1:
            x_units, t_units = x, targets
        else:
            x_units, t_units = tf.gather(x, unit_image), tf.gather(targets, unit_image)

        # First round: the pieces' ends, one engine image each (an end's gradient belongs to the
        # two pieces beside it, so it is needed on its own); its score gives F there.
        end_unit = np.repeat(np.arange(units, dtype=np.int32), pieces + 1)
        end_at = np.tile(np.arange(pieces + 1), units) * length
        plan = self._path_plan(
            np.zeros(1),
            np.ones(1),
            np.ones(1),
            baselines,
            unit_first[end_unit],
            False,
            spans=(end_at, np.zeros(len(end_at))),
        )
        sums = self.engine.run(tf.gather(x_units, end_unit), tf.gather(t_units, end_unit), plan)[
            "sum"
        ]
        size = sums.shape[1] - 2
        maps = tf.reshape(sums[:, :size], (units, pieces + 1, size))
        # Per piece: its points' (x - b) * gradient, trapezoid-weighted (times length / level).
        totals = tf.reshape(0.5 * (maps[:, :-1] + maps[:, 1:]), (units * pieces, size))
        ends = tf.concat(
            [tf.reduce_sum(maps, axis=2), tf.reshape(sums[:, size], (units, pieces + 1))], 1
        ).numpy()  # one small read: each end's attribution sum and score
        h, at = ends[:, : pieces + 1], ends[:, pieces + 1 :]
        summed = 0.5 * (h[:, :-1] + h[:, 1:])
        exact = np.diff(at, axis=1)  # F at a piece's end minus F at its start: its integral
        difference = at[:, -1] - at[:, 0]
        magnitude = (np.abs(at[:, -1]) + np.abs(at[:, 0])) / 2
        limit = tolerance * convergence.reference(difference, magnitude)
        level = np.ones((units, pieces), np.int64)  # intervals per piece

        active = np.arange(units)
        while True:
            errors = summed * (length / level) - exact  # each piece's own completeness error
            active = active[np.abs(errors[active].sum(axis=1)) > limit[active]]
            chosen = []
            for u in active:
                budget = most - 1 - int(level[u].sum())
                for j in np.argsort(-np.abs(errors[u])):  # worst first, within max_steps
                    if abs(errors[u, j]) > limit[u] / pieces and level[u, j] <= budget:
                        chosen.append(u * pieces + j)
                        budget -= int(level[u, j])
            if not chosen:  # every unit converged, or none can refine within max_steps
                break
            chosen = np.array(chosen)
            flat_level = level.reshape(-1)
            reads, groups = [], []
            for m in np.unique(flat_level[chosen]):  # pieces at one level run together
                group = chosen[flat_level[chosen] == m]
                new = trapezoid_midpoints(int(m))  # m new points, each of weight 1
                owner = group // pieces
                plan = self._path_plan(
                    new,
                    np.ones(len(new)),
                    np.zeros(len(new)),
                    baselines,
                    unit_first[owner],
                    False,
                    spans=((group % pieces) * length, np.full(len(group), length)),
                )
                sums = self.engine.run(tf.gather(x_units, owner), tf.gather(t_units, owner), plan)[
                    "sum"
                ]
                # A plain tensor, not a variable: explain() may run inside a tf.distribute scope.
                totals = tf.tensor_scatter_nd_add(totals, group[:, None], sums[:, :size])
                reads.append(tf.reduce_sum(sums[:, :size], axis=1))
                groups.append(group)
            added = tf.concat(reads, 0).numpy()  # one small read per round
            summed.reshape(-1)[np.concatenate(groups)] += added
            level.reshape(-1)[chosen] *= 2

        scale = tf.constant((length / level).reshape(-1, 1), tf.float32)
        unit_attr = tf.reduce_sum(tf.reshape(totals * scale, (units, pieces, size)), axis=1)
        unit_delta = tf.reduce_sum(unit_attr, axis=1) - tf.constant(difference, tf.float32)
        used = level.sum(axis=1) + 1
        missed = np.abs(unit_delta.numpy()) > limit
        if missed.any():
            labels = [f"image {i}" for i in unit_image]
            if count > 1:
                labels = [
                    f"{label} / baseline {k}" for label, k in zip(labels, unit_k, strict=True)
                ]
            convergence.warn_inaccurate(
                unit_delta.numpy(),
                difference,
                magnitude,
                method=f"{type(self).__name__}(steps='auto', tolerance={tolerance:g})",
                fix=f"they used up to {int(used[missed].max())} points (max_steps={most}); raise "
                "max_steps or the tolerance",
                threshold=tolerance,
                labels=labels,
                stacklevel=4,
            )
        attr = tf.reduce_mean(tf.reshape(unit_attr, (n, count, -1)), axis=1)
        delta = tf.reduce_mean(tf.reshape(unit_delta, (n, count)), axis=1)
        steps = tf.constant(used.astype(np.int32))
        if count > 1:
            steps = tf.reshape(steps, (n, count))
        return tf.reshape(attr, x.shape), delta, steps


def _split_ends(sums, shape):
    """Attributions, ``F(x) - F(b)`` and ``(|F(x)| + |F(b)|) / 2`` from a scored run's sums."""
    size = sums.shape[1] - 2
    return tf.reshape(sums[:, :size], shape), sums[:, size], sums[:, size + 1] / 2


def _score_terms(engine, x, targets, baselines):
    """``F(x) - mean_k F(b_k)`` and ``(|F(x)| + mean_k |F(b_k)|) / 2`` by forward passes."""
    n = int(x.shape[0])
    at_input = engine.target_scores(x, targets)
    scores = engine.scores(baselines.values)
    if baselines.per_image:
        scores = tf.reshape(scores, (n, baselines.count, -1))
        at_baseline = pick(scores, targets)  # (N, K)
    else:
        at_baseline = tf.transpose(pick_each(scores, targets))  # (N, K)
    difference = at_input - tf.reduce_mean(at_baseline, axis=1)
    magnitude = (tf.abs(at_input) + tf.reduce_mean(tf.abs(at_baseline), axis=1)) / 2
    return difference, magnitude
