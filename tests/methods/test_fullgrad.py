"""FullGrad: completeness of the full-gradient decomposition, and the paper's post-processing."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr.errors import OpaqueModelError

SHAPE = (12, 12, 3)


def bn_network(seed=0):
    """conv (no bias) -> BN -> ReLU -> max pool -> conv (bias, fused ReLU) -> GAP -> dense,
    with batch-norm statistics far from the identity (its inference-time bias matters)."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input(SHAPE)
    h = keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="c1")(inputs)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.MaxPooling2D(2)(h)
    h = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c2")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(3, name="head")(h))
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if layer.name == "bn":  # gamma, beta, moving mean, moving variance
            weights = [
                rng.uniform(0.5, 2, 4),
                rng.normal(0, 0.5, 4),
                rng.normal(0, 0.5, 4),
                rng.uniform(0.2, 3, 4),
            ]
        else:
            weights = [rng.normal(0, 0.5, w.shape) for w in weights]
        layer.set_weights([w.astype("f4") for w in weights])
    return model


def images(n=3, seed=2):
    return np.random.default_rng(seed).normal(0, 1, (n, *SHAPE)).astype("f4")


@pytest.mark.parametrize("build", ["bn_network", "toy_cnn"])
def test_completeness_of_the_decomposition(build):
    if build == "bn_network":
        model, x = bn_network(), images()
    else:  # conv with bias and fused ReLU -> flatten -> dense, nested in an outer model
        model = toy_models.cnn("nested", seed=3)
        x = np.random.default_rng(4).normal(0, 1, (3, *toy_models.SHAPE)).astype("f4")
    targets = [0, 1, 2]
    explainer = tfattr.FullGrad(model)
    input_term, bias_terms = explainer.decompose(x, target=targets)
    total = input_term.numpy().sum((1, 2, 3))
    for _, term in bias_terms:
        total = total + term.numpy().reshape(len(x), -1).sum(1)
    logits = explainer.adapter(tf.constant(x)).numpy()[np.arange(3), targets]
    np.testing.assert_allclose(total, logits, rtol=1e-4, atol=1e-4)
    # Every bias counts: without the bias terms the sum is off.
    assert np.abs(input_term.numpy().sum((1, 2, 3)) - logits).max() > 1e-2
    names = [path for path, _ in bias_terms]
    if build == "bn_network":
        assert names == ["bn", "c2", "head"]
    else:
        assert names == ["base/conv", "dense"]


def test_map_is_the_post_processed_sum():
    model = bn_network()
    x = images()
    explainer = tfattr.FullGrad(model)
    input_term, bias_terms = explainer.decompose(x, target=1)

    def psi(t):
        t = np.abs(t)
        axes = tuple(range(1, t.ndim))
        t = t - t.min(axis=axes, keepdims=True)
        return t / (t.max(axis=axes, keepdims=True) + 1e-6)

    expected = psi(input_term.numpy()).sum(-1)
    for _, term in bias_terms:
        if term.shape.rank == 4:
            spatial = psi(term.numpy()).sum(-1)
            expected += tf.image.resize(spatial[..., None], SHAPE[:2]).numpy()[..., 0]
    np.testing.assert_allclose(explainer.explain(x, target=1), expected, rtol=1e-4, atol=1e-4)


def test_single_image_decomposition():
    model = bn_network()
    x = images(1)
    input_term, bias_terms = tfattr.FullGrad(model).decompose(x[0], target=2)
    assert input_term.shape == SHAPE and bias_terms[-1][1].shape == (3,)


def fused_network(activation):
    rng = np.random.default_rng(5)
    inputs = keras.Input(SHAPE)
    conv = keras.layers.Conv2D(2, 3, activation=activation, name="fused")
    dense = keras.layers.Dense(2, name="head")
    model = keras.Model(inputs, dense(keras.layers.Flatten()(conv(inputs))))
    for layer in (conv, dense):
        layer.set_weights([rng.normal(0, 0.5, w.shape).astype("f4") for w in layer.get_weights()])
    return model, conv, dense


def test_fused_activations_are_tapped_before_the_activation():
    model, conv, dense = fused_network("sigmoid")
    x = images(2)
    _, bias_terms = tfattr.FullGrad(model).decompose(x, target=1)
    # Reference: z = the conv without its activation, F = dense(flatten(sigmoid(z))).
    kernel, bias = conv.get_weights()
    z = tf.nn.conv2d(x, kernel, 1, "VALID") + bias
    with tf.GradientTape() as tape:
        tape.watch(z)
        score = dense(tf.reshape(tf.sigmoid(z), (2, -1)))[:, 1]
    expected = tape.gradient(score, z).numpy() * bias
    np.testing.assert_allclose(dict(bias_terms)["fused"], expected, rtol=1e-4, atol=1e-6)
    assert conv.activation is keras.activations.sigmoid  # the user's layer is untouched


def test_completeness_with_a_fused_leaky_relu():
    model, _, _ = fused_network("leaky_relu")  # piecewise linear through the origin
    x = images(2)
    explainer = tfattr.FullGrad(model)
    input_term, bias_terms = explainer.decompose(x, target=0)
    total = input_term.numpy().sum((1, 2, 3)) + sum(
        t.numpy().reshape(2, -1).sum(1) for _, t in bias_terms
    )
    np.testing.assert_allclose(total, model(x).numpy()[:, 0], rtol=1e-4, atol=1e-4)


def test_refuses_opaque_models():
    with pytest.raises(OpaqueModelError, match="FullGrad"):
        tfattr.FullGrad(toy_models.cnn("callable"))
