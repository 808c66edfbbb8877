"""Grad-CAM family: CAM equality on GAP networks, every model layout, layer lookup, options."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfattr

SHAPE = (12, 12, 3)


def gap_weights(seed=0):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(0, 0.5, (3, 3, 3, 5)).astype("f4"),
        rng.normal(0, 0.1, (5,)).astype("f4"),
        rng.normal(0, 0.5, (5, 4)).astype("f4"),
        rng.normal(0, 0.1, (4,)).astype("f4"),
    ]


def gap_network(layout="flat", seed=0):
    """conv(relu) -> global average pooling -> dense -> softmax, in four layouts."""
    w = gap_weights(seed)

    def conv():
        return keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="features")

    if layout == "flat":
        inputs = keras.Input(SHAPE)
        h = keras.layers.GlobalAveragePooling2D()(conv()(inputs))
        model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax", name="head")(h))
    elif layout == "sequential":
        model = keras.Sequential(
            [
                keras.Input(SHAPE),
                conv(),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(4, activation="softmax", name="head"),
            ]
        )
    elif layout == "nested":
        base_in = keras.Input(SHAPE)
        base = keras.Model(base_in, conv()(base_in), name="base")
        inputs = keras.Input(SHAPE)
        h = keras.layers.GlobalAveragePooling2D()(base(inputs))
        model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax", name="head")(h))
    else:

        class Subclassed(keras.Model):
            def __init__(self):
                super().__init__()
                self.features = conv()
                self.pool = keras.layers.GlobalAveragePooling2D()
                self.head = keras.layers.Dense(4, name="head")

            def call(self, x):
                return self.head(self.pool(self.features(x)))

        model = Subclassed()
        model(tf.zeros((1, *SHAPE)))
    layer = tfattr.core.layers.find_layer(model, "features")[1]
    layer.set_weights(w[:2])
    tfattr.core.layers.find_layer(model, "head")[1].set_weights(w[2:])
    return model


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(1).uniform(-1, 1, size=(3, *SHAPE)).astype("f4")


def test_gradcam_equals_cam_on_a_gap_network(x):
    model = gap_network()
    w = gap_weights()
    features = keras.Model(model.inputs[0], model.get_layer("features").output)(x).numpy()
    targets = np.array([0, 2, 3])
    cam = np.einsum("nhwk,kn->nhw", features, w[2][:, targets])  # Zhou et al.'s CAM
    z = SHAPE[0] * SHAPE[1]
    signed = tfattr.GradCAM(model, relu=False, upsample=False).explain(x, targets)
    np.testing.assert_allclose(signed, cam / z, atol=1e-6)
    relu = tfattr.GradCAM(model, upsample=False).explain(x, targets)
    np.testing.assert_allclose(relu, np.maximum(cam / z, 0), atol=1e-6)


@pytest.mark.parametrize("method", ["GradCAM", "GradCAMPlusPlus", "GuidedGradCAM"])
def test_every_layout_gives_identical_maps(method, x):
    explain = {
        layout: getattr(tfattr, method)(gap_network(layout)).explain(x, target=[1, 2, 0]).numpy()
        for layout in ("flat", "sequential", "nested", "subclassed")
    }
    for layout, value in explain.items():
        np.testing.assert_allclose(value, explain["flat"], atol=1e-5, err_msg=layout)
    assert np.abs(explain["flat"]).max() > 0


def test_layer_by_name_path_and_object(x):
    model = gap_network("nested")
    by_default = tfattr.GradCAM(model).explain(x, 1)
    by_name = tfattr.GradCAM(model, layer="features").explain(x, 1)
    by_path = tfattr.GradCAM(model, layer="base/features").explain(x, 1)
    layer = model.get_layer("base").get_layer("features")
    by_object = tfattr.GradCAM(model, layer=layer).explain(x, 1)
    for other in (by_name, by_path, by_object):
        np.testing.assert_array_equal(other, by_default)


def test_the_default_layer_is_found_by_one_probing_pass_per_input_shape(x, monkeypatch):
    """Finding the default CAM layer records a forward pass (per input shape); later calls
    reuse what it found instead of running the model eagerly again."""
    from tfattr.core import layers

    probes = []
    recorder = layers.recorder
    monkeypatch.setattr(layers, "recorder", lambda calls: probes.append(1) or recorder(calls))
    cam = tfattr.GradCAM(gap_network("nested"))
    first = cam.explain(x, 1)
    for _ in range(3):
        np.testing.assert_array_equal(cam.explain(x, 1), first)
    assert len(probes) == 1


def test_missing_and_ambiguous_layers_are_named():
    inputs = keras.Input(SHAPE)
    a = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="conv")(inputs), name="a")
    b_in = keras.Input(SHAPE)
    b = keras.Model(b_in, keras.layers.Conv2D(2, 3, name="conv")(b_in), name="b")
    outer_in = keras.Input(SHAPE)
    merged = keras.layers.Concatenate()([a(outer_in), b(outer_in)])
    model = keras.Model(outer_in, keras.layers.Dense(3)(keras.layers.Flatten()(merged)))
    with pytest.raises(tfattr.LayerNotFoundError, match=r"ambiguous.*'a/conv', 'b/conv'"):
        tfattr.GradCAM(model, layer="conv")
    with pytest.raises(tfattr.LayerNotFoundError, match="no layer named 'nope'"):
        tfattr.GradCAM(model, layer="nope")
    tfattr.GradCAM(model, layer="b/conv").explain(np.zeros((1, *SHAPE)), 0)


def test_upsampling_and_interpolation(x):
    model = gap_network()
    small = tfattr.GradCAM(model, upsample=False).explain(x, 0)
    assert small.shape == (3, 12, 12)
    strided = keras.Sequential(
        [
            keras.Input(SHAPE),
            keras.layers.Conv2D(4, 3, strides=3, activation="relu", name="c"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2),
        ]
    )
    low = tfattr.GradCAM(strided, upsample=False).explain(x, 0)
    high = tfattr.GradCAM(strided).explain(x, 0)
    nearest = tfattr.GradCAM(strided, interpolation="nearest").explain(x, 0)
    assert low.shape == (3, 4, 4) and high.shape == (3, 12, 12)
    np.testing.assert_allclose(nearest[:, ::3, ::3], low, atol=1e-6)
    with pytest.raises(ValueError, match="interpolation"):
        tfattr.GradCAM(strided, interpolation="cubic")


def test_gradcam_plus_plus_matches_a_hand_computation(x):
    model = gap_network(seed=3)
    features = keras.Model(model.inputs[0], model.get_layer("features").output)(x).numpy()
    w = gap_weights(3)[2]
    z = SHAPE[0] * SHAPE[1]
    t = 2
    g = np.broadcast_to(w[:, t] / z, features.shape)  # dY/dA is constant on a GAP network
    alpha = g**2 / (2 * g**2 + features.sum((1, 2), keepdims=True) * g**3)
    weights = (alpha * np.maximum(g, 0)).sum((1, 2))
    expected = np.maximum(np.einsum("nhwk,nk->nhw", features, weights), 0)
    got = tfattr.GradCAMPlusPlus(model, upsample=False).explain(x, t)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_opaque_models_are_refused_with_the_methods_that_work(x):
    model = gap_network()

    def opaque(images):
        return model(images)

    for method in ("GradCAM", "GuidedBackprop", "DeepLift", "Activations"):
        with pytest.raises(tfattr.OpaqueModelError, match="Saliency.*Occlusion"):
            getattr(tfattr, method)(opaque)


def test_non_4d_layer_is_refused(x):
    with pytest.raises(ValueError, match="4-D"):
        tfattr.GradCAM(gap_network(), layer="head").explain(x, 0)
