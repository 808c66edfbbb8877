"""tf-explain's grayscale conversion of gradient maps."""

from __future__ import annotations

import tensorflow as tf


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
