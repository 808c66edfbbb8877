"""Guided Backprop: only positive gradients pass through ReLUs, wherever the ReLU is written."""

import keras
import numpy as np
import pytest

import tfattr


def tiny(kind):
    """x (4) -> dense 3 -> relu -> dense 2 -> relu -> dense 1, the ReLU written three ways."""
    rng = np.random.default_rng(4)  # both ReLU layers are active on part of the test inputs
    w1, w2 = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    w3 = np.array([[1.0, -1.0], [-1.0, 1.0]])  # mixed signs: guided differs from plain
    inputs = keras.Input((1, 1, 4))
    h = keras.layers.Flatten()(inputs)
    if kind == "fused":
        h = keras.layers.Dense(3, activation="relu", use_bias=False)(h)
        h = keras.layers.Dense(2, activation="relu", use_bias=False)(h)
    else:
        relu = keras.layers.ReLU if kind == "layer" else lambda: keras.layers.Activation("relu")
        h = relu()(keras.layers.Dense(3, use_bias=False)(h))
        h = relu()(keras.layers.Dense(2, use_bias=False)(h))
    out = keras.layers.Dense(2, use_bias=False)(h)
    model = keras.Model(inputs, out)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer, w in zip(dense, (w1, w2, w3), strict=True):
        layer.set_weights([w.astype("f4")])
    return model, (w1, w2, w3)


def guided_by_hand(x, weights, target):
    w1, w2, w3 = weights
    a1 = x @ w1
    a2 = np.maximum(a1, 0) @ w2
    g = w3[:, target]  # d out / d relu2 output
    g = np.maximum(g, 0) * (a2 > 0)  # guided through relu 2
    g = g @ w2.T
    g = np.maximum(g, 0) * (a1 > 0)  # guided through relu 1
    return g @ w1.T


@pytest.mark.parametrize("kind", ["fused", "layer", "activation"])
def test_matches_a_hand_written_net(kind):
    model, weights = tiny(kind)
    x = np.random.default_rng(1).normal(size=(16, 1, 1, 4)).astype("f4")
    differs = 0.0
    for target in (0, 1):
        got = tfattr.GuidedBackprop(model).explain(x, target).numpy().reshape(16, 4)
        expected = np.stack([guided_by_hand(row, weights, target) for row in x.reshape(16, 4)])
        np.testing.assert_allclose(got, expected, atol=1e-5)
        plain = tfattr.Saliency(model, abs=False).explain(x, target).numpy().reshape(16, 4)
        differs = max(differs, np.abs(plain - got).max())
    # ... and differs from the plain gradient (some upstream gradients are negative).
    assert differs > 1e-3


def test_model_is_unchanged_after_guided_backprop():
    model, _ = tiny("fused")
    x = np.random.default_rng(2).normal(size=(4, 1, 1, 4)).astype("f4")
    before = tfattr.Saliency(model, abs=False).explain(x, 0).numpy()
    tfattr.GuidedBackprop(model).explain(x, 0)
    np.testing.assert_array_equal(tfattr.Saliency(model, abs=False).explain(x, 0), before)
    assert all(
        getattr(layer, "activation", None)
        in (None, keras.activations.relu, keras.activations.linear)
        for layer in model.layers
    )
