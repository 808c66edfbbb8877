"""What every tf-explain callback shares: a timestamped TensorBoard folder and image logging."""

from __future__ import annotations

import abc
import pathlib
from datetime import datetime

import keras
import numpy as np
import tensorflow as tf

from tfattr.callbacks import image_summary


class ExplainerCallback(keras.callbacks.Callback, abc.ABC):
    """Writes one explainer grid per epoch to TensorBoard, as tf-explain's callbacks.

    The event files go to ``output_dir/<YYYYmmdd-HHMMSS.ffffff>`` (created, with its writer,
    when the callback is built), one image per epoch under the tag ``tag``, step = the epoch
    index (from 0). Subclasses give ``tag`` and :meth:`grid`.
    """

    tag = ""

    def __init__(self, output_dir):
        super().__init__()
        self.output_dir = pathlib.Path(output_dir) / datetime.now().strftime("%Y%m%d-%H%M%S.%f")
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.file_writer = tf.summary.create_file_writer(str(self.output_dir))

    @abc.abstractmethod
    def grid(self) -> np.ndarray:
        """The uint8 grid of this epoch, ``(H, W)`` or ``(H, W, 3)``."""

    def on_epoch_end(self, epoch, logs=None):
        """Explains the validation data with the current weights and logs the grid."""
        grid = as_uint8(self.grid())
        with self.file_writer.as_default():
            image_summary(self.tag, grid[..., None] if grid.ndim == 2 else grid, step=epoch)
        self.file_writer.flush()


def as_uint8(grid) -> np.ndarray:
    """A grid as uint8, converted as ``tf.summary.image`` converts it (floats in [0, 1] scaled
    and saturated, other integers cast), so a callback logs the same image with and without
    the tensorboard package."""
    grid = tf.convert_to_tensor(np.asarray(grid))
    if grid.dtype != tf.uint8:
        grid = tf.image.convert_image_dtype(grid, tf.uint8, saturate=True)
    return grid.numpy()
