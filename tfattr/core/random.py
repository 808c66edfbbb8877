"""Seeded randomness that depends on nothing but ``(seed, stream, draw index, element)``.

Every random number of a method is a hash of its coordinates: ``seed``, a ``stream`` (which
random quantity: noise, path points, baseline picks, ...), the draw index (the sample number)
and the element's position. The same seed therefore gives the same numbers whatever
``batch_size`` is, whichever images share the call (an image's attribution is the same alone or
in a batch), and with or without XLA: integer hashing is exact on every backend, which TF's
stateless random kernels are not (their XLA and default outputs differ for the same seed;
normals here can differ in the last bit, from the backends' logarithm and cosine).

The draws of one call are shared by its images (image ``i`` and image ``k`` see the same noise
pattern for sample ``s``); each image's estimate is still an average over independent draws.

The hash is MurmurHash3's 32-bit finaliser, applied twice per element; uniforms take its top
24 bits, normals are Box-Muller transforms of pairs of uniforms (both outputs used).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import tensorflow as tf

_GOLDEN = 0x9E3779B9  # 2^32 / golden ratio: spreads consecutive integers over 32 bits


def _mix(x: tf.Tensor) -> tf.Tensor:
    """MurmurHash3 fmix32: a bijection of uint32 with full avalanche."""
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))
    x = x * tf.constant(0x85EBCA6B, tf.uint32)
    x = tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 13))
    x = x * tf.constant(0xC2B2AE35, tf.uint32)
    return tf.bitwise.bitwise_xor(x, tf.bitwise.right_shift(x, 16))


def _u32(value) -> tf.Tensor:
    return tf.cast(tf.bitwise.bitwise_and(tf.cast(value, tf.int64), 0xFFFFFFFF), tf.uint32)


def _keys(seed, index, stream: int) -> tf.Tensor:
    """One uint32 key per draw index."""
    seed = tf.cast(seed, tf.int64)
    folded = _mix(
        _u32(seed)
        ^ _mix(_u32(tf.bitwise.right_shift(seed, 32)) + np.uint32(stream * _GOLDEN % 2**32))
    )
    return _mix(folded ^ _mix(_u32(index) * _GOLDEN + np.uint32(stream)))


def uniform_rows(seed, index, shape, stream: int = 0) -> tf.Tensor:
    """Uniforms in (0, 1] (1.0 only by float32 rounding of the top values, probability
    2^-25): ``(B, *shape)`` for draw indices ``index`` of shape (B,)."""
    size = int(np.prod(shape, dtype=np.int64))
    keys = _keys(seed, index, stream)[:, None]
    elements = tf.cast(tf.range(size), tf.uint32)[None, :]
    bits = _mix(_mix(keys ^ (elements * _GOLDEN)) + elements)
    values = (tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) + 0.5) * (2.0**-24)
    return tf.reshape(values, (-1, *shape))


def normal_rows(seed, index, shape, stream: int = 0) -> tf.Tensor:
    """Standard normals ``(B, *shape)`` for draw indices ``index`` of shape (B,).

    Box-Muller on pairs of uniforms, using both outputs: element ``e`` of the first half is
    ``r cos(t)`` of pair ``e``, element ``e`` of the second half ``r sin(t)`` of pair
    ``e - half``. The uniforms are exact everywhere; the logarithm and trigonometric functions
    may differ in the last bit between XLA and the default kernels.
    """
    size = int(np.prod(shape, dtype=np.int64))
    return tf.reshape(_normal_pairs(seed, index, size, stream), (-1, *shape))


@functools.cache
def _compiled_uniforms(size: int, stream: int):
    def uniforms(seed, index):
        return uniform_rows(seed, index, (size,), stream)

    return tf.function(uniforms, jit_compile=True, autograph=False)


def _normal_pairs(seed, index, size: int, stream: int) -> tf.Tensor:
    half = (size + 1) // 2
    # The integer hashing is fused by XLA (several times faster than op by op, and exact on
    # every backend); the transcendental functions run where the caller runs.
    u = _compiled_uniforms(2 * half, stream)(tf.cast(seed, tf.int64), tf.cast(index, tf.int32))
    radius = tf.sqrt(-2.0 * tf.math.log(u[:, :half]))
    angle = (2.0 * math.pi) * u[:, half:]
    return tf.concat([radius * tf.cos(angle), radius * tf.sin(angle)], axis=1)[:, :size]


def uniform_draws(seed, count: int, stream: int, maxval: int | None = None) -> tf.Tensor:
    """One uniform scalar in (0, 1) per draw index 0..count-1, or an int in [0, maxval)."""
    values = uniform_rows(seed, tf.range(count), (), stream)
    if maxval is None:
        return values
    return tf.minimum(tf.cast(values * maxval, tf.int32), maxval - 1)
