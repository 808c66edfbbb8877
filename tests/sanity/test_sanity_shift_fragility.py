"""Input-shift invariance (Kindermans et al. 2017) and fragility (Ghorbani et al. 2019)."""

import keras
import numpy as np
import pytest
import toy_models

import tfattr
from tfattr import sanity


@pytest.fixture(scope="module")
def cnn():
    return toy_models.cnn("functional", seed=3)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).uniform(0, 1, (3, *toy_models.SHAPE)).astype("float32")


def test_the_shifted_twin_is_the_same_function(cnn, x):
    twin = sanity.shifted_model(cnn, -1.0)
    np.testing.assert_allclose(twin(x - 1.0), cnn(x), atol=1e-4)
    per_channel = sanity.shifted_model(cnn, [0.5, -0.2, 1.0])
    np.testing.assert_allclose(per_channel(x + [0.5, -0.2, 1.0]), cnn(x), atol=1e-4)
    dense = toy_models.linear_model()  # Flatten then Dense: the shift is flattened too
    np.testing.assert_allclose(sanity.shifted_model(dense, 2.0)(x + 2.0), dense(x), atol=1e-4)


def test_saliency_is_shift_invariant_and_input_x_gradient_is_not(cnn, x):
    saliency = sanity.input_shift_invariance(cnn, lambda m: tfattr.Saliency(m), x, shift=-1.0)
    assert saliency.invariant.all() and saliency.model_difference < 1e-4
    np.testing.assert_allclose(saliency.difference, 0, atol=1e-5)
    product = sanity.input_shift_invariance(cnn, tfattr.InputXGradient(cnn), x, shift=-1.0)
    assert not product.invariant.any() and np.all(product.difference > 0.5)
    # IG with a zero baseline fails the same way, as in the paper.
    ig = sanity.input_shift_invariance(cnn, tfattr.IntegratedGradients(cnn, steps=8), x)
    assert not ig.invariant.any()


def test_same_padding_warns_that_the_twin_differs(x):
    model = keras.Sequential(
        [
            keras.Input(toy_models.SHAPE),
            keras.layers.Conv2D(2, 3, padding="same", activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(2),
        ]
    )
    with pytest.warns(RuntimeWarning, match="not the same function"):
        sanity.input_shift_invariance(model, lambda m: tfattr.Saliency(m), x, shift=3.0)


def test_shift_bad_arguments(cnn, x):
    with pytest.raises(
        ValueError, match=r"shift: expected a finite number or one per channel \(3\)"
    ):
        sanity.input_shift_invariance(cnn, tfattr.Saliency(cnn), x, shift=[1.0, 2.0])
    no_bias = keras.Sequential(
        [
            keras.Input(toy_models.SHAPE),
            keras.layers.Flatten(),
            keras.layers.Dense(2, use_bias=False),
        ]
    )
    with pytest.raises(tfattr.ModelError, match="use_bias=True"):
        sanity.input_shift_invariance(no_bias, tfattr.Saliency(no_bias), x)


def test_fragility_of_a_linear_gradient_is_nil_and_cnn_is_reproducible(cnn, x):
    linear = toy_models.linear_model()
    stable = sanity.fragility(linear, tfattr.Saliency(linear), x, seed=0)
    np.testing.assert_allclose(stable.topk_intersection, 1.0)
    np.testing.assert_allclose(stable.spearman, 1.0)
    first = sanity.fragility(
        cnn, lambda m: tfattr.Saliency(m), x, epsilon=0.05, samples=4, k=10, seed=1
    )
    again = sanity.fragility(cnn, tfattr.Saliency(cnn), x, epsilon=0.05, samples=4, k=10, seed=1)
    np.testing.assert_array_equal(first.topk_intersection, again.topk_intersection)
    assert np.all((first.topk_intersection >= 0) & (first.topk_intersection <= 1))
    assert np.all(first.kept <= 4)


def test_fragility_warns_when_no_perturbation_keeps_the_prediction(cnn, x):
    with pytest.warns(RuntimeWarning, match="every perturbation changed the prediction"):
        result = sanity.fragility(cnn, tfattr.Saliency(cnn), x, epsilon=50.0, samples=2, seed=0)
    assert np.isnan(result.topk_intersection[result.kept == 0]).all()
    with pytest.raises(ValueError, match=r"k: expected an int in \[1, 64\]"):
        sanity.fragility(cnn, tfattr.Saliency(cnn), x, k=100)
