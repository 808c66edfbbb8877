"""tf-explain's ``OcclusionSensitivity``, computed by :class:`tfattr.Occlusion`."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

import tfattr
from tfattr.compat.tf_explain.core._base import ExplainerCache, images_of
from tfattr.compat.tf_explain.utils.display import COLORMAP_VIRIDIS, grid_display, heatmap_display
from tfattr.compat.tf_explain.utils.saver import save_rgb

GREY = 127.5  # tf-explain's patch value, whatever the input scale


class OcclusionSensitivity(ExplainerCache):
    """Occlusion maps blended over the images, in a grid (tf-explain's ``OcclusionSensitivity``).

    Square grey patches (value 127.5) of ``patch_size`` pixels tile each image (stride = patch
    size; the last row and column are cut off by the border). Each cell's value is
    ``1 - p_c(image with that patch grey)``, with ``p`` the model's raw output; the cell map is
    resized (bilinear) to the image and drawn as tf-explain's heat map.

    Args:
        batch_size: occluded images per forward pass (None: tfattr's default, 32).

    Paper: Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014.

    Example:
        >>> from tfattr.compat.tf_explain.core.occlusion_sensitivity import OcclusionSensitivity
        >>> grid = OcclusionSensitivity().explain((images, None), model, 3, patch_size=8)
        >>> grid.shape, grid.dtype.name    # 2 overlays of 32 x 32 in a 2 x 2 grid
        ((64, 64, 3), 'uint8')
    """

    def __init__(self, batch_size=None):
        self.batch_size = batch_size

    def explain(self, validation_data, model, class_index, patch_size, colormap=COLORMAP_VIRIDIS):
        """Occlusion sensitivity of ``class_index`` for every image, as a grid of overlays.

        Args:
            validation_data: ``(images, labels)``; labels are ignored.
            model: a Keras model (its output read as probabilities).
            class_index: the class to explain.
            patch_size: side of the square grey patches, in pixels.
            colormap: an OpenCV ``COLORMAP_*`` int, a matplotlib colormap name or object.

        Returns:
            uint8 RGB grid ``(rows * H, columns * W, 3)``.

        Example:
            >>> from tfattr.compat.tf_explain.core.occlusion_sensitivity import (
            ...     OcclusionSensitivity)
            >>> grid = OcclusionSensitivity().explain((images, None), model, 3, patch_size=8)
        """
        images = images_of(validation_data)
        maps = self.get_sensitivity_maps(model, images, class_index, patch_size)
        heatmaps = np.array(
            [heatmap_display(m, image, colormap) for m, image in zip(maps, images, strict=True)]
        )
        return grid_display(heatmaps)

    def get_sensitivity_maps(self, model, images, class_index, patch_size):
        """``(N, H, W)`` maps: each cell's ``1 - p_c(occluded)``, resized to the image.

        Args:
            model: a Keras model (its raw output is read, as tf-explain).
            images: ``(N, H, W, C)``.
            class_index: the class.
            patch_size: side of the square grey patches, in pixels (also the stride).

        Returns:
            float ``(N, H, W)`` numpy maps.

        Example:
            >>> from tfattr.compat.tf_explain.core.occlusion_sensitivity import OcclusionSensitivity
            >>> maps = OcclusionSensitivity().get_sensitivity_maps(model, images, 3, patch_size=8)
            >>> maps.shape
            (2, 32, 32)
        """
        if isinstance(patch_size, bool) or not isinstance(patch_size, int | np.integer):
            raise TypeError(f"patch_size: expected an int, got {patch_size!r}.")
        if patch_size < 1:
            raise ValueError(f"patch_size: expected an int >= 1, got {patch_size}.")
        images = np.asarray(images)
        height, width = images.shape[1:3]
        # A patch larger than the image covers all of it (one cell), as in tf-explain.
        window = (min(int(patch_size), height), min(int(patch_size), width))
        explainer = self.cached(
            model,
            ("occlusion", self.batch_size),
            lambda: tfattr.Occlusion(
                model, output="raw", batch_size=self.batch_size or 32, baseline=GREY
            ),
        )
        drops = explainer.explain(images, target=class_index, window=window, stride=window)
        # With stride == window every pixel lies in one patch: its value is that patch's
        # p_c(x) - p_c(occluded); one pixel per cell is enough.
        cells = drops[:, :: window[0], :: window[1], 0]
        clean = tf.gather(explainer.adapter(tf.cast(images, tf.float32)), class_index, axis=1)
        cells = cells + (1.0 - clean)[:, None, None]
        return tf.image.resize(cells[..., None], (height, width), method="bilinear")[..., 0].numpy()

    def get_sensitivity_map(self, model, image, class_index, patch_size):
        """The ``(H, W)`` map of one image.

        Args:
            model: a Keras model.
            image: one image ``(H, W, C)``.
            class_index: the class.
            patch_size: side of the square grey patches, in pixels.

        Returns:
            float ``(H, W)`` numpy map (:meth:`get_sensitivity_maps`).

        Example:
            >>> from tfattr.compat.tf_explain.core.occlusion_sensitivity import OcclusionSensitivity
            >>> OcclusionSensitivity().get_sensitivity_map(model, images[0], 3, 16).shape
            (32, 32)
        """
        return self.get_sensitivity_maps(model, np.asarray(image)[None], class_index, patch_size)[0]

    def save(self, grid, output_dir, output_name):
        """Writes the grid to ``output_dir/output_name`` (the extension picks the format).

        Args:
            grid: the uint8 grid :meth:`explain` returns.
            output_dir: the folder (created if missing).
            output_name: the file name, e.g. ``"occlusion_sensitivity.png"``.

        Example:
            >>> from tfattr.compat.tf_explain.core.occlusion_sensitivity import OcclusionSensitivity
            >>> explainer = OcclusionSensitivity()
            >>> grid = explainer.explain((images, None), model, 3, 8)
            >>> explainer.save(grid, "out", "occlusion_sensitivity.png")
            >>> import os; os.path.exists("out/occlusion_sensitivity.png")
            True
        """

        save_rgb(grid, output_dir, output_name)
