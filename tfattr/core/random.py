"""Seeded randomness that depends on nothing but ``(seed, stream, draw index, element)``.

Every random number of a method is a hash of its coordinates: ``seed``, a ``stream`` (which
random quantity: noise, path points, baseline picks, ...), the draw index (the sample number)
and the element's position. The same seed therefore gives the same numbers whatever
``batch_size`` is, whichever images share the call (an image's attribution is the same alone or
in a batch), and with or without XLA: integer hashing is exact on every backend, which TF's
stateless random kernels are not (their XLA and default outputs differ for the same seed).

The draws of one call are shared by its images (image ``i`` and image ``k`` see the same noise
pattern for sample ``s``); each image's estimate is still an average over independent draws.

The hash is MurmurHash3's 32-bit finaliser, applied twice per element; uniforms take its top
24 bits, normals the inverse normal CDF (Wichura's PPND7) of 23 of them and a sign bit (one
XLA kernel).
"""

from __future__ import annotations

import functools

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


def _bits(seed, index, size: int, stream: int) -> tf.Tensor:
    """uint32 hashes ``(B, size)`` of (seed, stream, draw index, element)."""
    keys = _keys(seed, index, stream)[:, None]
    elements = tf.cast(tf.range(size), tf.uint32)[None, :]
    return _mix(_mix(keys ^ (elements * _GOLDEN)) + elements)


def uniform_rows(seed, index, shape, stream: int = 0) -> tf.Tensor:
    """Uniforms in (0, 1] (1.0 only by float32 rounding of the top values, probability
    2^-25): ``(B, *shape)`` for draw indices ``index`` of shape (B,)."""
    bits = _bits(seed, index, int(np.prod(shape, dtype=np.int64)), stream)
    values = (tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) + 0.5) * (2.0**-24)
    return tf.reshape(values, (-1, *shape))


def normal_rows(seed, index, shape, stream: int = 0) -> tf.Tensor:
    """Standard normals ``(B, *shape)`` for draw indices ``index`` of shape (B,).

    Inverse-CDF sampling: element ``e`` is ``±ndtri(p)`` with ``p = (k + 1/2) / 2^24`` from 23
    bits of its hash (``0 < p < 1/2``, exact in float32) and the sign from another bit, so
    values reach ±5.42 (the tails beyond have probability 6e-8). ``ndtri`` is Wichura's PPND7
    (more accurate than float32 ``tf.math.ndtri``, and cheaper). The hash and the quantile
    run as one XLA kernel whatever the caller, so the numbers are the same bits with and
    without ``jit_compile`` (one pass, where Box-Muller needs separate log, sqrt, cos and sin
    passes; timings in ``docs/performance.md``).
    """
    size = int(np.prod(shape, dtype=np.int64))
    z = _compiled_normals(size, stream)(tf.cast(seed, tf.int64), tf.cast(index, tf.int32))
    return tf.reshape(z, (-1, *shape))


def _lower_ndtri(p: tf.Tensor) -> tf.Tensor:
    """The standard normal quantile of ``p`` in ``(2^-25, 1/2)``: Wichura's PPND7 (Algorithm
    AS 241, 1988; relative error ~1e-7, below float32 ``tf.math.ndtri``'s ~6e-6 here), whose
    third branch (``p < e^-25``) is never needed, with one division for both branches."""
    q = p - 0.5
    r = 0.180625 - q * q
    t = tf.sqrt(-tf.math.log(p)) - 1.6
    central = q >= -0.425
    numerator = tf.where(
        central,
        q * (((59.109374720 * r + 159.29113202) * r + 50.434271938) * r + 3.3871327179),
        -(((0.17023821103 * t + 1.3067284816) * t + 2.7568153900) * t + 1.4234372777),
    )
    denominator = tf.where(
        central,
        ((67.187563600 * r + 78.757757664) * r + 17.895169469) * r + 1.0,
        (0.12021132975 * t + 0.73700164250) * t + 1.0,
    )
    return numerator / denominator


@functools.cache
def _compiled_normals(size: int, stream: int):
    def normals(seed, index):
        bits = _bits(seed, index, size, stream)
        p = (tf.cast(tf.bitwise.right_shift(bits, 9), tf.float32) + 0.5) * (2.0**-24)
        z = _lower_ndtri(p)  # negative: p < 1/2
        return tf.where(tf.bitwise.bitwise_and(bits, 1) == 1, -z, z)

    return tf.function(normals, jit_compile=True, autograph=False)


def uniform_draws(seed, count: int, stream: int, maxval: int | None = None) -> tf.Tensor:
    """One uniform scalar in (0, 1) per draw index 0..count-1, or an int in [0, maxval)."""
    values = uniform_rows(seed, tf.range(count), (), stream)
    if maxval is None:
        return values
    return tf.minimum(tf.cast(values * maxval, tf.int32), maxval - 1)
