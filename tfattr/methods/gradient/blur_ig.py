"""Blur Integrated Gradients (Xu et al. 2020): integrate gradients along a path of blurs."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tfattr.core.engine import Plan
from tfattr.core.explainer import GradientExplainer
from tfattr.core.inputs import check_positive_int

TRUNCATE = 4.0  # kernel radius in sigmas, scipy.ndimage.gaussian_filter's default


def _blur_matrices(sigma, size: int, reach: int) -> tf.Tensor:
    """``(B, size, size)`` matrices of a 1-D Gaussian blur per row's ``sigma`` (B,).

    scipy's ``gaussian_filter`` with ``mode="constant"``: taps ``exp(-d^2 / 2 sigma^2)`` for
    ``|d| <= int(4 sigma + 0.5)``, normalised over the whole kernel, zeros outside the image.
    ``reach`` is a static bound on the radius (XLA needs static shapes). Sigma 0 gives the
    identity.
    """
    sigma = tf.maximum(sigma, 1e-6)[:, None]
    cutoff = tf.floor(TRUNCATE * sigma + 0.5)
    taps = tf.range(-reach, reach + 1, dtype=tf.float32)[None, :]
    kernel = tf.where(tf.abs(taps) <= cutoff, tf.exp(-(taps**2) / (2 * sigma**2)), 0.0)
    norm = tf.reduce_sum(kernel, axis=1)[:, None, None]
    index = tf.range(size, dtype=tf.float32)
    d = index[:, None] - index[None, :]
    sigma, cutoff = sigma[:, :, None], cutoff[:, :, None]
    inside = tf.abs(d)[None] <= cutoff
    return tf.where(inside, tf.exp(-(d[None] ** 2) / (2 * sigma**2)), 0.0) / norm


def radius(sigma: float) -> int:
    """scipy's kernel radius for ``sigma``: ``int(4 sigma + 0.5)``."""
    return int(TRUNCATE * float(sigma) + 0.5)


def gaussian_blur(x: tf.Tensor, sigma, max_sigma: float | None = None) -> tf.Tensor:
    """Per-row Gaussian blur of images ``(B, H, W, C)`` over H and W with zero padding.

    ``sigma`` is a scalar or one value per row; it matches
    ``scipy.ndimage.gaussian_filter(image, (sigma, sigma, 0), mode="constant")``, the blur of
    the reference implementation, and is written as two matrix products so that every row of a
    compiled chunk can have its own sigma. ``max_sigma`` bounds the sigmas when they are
    tensors (default: ``sigma`` itself, which must then be a number).
    """
    reach = radius(sigma if max_sigma is None else max_sigma)
    sigma = tf.broadcast_to(tf.cast(sigma, tf.float32), tf.shape(x)[:1])
    height, width = int(x.shape[1]), int(x.shape[2])
    rows = _blur_matrices(sigma, height, reach)
    cols = _blur_matrices(sigma, width, reach)
    x = tf.einsum("bij,bjwc->biwc", rows, x)
    return tf.einsum("bkw,biwc->bikc", cols, x)


class BlurIntegratedGradients(GradientExplainer):
    """Integrated gradients along the path from a strongly blurred image to the image.

    ``attr = -sum_j (s_{j+1} - s_j) dx(s_j)/ds * dF(x(s_j))/dx`` with ``x(s)`` the image blurred
    by a Gaussian of ``s`` pixels, ``s_j = j max_sigma / steps`` (or ``sqrt`` of that with
    ``sqrt=True``), ``j = 0..steps-1``, and ``dx/ds`` a forward difference of ``grad_step``: the
    left Riemann sum of PAIR saliency's ``BlurIG``, whose blur (scipy's, zeros outside the
    image) :func:`gaussian_blur` reproduces. Completeness holds up to the quadrature error:
    ``sum(attr) ~= F(x) - F(x(max_sigma))``; ``return_convergence_delta=True`` also returns
    that error per image. Every path point is blurred on the device, ``batch_size`` at a time.

    Args:
        steps: gradient evaluations. Default 100 (PAIR's).
        max_sigma: blur of the path's start, in pixels. Default 50 (PAIR's).
        grad_step: sigma step of the finite difference. Default 0.01.
        sqrt: space the sigmas as square roots (PAIR's ``sqrt`` option). Default False.
        return_convergence_delta: also return the completeness error per image.

    Returns from ``explain``: ``(N, H, W, C)`` float32.

    Example:
        >>> attr = tfattr.BlurIntegratedGradients(model, steps=50).explain(images, target=3)

    Reference: Xu, Venugopalan, Sundararajan, "Attribution in Scale and Space", CVPR 2020.
    """

    defaults = {
        "steps": 100,
        "max_sigma": 50.0,
        "grad_step": 0.01,
        "sqrt": False,
        "return_convergence_delta": False,
    }

    def check_options(self, options):
        check_positive_int(options["steps"], "steps")
        for name in ("max_sigma", "grad_step"):
            value = options[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{name}: expected a positive number, got {value!r}.")
        if not isinstance(options["sqrt"], bool):
            raise TypeError(f"sqrt: expected True or False, got {options['sqrt']!r}.")

    def sigmas(self, options) -> np.ndarray:
        """``steps + 1`` sigmas from 0 to ``max_sigma``."""
        steps, top = options["steps"], float(options["max_sigma"])
        fractions = np.arange(steps + 1) / steps
        values = [math.sqrt(f * top) for f in fractions] if options["sqrt"] else fractions * top
        return np.asarray(values, np.float64)

    def plan(self, x, options):
        sigmas = self.sigmas(options)
        top = float(sigmas[-1]) + float(options["grad_step"])

        def build(images, rows, tensors):
            sigma = tf.gather(tensors["sigmas"], rows.point)
            width = tf.gather(tensors["widths"], rows.point)
            point = gaussian_blur(images, sigma, top)
            ahead = gaussian_blur(images, sigma + tensors["grad_step"], top)
            slope = (ahead - point) / tensors["grad_step"]
            return point, -tf.reshape(width, (-1, 1, 1, 1)) * slope

        return Plan(
            points=options["steps"],
            build=build,
            key=("blur_ig", radius(top)),
            tensors={
                "sigmas": tf.constant(sigmas[:-1], tf.float32),
                "widths": tf.constant(np.diff(sigmas), tf.float32),
                "grad_step": tf.constant(float(options["grad_step"]), tf.float32),
            },
        )

    def attribute(self, x, targets, options):
        if targets is None:
            targets = self.top_classes(x)
        attributions = super().attribute(x, targets, options)
        if not options["return_convergence_delta"]:
            return attributions
        start = gaussian_blur(x, float(self.sigmas(options)[-1]))
        change = self.engine.target_scores(x, targets) - self.engine.target_scores(start, targets)
        return attributions, tf.reduce_sum(attributions, axis=(1, 2, 3)) - change
