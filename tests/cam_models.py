"""A conv layer and a head with known weights, built so tests can run the head alone (CAM tests)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

SHAPE = (10, 10, 3)
CLASSES = 4


def split_model(head: str = "flatten", activation="relu", seed: int = 0, channels: int = 5):
    """``conv 3x3 "features" (activation) -> head`` with random weights.

    Heads: ``"flatten"`` (flatten -> dense) or ``"gap"`` (global average pooling -> dense).

    Returns:
        ``(model, conv, head_fn)``: the Keras model, its conv layer, and a function running the
        head (the same layer objects) on a feature map.
    """
    rng = np.random.default_rng(seed)
    conv = keras.layers.Conv2D(channels, 3, activation=activation, name="features")
    pool = keras.layers.Flatten() if head == "flatten" else keras.layers.GlobalAveragePooling2D()
    dense = keras.layers.Dense(CLASSES, name="head")
    inputs = keras.Input(SHAPE)
    model = keras.Model(inputs, dense(pool(conv(inputs))))
    conv.set_weights(
        [
            rng.normal(0, 0.5, (3, 3, SHAPE[-1], channels)).astype("f4"),
            rng.normal(0, 0.2, (channels,)).astype("f4"),
        ]
    )
    features = 8 * 8 * channels if head == "flatten" else channels
    dense.set_weights(
        [
            rng.normal(0, 0.5, (features, CLASSES)).astype("f4"),
            rng.normal(0, 0.3, (CLASSES,)).astype("f4"),
        ]
    )
    return model, conv, lambda a: dense(pool(a))


def images(n: int = 3, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1, (n, *SHAPE)).astype("f4")


def activations_and_gradients(conv, head_fn, x, targets):
    """The conv output ``A`` and ``dF/dA`` of each image's target score, computed directly."""
    a = conv(tf.convert_to_tensor(x))
    with tf.GradientTape() as tape:
        tape.watch(a)
        scores = head_fn(a)
        picked = tf.gather(scores, targets, axis=1, batch_dims=1)
    return a.numpy(), tape.gradient(picked, a).numpy(), scores.numpy()


def mixed_precision_twins(head: str = "gap", activation="relu"):
    """``(float32 model, the same weights under mixed_float16)``; the policy is restored."""
    reference, _, _ = split_model(head, activation)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed, _, _ = split_model(head, activation)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert mixed.get_layer("features").compute_dtype == "float16"
    return reference, mixed
