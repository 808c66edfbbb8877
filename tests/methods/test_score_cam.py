"""Score-CAM equals a hand computation on a tiny net; Faster Score-CAM keeps the top channels."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfattr.methods.cam.score_cam import ScoreCAM


@pytest.fixture(scope="module")
def net():
    rng = np.random.default_rng(0)
    inputs = keras.Input((6, 6, 2))
    a = keras.layers.Conv2D(3, 3, activation="relu", name="conv")(inputs)
    h = keras.layers.GlobalAveragePooling2D()(a)
    model = keras.Model(inputs, keras.layers.Dense(4, name="dense")(h))
    model.get_layer("conv").set_weights(
        [rng.normal(size=(3, 3, 2, 3)).astype("f4"), rng.normal(size=3).astype("f4")]
    )
    model.get_layer("dense").set_weights(
        [rng.normal(size=(3, 4)).astype("f4"), rng.normal(size=4).astype("f4")]
    )
    return model


def hand(model, x, target, channels=None):
    activations = keras.Model(model.inputs[0], model.get_layer("conv").output)(x).numpy()[0]
    weights = np.zeros(activations.shape[-1])
    for k in range(activations.shape[-1]) if channels is None else channels:
        up = tf.image.resize(activations[None, :, :, k : k + 1], (6, 6)).numpy()[0]
        span = up.max() - up.min()
        mask = (up - up.min()) / span if span > 0 else np.zeros_like(up)
        logits = model(x * mask).numpy()[0]
        weights[k] = np.exp(logits[target]) / np.exp(logits).sum()
    cam = np.maximum((activations * weights).sum(-1), 0)
    return tf.image.resize(cam[None, :, :, None], (6, 6)).numpy()[0, :, :, 0]


def test_equals_the_hand_computation(net):
    x = np.random.default_rng(1).uniform(size=(1, 6, 6, 2)).astype("f4")
    got = ScoreCAM(net, layer="conv", batch_size=2).explain(x, 2)
    np.testing.assert_allclose(got[0], hand(net, x, 2), atol=1e-5)


def test_faster_scores_only_the_channels_of_largest_spread(net):
    x = np.random.default_rng(2).uniform(size=(1, 6, 6, 2)).astype("f4")
    activations = keras.Model(net.inputs[0], net.get_layer("conv").output)(x).numpy()[0]
    top = np.argsort(-activations.std(axis=(0, 1)))[:2]
    got = ScoreCAM(net, layer="conv", max_channels=2).explain(x, 1)
    np.testing.assert_allclose(got[0], hand(net, x, 1, channels=top), atol=1e-5)


def test_layer_resolution_and_bad_options(net):
    x = np.random.default_rng(3).uniform(size=(2, 6, 6, 2)).astype("f4")
    assert ScoreCAM(net, upsample=False).explain(x, 0).shape == (2, 4, 4)
    with pytest.raises(ValueError, match="max_channels"):
        ScoreCAM(net, max_channels=0)
