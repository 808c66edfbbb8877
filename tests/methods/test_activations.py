"""Activations: the feature maps of chosen layers, nested models included."""

import keras
import numpy as np
import pytest
import toy_models

import tfattr


def test_returns_each_layers_output():
    model = toy_models.cnn("nested")
    x = np.random.default_rng(0).uniform(size=(3, *toy_models.SHAPE)).astype("f4")
    maps = tfattr.Activations(model, layers=["conv", "dense"], batch_size=2).explain(x)
    assert set(maps) == {"base/conv", "dense"}
    base = model.get_layer("base")
    np.testing.assert_allclose(maps["base/conv"], base(x), atol=1e-6)
    assert maps["dense"].shape == (3, toy_models.CLASSES)
    default = tfattr.Activations(model).explain(x[0])
    np.testing.assert_allclose(default["base/conv"], base(x)[0], atol=1e-6)


def test_unknown_layer_is_named():
    with pytest.raises(tfattr.LayerNotFoundError, match="no layer named 'conv9'"):
        tfattr.Activations(toy_models.cnn("functional"), layers="conv9")


def test_default_cam_layer_skips_single_position_maps():
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, name="features")(inputs)
    h = keras.layers.GlobalAveragePooling2D(keepdims=True, name="pooled")(h)  # (N, 1, 1, 4)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(h)))
    maps = tfattr.Activations(model).explain(np.zeros((1, 8, 8, 3), "f4"))
    assert list(maps) == ["features"]
