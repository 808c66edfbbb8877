"""Integrated Gradients (Sundararajan, Taly, Yan 2017), with per-image steps for a requested accuracy."""

from __future__ import annotations

import numbers

import numpy as np
import tensorflow as tf

from tfattr.core import baselines as base
from tfattr.core import convergence
from tfattr.core.engine import Plan, fused, gradients
from tfattr.core.explainer import ReferenceExplainer
from tfattr.core.inputs import check_positive_int, check_seed
from tfattr.core.quadrature import RULES, rule, trapezoid_midpoints
from tfattr.core.targets import pick, pick_each

# steps="auto" cuts the path into this many pieces, refined separately (first round: 9 points).
SEGMENTS = 8


@fused
def _path_point(images, image, b, alpha):
    """The point ``b + alpha (x - b)`` with ``x = images[image]``."""
    return b + alpha * (tf.gather(images, image) - b)


def _path_points(images, rows, b, alpha):
    """``_path_point`` of each row, gathering the images inside the fused kernel."""
    return _path_point(*rows.gathered(images), b, alpha)


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
            # One baseline: x - b is the same at all of an image's points: times their sum.
            single = baselines.count == 1
            plan = self.path(baselines, options, times_difference=not single, scores=True)
            result = self.engine.run(x, targets, plan)
            attr = (x - baselines.values) * result["sum"] if single else result["sum"]
            delta = self._check(x, targets, attr, baselines, options, result.get("scores"))
            shape = (int(x.shape[0]),) + ((baselines.count,) if baselines.count > 1 else ())
            steps = tf.fill(shape, tf.constant(options["steps"], tf.int32))
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
        return self.path(self.baselines(x, options), options)

    def path(self, baselines, options, times_difference=True, scores=False) -> Plan:
        """The path's points ``b_k + alpha_j (x - b_k)`` for every step ``j`` and baseline
        ``k``, each gradient weighted ``w_j (x - b_k) / K``: their sum is the attribution
        (without ``times_difference``: weighted ``w_j / K``, the sum to multiply by ``x - b``).
        ``scores``: the score at each point is returned too (for a rule whose points include
        both ends, ``alpha`` 0 and 1, F(b) and F(x) then need no model call of their own)."""
        alphas, weights = rule(options["method"], options["steps"])
        layout = baselines.layout

        def build(images, rows, tensors):
            steps = tf.shape(tensors["alphas"])[0]
            j, k = rows.point % steps, rows.point // steps
            b = base.pick(tensors, layout, rows.image, k)
            alpha = tf.reshape(tf.gather(tensors["alphas"], j), (-1, 1, 1, 1))
            weight = tf.gather(tensors["weights"], j) / tf.cast(
                tensors["baseline_count"], tf.float32
            )
            point = _path_points(images, rows, b, alpha)
            if not times_difference:
                return point, weight
            return point, tf.reshape(weight, (-1, 1, 1, 1)) * (images - b)

        return Plan(
            points=len(alphas) * baselines.count,
            build=build,
            key=("integrated_gradients", layout, times_difference),
            statistics=("sum", "scores") if scores else ("sum",),
            tensors={
                "alphas": tf.constant(alphas, tf.float32),
                "weights": tf.constant(weights, tf.float32),
                **baselines.tensors,
            },
        )

    def _check(self, x, targets, attr, baselines, options, scores=None):
        """The completeness error per image; warns where it exceeds 5 % of ``F(x) - F(b)``.
        ``scores``: the ``(N, steps * K)`` scores along the paths: F(b_k) at the first point of
        path ``k`` and F(x) at its last when the rule includes both ends; else forward passes."""
        alphas, _ = rule(options["method"], options["steps"])
        if scores is None or alphas[0] != 0.0 or alphas[-1] != 1.0:
            difference, magnitude = _score_terms(self.engine, x, targets, baselines)
        else:
            ends = tf.reshape(scores, (int(x.shape[0]), baselines.count, -1))
            at_input, at_baseline = ends[:, 0, -1], ends[:, :, 0]
            difference = at_input - tf.reduce_mean(at_baseline, axis=1)
            magnitude = (tf.abs(at_input) + tf.reduce_mean(tf.abs(at_baseline), axis=1)) / 2
        delta = tf.reduce_sum(tf.reshape(attr, (int(x.shape[0]), -1)), axis=1) - difference
        steps, method = options["steps"], options["method"]
        convergence.warn_inaccurate(
            delta.numpy(),
            difference.numpy(),
            magnitude.numpy(),
            method=f"{type(self).__name__}(steps={steps}, method={method!r})",
            fix="use steps='auto' (the fewest steps meeting tolerance=0.01 per image) or more "
            "steps",
            stacklevel=4,
        )
        return delta

    # -------------------------------------------------------------------------------------
    @staticmethod
    def _piece_plan(alphas, baselines, first, offsets, lengths, scored) -> Plan:
        """For ``steps="auto"``: engine image ``e`` covers the piece ``offsets[e] + lengths[e] *
        alphas`` of the path from its baseline (row ``first[e]`` of ``baselines.values``) to
        it; each gradient is weighted ``x - b``. ``scored``: each row also carries its score."""
        single = baselines.layout == "single"

        def build(images, rows, tensors):
            b = tensors["baselines"]
            if not single:
                b = tf.gather(b, tf.gather(tensors["first"], rows.image))
            alpha = tf.gather(tensors["offsets"], rows.image) + tf.gather(
                tensors["lengths"], rows.image
            ) * tf.gather(tensors["alphas"], rows.point)
            return _path_points(images, rows, b, tf.reshape(alpha, (-1, 1, 1, 1))), images - b

        def with_score(points, targets, weight, adapter):
            grads, scores = gradients(adapter, points, targets)
            picked = tf.cast(pick(scores, targets), tf.float32)
            flat = tf.reshape(weight * grads, (tf.shape(grads)[0], -1))
            return tf.concat([flat, picked[:, None]], axis=1)

        return Plan(
            points=len(alphas),
            build=build,
            key=("integrated_gradients_pieces", single, scored),
            tensors={
                "alphas": tf.constant(alphas, tf.float32),
                "first": tf.constant(first, tf.int32),
                "offsets": tf.constant(offsets, tf.float32),
                "lengths": tf.constant(lengths, tf.float32),
                "baselines": baselines.values,
            },
            value=with_score if scored else None,
        )

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
        plan = self._piece_plan(
            np.zeros(1), baselines, unit_first[end_unit], end_at, np.zeros(len(end_at)), True
        )
        sums = self.engine.run(tf.gather(x_units, end_unit), tf.gather(t_units, end_unit), plan)[
            "sum"
        ]
        size = sums.shape[1] - 1
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
                plan = self._piece_plan(
                    new,
                    baselines,
                    unit_first[owner],
                    (group % pieces) * length,
                    np.full(len(group), length),
                    False,
                )
                run = self.engine.run(tf.gather(x_units, owner), tf.gather(t_units, owner), plan)
                sums = tf.reshape(run["sum"], (len(group), size))
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
