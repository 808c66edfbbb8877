"""Integrated Gradients (Sundararajan, Taly, Yan 2017)."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core import baselines as base
from tfattr.core.engine import Plan, fused
from tfattr.core.explainer import ReferenceExplainer
from tfattr.core.inputs import check_seed
from tfattr.core.quadrature import RULES, rule


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

    Completeness: ``sum(IG) ~= F(x) - F(b)``; ``return_convergence_delta=True`` also returns
    ``delta = sum(IG) - (F(x) - mean_k F(b_k))`` per image.

    Args:
        steps: gradient evaluations along the path (Captum's ``n_steps``). Default 50.
        method: ``riemann_trapezoid`` (default), ``riemann_left``, ``riemann_right``,
            ``riemann_middle`` or ``gausslegendre``.
        baseline: ``None``/``"black"``, ``"white"``, ``"uniform"``, ``"blur"``, a tensor
            broadcastable to one image, or a stack ``(K, H, W, C)`` (see
            :mod:`tfattr.core.baselines`).
        return_convergence_delta: also return the completeness error per image.
        seed: seed of the ``"uniform"`` baseline.
        value_range: ``(low, high)`` of the input scale for ``"white"``/``"uniform"``
            (default: each image's own minimum and maximum).
        blur_sigma: Gaussian sigma in pixels for ``"blur"`` (default: the larger side / 8).

    Example:
        >>> ig = tfattr.IntegratedGradients(model, steps=50)
        >>> attr, delta = ig.explain(images, target=[386, 101], return_convergence_delta=True)

    Reference: Sundararajan, Taly, Yan, "Axiomatic Attribution for Deep Networks", ICML 2017.
    """

    defaults = {
        "steps": 50,
        "method": "riemann_trapezoid",
        "baseline": None,
        "return_convergence_delta": False,
        "seed": None,
        "value_range": None,
        "blur_sigma": None,
    }

    def check_options(self, options):
        if options["method"] not in RULES:
            raise ValueError(f"method: expected one of {RULES}, got {options['method']!r}.")
        rule(options["method"], options["steps"])  # validates steps for the rule
        check_seed(options["seed"])

    def plan(self, x, options):
        alphas, weights = rule(options["method"], options["steps"])
        baselines = self.baselines(x, options)
        layout = baselines.layout

        def make_rows(x_rows, rows, tensors):
            steps = tf.shape(tensors["alphas"])[0]
            step, k = rows.point % steps, rows.point // steps
            b = base.pick(tensors, layout, rows.image, k)
            alpha = tf.reshape(tf.gather(tensors["alphas"], step), (-1, 1, 1, 1))
            weight = tf.gather(tensors["weights"], step)
            if rows.images is not None:  # x_rows are plain copies: gather inside the fused build
                point = _interpolate_rows(rows.images, rows.image, b, alpha)
            else:
                point = _interpolate(x_rows, b, alpha)
            if single:  # (x - b) is the same for all rows of an image: applied once by `factor`
                return point, weight
            weight = weight / tf.cast(tensors["baseline_count"], tf.float32)
            return point, tf.reshape(weight, (-1, 1, 1, 1)) * (x_rows - b)

        def factor(x_images, image, tensors):
            return x_images - base.pick(tensors, layout, image, tf.zeros_like(image))

        single = baselines.count == 1
        return Plan(
            points=len(alphas) * baselines.count,
            make_rows=make_rows,
            key=("integrated_gradients", layout, single),
            factor=factor if single else None,
            tensors={
                "alphas": tf.constant(alphas, tf.float32),
                "weights": tf.constant(weights, tf.float32),
                **baselines.tensors,
            },
        )
