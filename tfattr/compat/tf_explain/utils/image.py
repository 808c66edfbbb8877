"""tf-explain's grayscale conversion of gradient maps."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def apply_grey_patch(image, top_left_x, top_left_y, patch_size):
    """A copy of ``image`` ``(H, W, C)`` with a grey (127.5) square of ``patch_size`` pixels.

    The square starts at column ``top_left_x`` and row ``top_left_y`` and is cut off at the
    border; the copy keeps the image's dtype (an integer image gets 127, as NumPy's cast).

    Args:
        image: ``(H, W, C)`` array.
        top_left_x: column of the square's left edge.
        top_left_y: row of the square's top edge.
        patch_size: side of the square in pixels.

    Returns:
        numpy array of the image's shape and dtype.

    Example:
        >>> patched = apply_grey_patch(np.zeros((10, 20, 3)), 0, 0, 10)  # left half grey
    """
    patched = np.array(image, copy=True)
    patched[top_left_y : top_left_y + patch_size, top_left_x : top_left_x + patch_size, :] = 127.5
    return patched


def transform_to_normalized_grayscale(tensor):
    """Gradient maps ``(N, H, W, C)`` to uint8 grayscale ``(N, H, W)``, as tf-explain.

    The channels are summed, the sums standardised over the *whole batch* at once (tf-explain
    hands the ``(N, H, W)`` stack to ``tf.image.per_image_standardization``, which takes it for
    one image: mean 0, standard deviation 1 over every pixel of every image), times 255.
    tf-explain then casts to uint8, where values below 0 or above 255 wrap around (-1 becomes
    255); here they saturate to 0 and 255, so the pixels below the batch mean are black and
    those above one standard deviation white.

    Args:
        tensor: ``(N, H, W, C)`` maps (tf-explain passes absolute gradients).

    Returns:
        A uint8 ``tf.Tensor`` ``(N, H, W)``.
    """
    grayscale = tf.reduce_sum(tf.cast(tensor, tf.float32), axis=-1)
    standardized = tf.image.per_image_standardization(grayscale)
    return tf.cast(tf.clip_by_value(255.0 * standardized, 0.0, 255.0), tf.uint8)
