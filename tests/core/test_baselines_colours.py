"""Baselines named by colour are that colour in the model's input scale, when the scale is known.

``"black"``/``"white"`` come from ``value_range=(low, high)`` or from the preprocessing of the
ModelSpec an explainer is built on; ``None`` stays zeros (Captum's default).
"""

import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr.core import baselines as base
from tfattr.models import ModelSpec, Preprocess

CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], "f4")


@pytest.fixture(scope="module")
def linear():
    """F(x) = sum(W_c * x): IG with baseline b is exactly W_c * (x - b)."""
    return toy_models.linear_model(), toy_models.linear_weights()


def spec_of(model, mode):
    return ModelSpec(
        name=f"toy-{mode}",
        model=model,
        preprocess=Preprocess(mode),
        input_size=toy_models.SHAPE[:2],
        num_classes=toy_models.CLASSES,
        imagenet=False,
    )


def images(low, high, n=2, seed=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(low, high, (n, *toy_models.SHAPE)).astype("f4")


def weights_of(w, c):
    return np.reshape(w[0][:, c], toy_models.SHAPE)


def test_black_and_white_of_a_minus_one_to_one_spec(linear):
    model, w = linear
    spec = spec_of(model, "tf")
    black, white = base.black_and_white(toy_models.SHAPE, spec=spec)
    np.testing.assert_array_equal(black, -np.ones((1, *toy_models.SHAPE)))
    np.testing.assert_array_equal(white, np.ones((1, *toy_models.SHAPE)))
    x = images(-1, 1)
    ig = tfattr.IntegratedGradients(spec, steps=2)
    for colour, value in (("black", -1.0), ("white", 1.0)):
        attr = ig.explain(x, target=1, baseline=colour)
        np.testing.assert_allclose(attr, weights_of(w, 1) * (x - value), atol=1e-5)
    # None stays zeros, whatever the scale (Captum's default).
    np.testing.assert_allclose(ig.explain(x, target=1), weights_of(w, 1) * x, atol=1e-5)


def test_black_of_caffe_preprocessing_is_minus_the_mean_per_channel_in_bgr(linear):
    model, w = linear
    spec = spec_of(model, "caffe")
    black, white = base.black_and_white(toy_models.SHAPE, spec=spec)
    np.testing.assert_allclose(black[0, 2, 5], -CAFFE_MEAN_BGR, rtol=1e-6)
    np.testing.assert_allclose(white[0, 0, 0], 255.0 - CAFFE_MEAN_BGR, rtol=1e-6)
    x = images(-120, 130)
    attr = tfattr.IntegratedGradients(spec, steps=2).explain(x, target=0, baseline="black")
    np.testing.assert_allclose(attr, weights_of(w, 0) * (x + CAFFE_MEAN_BGR), rtol=1e-4, atol=1e-3)
    # The uniform baseline lies between black and white, per channel.
    uniform = base.resolve("uniform", tf.constant(x), seed=2, spec=spec).values.numpy()
    assert (uniform >= black.numpy() - 1e-4).all() and (uniform <= white.numpy() + 1e-4).all()
    assert uniform.std() > 20


def test_value_range_names_the_scale_and_wins_over_the_spec(linear):
    model, w = linear
    x = images(-1, 1)
    ig = tfattr.IntegratedGradients(model, steps=2, value_range=(-1, 1))
    attr = ig.explain(x, target=2, baseline="black")
    np.testing.assert_allclose(attr, weights_of(w, 2) * (x + 1.0), atol=1e-5)
    on_spec = tfattr.IntegratedGradients(spec_of(model, "caffe"), steps=2, value_range=(-2, 2))
    attr = on_spec.explain(x, target=2, baseline="white")
    np.testing.assert_allclose(attr, weights_of(w, 2) * (x - 2.0), atol=1e-5)
    with pytest.raises(ValueError, match="value_range: low must be below high"):
        tfattr.IntegratedGradients(model, value_range=(1, -1)).explain(x, 0, baseline="black")


def test_unknown_scale_keeps_zeros_for_black(linear):
    model, w = linear
    x = images(0, 1)
    attr = tfattr.IntegratedGradients(model, steps=2).explain(x, target=0, baseline="black")
    np.testing.assert_allclose(attr, weights_of(w, 0) * x, atol=1e-5)


def test_integrated_gradients_is_complete_against_the_new_black():
    model = toy_models.cnn(softmax=False)
    spec = spec_of(model, "tf")
    x = tf.constant(images(-1, 1))
    attr, delta = tfattr.IntegratedGradients(spec, steps=256).explain(
        x, target=1, baseline="black", return_convergence_delta=True
    )
    gap = model(x)[:, 1] - model(-tf.ones_like(x))[:, 1]
    total = tf.reduce_sum(attr, axis=[1, 2, 3])
    np.testing.assert_allclose(total, gap, rtol=0.01, atol=1e-3)
    assert float(tf.reduce_max(tf.abs(delta))) <= 0.01 * float(tf.reduce_max(tf.abs(gap)))
    # A real difference from the zeros baseline (mid-grey in [-1, 1]).
    zeros_gap = model(x)[:, 1] - model(tf.zeros_like(x))[:, 1]
    assert float(tf.reduce_max(tf.abs(gap - zeros_gap))) > 0.01


def test_guided_ig_and_deeplift_read_the_spec_too(linear):
    model, w = linear
    spec = spec_of(model, "tf")
    x = images(-1, 1)
    expected = weights_of(w, 3) * (x + 1.0)
    guided = tfattr.GuidedIntegratedGradients(spec, steps=8).explain(x, target=3, baseline="black")
    np.testing.assert_allclose(guided, expected, atol=1e-4)
    deeplift = tfattr.DeepLift(spec).explain(x, target=3, baseline="black")
    np.testing.assert_allclose(deeplift, expected, atol=1e-4)


def test_a_zoo_spec_gives_its_black():
    spec = tfattr.models.load("mobilenet", weights=None, input_size=32, alpha=0.25)
    ig = tfattr.IntegratedGradients(spec)
    x = tf.zeros((1, 32, 32, 3))
    np.testing.assert_array_equal(ig.baselines(x, {**ig.options, "baseline": "black"}).values, -1.0)
    assert float(tf.reduce_max(tf.abs(ig.baselines(x, ig.options).values))) == 0.0
