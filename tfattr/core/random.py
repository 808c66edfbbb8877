"""Seeded randomness that does not depend on batching.

Every random draw of a method is keyed on ``(seed, draw index)`` with TF's stateless ops, so the
same seed gives the same numbers whatever ``batch_size`` is and whichever images share the call:
an image's attribution is the same alone or in a batch. The draws of one call are shared by its
images (image ``i`` and image ``k`` see the same noise pattern for sample ``s``); each image's
estimate is still an average over independent draws.
"""

from __future__ import annotations

import tensorflow as tf


def seed_pair(seed: tf.Tensor, index: tf.Tensor, stream: int) -> tf.Tensor:
    """The stateless seed of draw ``index`` in one of a method's streams (noise, alphas, ...)."""
    seed = tf.cast(seed, tf.int64)
    return tf.stack([seed, tf.cast(index, tf.int64) * 1024 + stream])


def normal_rows(seed: tf.Tensor, index: tf.Tensor, shape, stream: int = 0) -> tf.Tensor:
    """Standard normal noise of ``shape`` for each draw index in ``index`` (B,): (B, *shape)."""
    return tf.map_fn(
        lambda i: tf.random.stateless_normal(shape, seed_pair(seed, i, stream)),
        index,
        fn_output_signature=tf.TensorSpec(shape, tf.float32),
    )


def uniform_draws(seed: tf.Tensor, count: int, stream: int, maxval=None) -> tf.Tensor:
    """``count`` scalars uniform in [0, 1) (or ints in [0, maxval)), one per draw index."""
    pair = tf.stack([tf.cast(seed, tf.int64), tf.constant(stream, tf.int64)])
    if maxval is None:
        return tf.random.stateless_uniform((count,), pair, dtype=tf.float32)
    return tf.random.stateless_uniform((count,), pair, maxval=maxval, dtype=tf.int32)
