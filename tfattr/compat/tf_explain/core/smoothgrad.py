"""tf-explain's ``SmoothGrad``, computed by :class:`tfattr.SmoothGrad`."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

import tfattr
from tfattr.compat.tf_explain.core._base import ExplainerCache, images_of
from tfattr.compat.tf_explain.utils.display import grid_display
from tfattr.compat.tf_explain.utils.image import transform_to_normalized_grayscale
from tfattr.compat.tf_explain.utils.saver import save_grayscale
from tfattr.core.adapter import ModelAdapter


def log_probabilities(model):
    """``x -> log p(x)`` with ``p`` the model's output as Keras's cross-entropy reads it.

    tf-explain's SmoothGrad differentiates ``categorical_crossentropy(one_hot(class), model(x))``
    = ``-log(clip(p_c / sum_j p_j, eps, 1 - eps))``; its gradient is minus the gradient of this
    score, and the sign vanishes in the absolute value tf-explain takes.
    """
    forward = ModelAdapter(model, output="raw")
    epsilon = keras.config.epsilon()

    def score(x):
        p = forward(x)
        p = p / tf.reduce_sum(p, axis=-1, keepdims=True)
        return tf.math.log(tf.clip_by_value(p, epsilon, 1.0 - epsilon))

    return score


class SmoothGrad(ExplainerCache):
    """Grayscale SmoothGrad maps in a grid (tf-explain's ``SmoothGrad``).

    ``|mean_s grad log p_c(x + e_s)|``, ``e_s ~ N(0, noise^2)`` (absolute ``noise``, in the
    input's scale), summed over channels and turned into uint8 by
    :func:`~tfattr.compat.tf_explain.utils.image.transform_to_normalized_grayscale`. The score is
    the log of the model's (normalised) output, because tf-explain differentiates the
    cross-entropy loss; :class:`tfattr.SmoothGrad` alone differentiates the logit.

    Paper: Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017.

    Example:
        >>> from tfattr.compat.tf_explain.core.smoothgrad import SmoothGrad
        >>> grid = SmoothGrad().explain((images, None), model, 3, num_samples=4, seed=0)
        >>> grid.shape, grid.dtype.name    # 2 grayscale maps of 32 x 32 in a 2 x 2 grid
        ((64, 64), 'uint8')
    """

    def explain(self, validation_data, model, class_index, num_samples=5, noise=1.0, *, seed=None):
        """SmoothGrad of ``class_index`` for every image, as a grayscale grid.

        Args:
            validation_data: ``(images, labels)``; labels are ignored.
            model: a Keras model whose output is probabilities (as tf-explain assumes).
            class_index: the class to explain.
            num_samples: noisy copies per image.
            noise: standard deviation of the Gaussian noise.
            seed: seed of the noise (tfattr's addition; tf-explain draws from NumPy's global
                generator). None draws a fresh one.

        Returns:
            uint8 grid ``(rows * H, columns * W)``.

        Example:
            >>> from tfattr.compat.tf_explain.core.smoothgrad import SmoothGrad
            >>> grid = SmoothGrad().explain((images, None), model, 3, num_samples=20, noise=0.1)
            >>> grid.shape
            (64, 64)
        """
        images = images_of(validation_data)
        explainer = self.cached(
            model,
            ("smoothgrad",),
            lambda: tfattr.SmoothGrad(log_probabilities(model), output="raw"),
        )
        smoothed = explainer.explain(
            images, target=class_index, samples=num_samples, stddev=float(noise), seed=seed
        )
        grayscale = transform_to_normalized_grayscale(tf.abs(smoothed)).numpy()
        return grid_display(grayscale)

    @staticmethod
    def generate_noisy_images(images, num_samples, noise):
        """``num_samples`` copies of each image (image-major) plus Gaussian noise of standard
        deviation ``noise`` drawn from NumPy's global generator, as tf-explain:
        ``(N * num_samples, H, W, C)`` float32."""
        repeated = np.repeat(images, num_samples, axis=0)
        return repeated + np.random.normal(0, noise, repeated.shape).astype(np.float32)

    @staticmethod
    def get_averaged_gradients(noisy_images, model, class_index, num_samples):
        """Mean over each image's ``num_samples`` consecutive rows of the gradient of
        tf-explain's loss ``categorical_crossentropy(one_hot(class_index), model(x))``:
        a float32 ``(N, H, W, C)`` tensor."""
        rows = np.asarray(noisy_images, np.float32)
        saliency = tfattr.Saliency(log_probabilities(model), output="raw", abs=False)
        # The loss is -log p_c: its gradient is minus that of the log-probability.
        grads = -saliency.explain(rows, target=class_index)
        return tf.reduce_mean(tf.reshape(grads, (-1, int(num_samples), *rows.shape[1:])), axis=1)

    def save(self, grid, output_dir, output_name):
        """Writes the grid to ``output_dir/output_name`` (the extension picks the format).

        Args:
            grid: the uint8 grid :meth:`explain` returns.
            output_dir: the folder (created if missing).
            output_name: the file name, e.g. ``"smoothgrad.png"``.

        Example:
            >>> from tfattr.compat.tf_explain.core.smoothgrad import SmoothGrad
            >>> explainer = SmoothGrad()
            >>> grid = explainer.explain((images, None), model, 3, num_samples=4)
            >>> explainer.save(grid, "out", "smoothgrad.png")
            >>> import os; os.path.exists("out/smoothgrad.png")
            True
        """

        save_grayscale(grid, output_dir, output_name)
