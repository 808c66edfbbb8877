"""Baselines: every shape has one reading, per-image baselines are explicit, errors name shapes."""

import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr.core import baselines as base
from tfattr.core.baselines import per_image, stack


@pytest.fixture(scope="module")
def linear():
    """F(x) = sum(W_c * x): IG with baseline b is exactly W_c * (x - b) (any rule, any steps)."""
    return toy_models.linear_model(), toy_models.linear_weights()


@pytest.fixture
def x():
    return np.random.default_rng(3).uniform(size=(3, *toy_models.SHAPE)).astype("f4")


def weights_of(w, c):
    return np.reshape(w[0][:, c], toy_models.SHAPE)


def test_per_image_baselines_give_each_image_its_own_reference(linear, x):
    model, w = linear
    b = np.random.default_rng(4).uniform(size=x.shape).astype("f4")
    attr = tfattr.IntegratedGradients(model, steps=4).explain(x, target=1, baseline=per_image(b))
    expected = weights_of(w, 1) * (x - b)
    np.testing.assert_allclose(attr.numpy(), expected, atol=1e-5)


def test_per_image_stacks_average_per_image(linear, x):
    model, w = linear
    b = np.random.default_rng(5).uniform(size=(3, 2, *toy_models.SHAPE)).astype("f4")
    attr = tfattr.IntegratedGradients(model, steps=3).explain(x, target=0, baseline=per_image(b))
    expected = weights_of(w, 0) * (x - b.mean(axis=1))
    np.testing.assert_allclose(attr.numpy(), expected, atol=1e-5)


def test_explicit_stack_averages_for_every_image(linear, x):
    model, w = linear
    b = np.random.default_rng(6).uniform(size=(3, *toy_models.SHAPE)).astype("f4")
    attr = tfattr.IntegratedGradients(model, steps=3).explain(x, target=2, baseline=stack(b))
    expected = weights_of(w, 2) * (x - b.mean(axis=0))
    np.testing.assert_allclose(attr.numpy(), expected, atol=1e-5)


def test_a_stack_of_n_for_n_images_is_refused_naming_both_readings(linear, x):
    model, _ = linear
    ig = tfattr.IntegratedGradients(model, steps=3)
    b = np.zeros((3, *toy_models.SHAPE), "f4")
    with pytest.raises(ValueError) as error:
        ig.explain(x, target=0, baseline=b)
    message = str(error.value)
    assert "baseline: shape (3, 8, 8, 3) for 3 images" in message
    assert "one baseline per image" in message and "averaged for every image" in message
    assert "per_image(b)" in message and "stack(b)" in message
    # The same as a tensor, and through DeepLift: never averaged silently.
    with pytest.raises(ValueError, match="can be read two ways"):
        ig.explain(x, target=0, baseline=tf.constant(b))
    with pytest.raises(ValueError, match="can be read two ways"):
        tfattr.DeepLift(model).explain(x, target=0, baseline=b)


def test_unambiguous_shapes_keep_their_reading(linear, x):
    model, w = linear
    ig = tfattr.IntegratedGradients(model, steps=3)
    two = np.random.default_rng(7).uniform(size=(2, *toy_models.SHAPE)).astype("f4")
    np.testing.assert_allclose(  # K = 2 for N = 3: a stack
        ig.explain(x, target=1, baseline=two).numpy(),
        weights_of(w, 1) * (x - two.mean(0)),
        atol=1e-5,
    )
    one = two[:1]
    np.testing.assert_allclose(  # (1, H, W, C) and (H, W, C): one shared baseline
        ig.explain(x, target=1, baseline=one).numpy(), weights_of(w, 1) * (x - one), atol=1e-5
    )
    np.testing.assert_allclose(
        ig.explain(x[:1], target=1, baseline=one).numpy(),
        ig.explain(x[:1], target=1, baseline=one[0]).numpy(),
        atol=1e-6,
    )


def test_gradient_shap_baselines_are_a_distribution_not_per_image(linear, x):
    model, _ = linear
    b = np.zeros((3, *toy_models.SHAPE), "f4")  # K == N: a distribution, no ambiguity
    attr = tfattr.GradientShap(model, samples=4, baselines=b, seed=0).explain(x, target=0)
    assert attr.shape == x.shape


@pytest.mark.parametrize(
    "value, pattern",
    [
        (np.zeros((5, 5, 3)), r"baseline: got shape \(5, 5, 3\), which does not broadcast"),
        (np.zeros((2, 5, 5, 3)), r"baseline: got shape \(2, 5, 5, 3\); expected one baseline"),
        (np.zeros((1, 2, 8, 8, 3)), r"baseline: got shape \(1, 2, 8, 8, 3\); expected"),
        (per_image(np.zeros((2, 8, 8, 3))), r"per_image baselines of shape \(2, 8, 8, 3\) do not"),
        (per_image(np.zeros((3, 8, 8, 1))), r"expected \(3, 8, 8, 3\) or \(3, K, 8, 8, 3\)"),
    ],
)
def test_shape_errors_name_argument_shape_and_accepted_shapes(linear, x, value, pattern):
    model, _ = linear
    with pytest.raises(ValueError, match=pattern) as error:
        tfattr.IntegratedGradients(model, steps=3).explain(x, target=0, baseline=value)
    assert "(K, 8, 8, 3)" in str(error.value)  # the accepted stack shape is named


def test_resolve_layouts():
    x = tf.zeros((2, *toy_models.SHAPE))
    assert base.resolve(None, x).layout == "single"
    assert base.resolve(np.zeros((3, *toy_models.SHAPE)), x).layout == "shared"
    assert base.resolve(per_image(np.zeros((2, *toy_models.SHAPE))), x).layout == "per_image"
    resolved = base.resolve(per_image(np.zeros((2, 4, *toy_models.SHAPE))), x)
    assert (resolved.layout, resolved.count, tuple(resolved.values.shape)) == (
        "per_image",
        4,
        (8, *toy_models.SHAPE),
    )
    assert "per_image(shape=(2, 8, 8, 3))" in repr(per_image(np.zeros((2, 8, 8, 3))))


def test_occlusion_baseline_shape_error_names_the_shapes(linear, x):
    model, _ = linear
    with pytest.raises(ValueError) as error:
        tfattr.Occlusion(model, window=4, stride=4).explain(x, 0, baseline=np.zeros((5, 5)))
    message = str(error.value)
    assert message.startswith("baseline: got shape (5, 5)")
    assert "(8, 8, 3)" in message and "(3,)" in message and "(1, 8, 8, 3)" in message
    # Accepted forms give the same result as the scalar baseline they amount to.
    occlusion = tfattr.Occlusion(model, window=4, stride=4)
    scalar = occlusion.explain(x, 0, baseline=0.25).numpy()
    for value in (np.full(3, 0.25), np.full((8, 8, 3), 0.25), np.full((1, 8, 8, 3), 0.25)):
        np.testing.assert_allclose(occlusion.explain(x, 0, baseline=value).numpy(), scalar)
