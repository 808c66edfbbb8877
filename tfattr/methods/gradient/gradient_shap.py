"""GradientShap / expected gradients (Lundberg & Lee 2017; Erion et al. 2021)."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core import baselines as base
from tfattr.core import random
from tfattr.core.engine import Plan
from tfattr.core.explainer import GradientExplainer
from tfattr.core.inputs import check_positive_int, check_seed


class GradientShap(GradientExplainer):
    """Expected gradients over random baselines and random points on the path, times (x - b).

    For each of ``samples`` draws ``s``: a baseline ``b_s`` picked uniformly from ``baselines``,
    ``a_s ~ U(0, 1)`` and, if ``stddev > 0``, input noise ``e_s ~ N(0, stddev^2)``;
    ``attr = mean_s (x + e_s - b_s) * dF(b_s + a_s (x + e_s - b_s))/dx`` (Captum's definition).
    With one baseline and many samples it tends to Integrated Gradients.

    There is no ``samples="auto"`` (Integrated Gradients' ``steps="auto"``): its error is the
    Monte Carlo spread of random draws, not a quadrature error. The completeness delta of one
    draw set is itself random (a small delta can come from errors that cancel in the sum while
    the map is still noisy), so stopping when it is small would certify nothing and would bias
    the estimate towards draws that happen to add up. Use more ``samples`` (the spread falls as
    ``1 / sqrt(samples)``), or Integrated Gradients with ``steps="auto"`` and a stack of
    baselines for an error-controlled average over baselines.

    Args:
        samples: number of draws (gradient evaluations per image). Default 50.
        stddev: standard deviation of the Gaussian input noise, absolute. Default 0.
        baselines: a stack ``(K, H, W, C)`` of baselines, or any baseline accepted by
            :class:`IntegratedGradients` (default None: zeros).
        seed: seed of the draws; the same seed gives identical results.

    Example:
        >>> shap = tfattr.GradientShap(model, samples=50, baselines=background_images, seed=0)
        >>> attr = shap.explain(images, target=3)

    References: Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions", 2017;
    Erion et al., "Improving performance of deep learning models with axiomatic attribution
    priors and expected gradients", 2021.
    """

    defaults = {"samples": 50, "stddev": 0.0, "baselines": None, "seed": None}

    def check_options(self, options):
        check_positive_int(options["samples"], "samples")
        stddev = options["stddev"]
        if isinstance(stddev, bool) or not isinstance(stddev, int | float) or stddev < 0:
            raise ValueError(f"stddev: expected a number >= 0, got {stddev!r}.")
        check_seed(options["seed"])

    def plan(self, x, options):
        seed = check_seed(options["seed"])
        samples = options["samples"]
        baselines = base.resolve(
            options["baselines"], x, seed=seed, spec=self.spec, name="baselines"
        )
        layout, noisy = baselines.layout, options["stddev"] > 0

        def build(images, rows, tensors):
            """Draw s: the point b_s + a_s (x + e_s - b_s), weighted (x + e_s - b_s) / samples."""
            draw = rows.point
            alpha = tf.reshape(tf.gather(tensors["alphas"], draw), (-1, 1, 1, 1))
            b = base.pick(tensors, layout, rows.image, tf.gather(tensors["picks"], draw))
            if noisy:
                noise = random.normal_rows(tensors["seed"], draw, images.shape[1:], stream=3)
                images = images + tensors["stddev"] * noise
            difference = images - b
            count = tf.cast(tf.shape(tensors["alphas"])[0], tf.float32)
            return b + alpha * difference, difference / count

        return Plan(
            points=samples,
            build=build,
            key=("gradient_shap", layout, noisy),
            tensors={
                "alphas": random.uniform_draws(seed, samples, stream=1),
                "picks": random.uniform_draws(seed, samples, stream=2, maxval=baselines.count),
                "seed": tf.constant(seed, tf.int64),
                "stddev": tf.constant(float(options["stddev"]), tf.float32),
                **baselines.tensors,
            },
        )


# Expected Gradients (Erion et al. 2021) is GradientShap with a background stack as baselines.
ExpectedGradients = GradientShap
