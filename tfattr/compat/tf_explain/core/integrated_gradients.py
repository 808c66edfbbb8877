"""tf-explain's ``IntegratedGradients``: the mean gradient along the path, on tfattr's engine."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

import tfattr
from tfattr.compat.tf_explain.core._base import ExplainerCache, images_of
from tfattr.compat.tf_explain.utils.display import grid_display
from tfattr.compat.tf_explain.utils.image import transform_to_normalized_grayscale
from tfattr.compat.tf_explain.utils.saver import save_grayscale
from tfattr.core.adapter import ModelAdapter
from tfattr.core.engine import Plan
from tfattr.core.explainer import GradientExplainer


class PathMeanGradients(GradientExplainer):
    """``mean_k dF/dx (k / (steps - 1) * x)``, k = 0..steps-1: the gradients tf-explain averages.

    This is Integrated Gradients with a black baseline *without* the ``x - baseline`` factor
    and with equal weights on both ends of the path (``steps`` points from the baseline to the
    image inclusive). :class:`tfattr.IntegratedGradients` computes the real thing:
    ``x * sum_k w_k dF/dx(alpha_k x)``, trapezoid weights by default.

    Args:
        steps: points on the path, both ends included (>= 2). Default 10.
    """

    defaults = {"steps": 10}

    def check_options(self, options):
        steps = options["steps"]
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 2:
            raise ValueError(f"n_steps: expected an int >= 2, got {steps!r}.")

    def plan(self, x, options):
        steps = int(options["steps"])

        def build(images, rows, tensors):
            alpha = tf.reshape(tf.gather(tensors["alphas"], rows.point), (-1, 1, 1, 1))
            return alpha * images, tf.fill(tf.shape(alpha), 1.0 / steps)

        return Plan(
            points=steps,
            build=build,
            key=("tf_explain_path_mean", steps),
            tensors={"alphas": tf.constant(np.arange(steps) / (steps - 1), tf.float32)},
        )


class IntegratedGradients(ExplainerCache):
    """Grayscale path-gradient maps in a grid (tf-explain's ``IntegratedGradients``).

    ``|mean_k dF_c/dx (k / (n_steps - 1) * x)|`` (:class:`PathMeanGradients`, the model's raw
    output), summed over channels and turned into uint8 by
    :func:`~tfattr.compat.tf_explain.utils.image.transform_to_normalized_grayscale`. Unlike
    Integrated Gradients proper (:class:`tfattr.IntegratedGradients`) the result is not
    multiplied by ``x - baseline``, so it is not complete (does not sum to ``F(x) - F(0)``).

    Paper: Sundararajan, Taly, Yan, "Axiomatic Attribution for Deep Networks", ICML 2017.

    Example:
        >>> from tfattr.compat.tf_explain.core.integrated_gradients import IntegratedGradients
        >>> grid = IntegratedGradients().explain((images, None), model, 3, n_steps=8)
        >>> grid.shape, grid.dtype.name    # 2 grayscale maps of 32 x 32 in a 2 x 2 grid
        ((64, 64), 'uint8')
    """

    def explain(self, validation_data, model, class_index, n_steps=10):
        """Path gradients of ``class_index`` for every image, as a grayscale grid.

        Args:
            validation_data: ``(images, labels)``; labels are ignored.
            model: a Keras model.
            class_index: the class to explain.
            n_steps: points on the path from black to the image, both included (>= 2).

        Returns:
            uint8 grid ``(rows * H, columns * W)``.

        Example:
            >>> from tfattr.compat.tf_explain.core.integrated_gradients import IntegratedGradients
            >>> grid = IntegratedGradients().explain((images, None), model, 3, n_steps=15)
            >>> grid.shape
            (64, 64)
        """
        images = images_of(validation_data)
        explainer = self.cached(
            model, ("path_mean",), lambda: PathMeanGradients(model, output="raw")
        )
        gradients = explainer.explain(images, target=class_index, steps=n_steps)
        grayscale = transform_to_normalized_grayscale(tf.abs(gradients)).numpy()
        return grid_display(grayscale)

    @staticmethod
    def get_integrated_gradients(interpolated_images, model, class_index, n_steps):
        """The mean gradient of each image's ``n_steps`` consecutive rows of
        ``interpolated_images`` ``(N * n_steps, H, W, C)``: a float32 ``(N, H, W, C)`` tensor."""
        rows = np.asarray(interpolated_images, np.float32)
        saliency = tfattr.Saliency(ModelAdapter(model, output="raw"), abs=False)
        grads = saliency.explain(rows, target=class_index)
        return tf.reduce_mean(tf.reshape(grads, (-1, int(n_steps), *rows.shape[1:])), axis=1)

    @staticmethod
    def generate_interpolations(images, n_steps):
        """Each image's path from black, ``(N * n_steps, H, W, C)``, image-major."""
        images = np.asarray(images)
        baseline = np.zeros(images.shape[1:])
        return np.concatenate(
            [IntegratedGradients.generate_linear_path(baseline, image, n_steps) for image in images]
        )

    @staticmethod
    def generate_linear_path(baseline, target, n_steps):
        """``[baseline + (target - baseline) * k / (n_steps - 1) for k in range(n_steps)]``."""
        return [baseline + (target - baseline) * k / (n_steps - 1) for k in range(n_steps)]

    def save(self, grid, output_dir, output_name):
        """Writes the grid to ``output_dir/output_name`` (the extension picks the format).

        Args:
            grid: the uint8 grid :meth:`explain` returns.
            output_dir: the folder (created if missing).
            output_name: the file name, e.g. ``"integrated_gradients.png"``.

        Example:
            >>> from tfattr.compat.tf_explain.core.integrated_gradients import IntegratedGradients
            >>> explainer = IntegratedGradients()
            >>> grid = explainer.explain((images, None), model, 3, n_steps=8)
            >>> explainer.save(grid, "out", "integrated_gradients.png")
            >>> import os; os.path.exists("out/integrated_gradients.png")
            True
        """

        save_grayscale(grid, output_dir, output_name)
