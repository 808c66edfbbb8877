"""Deconvolution: ReLUs pass relu(upstream) whatever their input (Captum's rule)."""

import keras
import numpy as np
import pytest
import toy_models

from tfattr.errors import OpaqueModelError
from tfattr.methods.rules.deconvolution import Deconvolution
from tfattr.methods.rules.guided_backprop import GuidedBackprop


def mlp(seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.normal(size=(6, 5)).astype("f4")
    w2 = rng.normal(size=(5, 3)).astype("f4")
    model = keras.Sequential(
        [
            keras.Input((2, 1, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(5, activation="relu", use_bias=False),
            keras.layers.Dense(3, use_bias=False),
        ]
    )
    model.layers[1].set_weights([w1])
    model.layers[2].set_weights([w2])
    return model, w1, w2


def test_matches_the_hand_computation_and_ignores_the_forward_switches():
    model, w1, w2 = mlp()
    x = np.random.default_rng(1).normal(size=(4, 2, 1, 3)).astype("f4")
    got = Deconvolution(model).explain(x, 2).numpy().reshape(4, 6)
    expected = w1 @ np.maximum(w2[:, 2], 0)  # the same for every input
    np.testing.assert_allclose(got, np.broadcast_to(expected, (4, 6)), atol=1e-5)
    hidden = x.reshape(4, 6) @ w1
    if (hidden <= 0).any():  # guided backprop also applies the forward switches
        guided = GuidedBackprop(model).explain(x, 2).numpy().reshape(4, 6)
        assert np.abs(guided - got).max() > 1e-3


def test_opaque_models_are_refused():
    with pytest.raises(OpaqueModelError):
        Deconvolution(toy_models.cnn("callable"))
