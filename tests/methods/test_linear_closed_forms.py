"""On a linear model every method has an exact closed form: scores = flatten(x) @ W + c."""

import numpy as np
import pytest
import toy_models

import tfattr
from tfattr.core.quadrature import RULES


@pytest.fixture(scope="module")
def setup():
    model = toy_models.linear_model(softmax=True)  # the adapter removes the softmax
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(2).normal(size=(3, *toy_models.SHAPE)).astype("float32")
    targets = np.array([0, 3, 1])
    w = np.stack([kernel[:, t].reshape(toy_models.SHAPE) for t in targets])
    return model, x, targets, w


def test_saliency(setup):
    model, x, targets, w = setup
    np.testing.assert_allclose(tfattr.Saliency(model).explain(x, targets), np.abs(w), atol=1e-6)
    signed = tfattr.Saliency(model, abs=False).explain(x, targets)
    np.testing.assert_allclose(signed, w, atol=1e-6)


def test_input_x_gradient(setup):
    model, x, targets, w = setup
    np.testing.assert_allclose(tfattr.InputXGradient(model).explain(x, targets), x * w, atol=1e-5)


@pytest.mark.parametrize("method", RULES)
@pytest.mark.parametrize("baseline", [None, "white", "blur", 0.3])
def test_integrated_gradients_every_rule(setup, method, baseline):
    model, x, targets, w = setup
    ig = tfattr.IntegratedGradients(model, steps=7, method=method, baseline=baseline)
    b = {None: 0.0, 0.3: 0.3, "white": x.max(axis=(1, 2, 3), keepdims=True)}.get(baseline)
    if baseline == "blur":
        from tfattr.core.baselines import gaussian_blur

        b = gaussian_blur(x).numpy()
    attr, delta = ig.explain(x, targets, return_convergence_delta=True)
    np.testing.assert_allclose(attr, (x - b) * w, atol=1e-4)
    np.testing.assert_allclose(delta, 0, atol=1e-3)


def test_integrated_gradients_stack_of_baselines_is_the_average(setup):
    model, x, targets, w = setup
    stack = np.random.default_rng(3).normal(size=(4, *toy_models.SHAPE)).astype("float32")
    attr = tfattr.IntegratedGradients(model, steps=3, baseline=stack).explain(x, targets)
    expected = np.mean([(x - b) * w for b in stack], axis=0)
    np.testing.assert_allclose(attr, expected, atol=1e-4)


def test_gradient_shap_one_baseline(setup):
    model, x, targets, w = setup
    b = np.full(toy_models.SHAPE, -0.5, "float32")
    attr = tfattr.GradientShap(model, samples=5, baselines=b[None], seed=0).explain(x, targets)
    np.testing.assert_allclose(attr, (x - b) * w, atol=1e-4)


def test_gradient_shap_many_baselines_averages_their_draws(setup):
    model, x, targets, w = setup
    stack = np.random.default_rng(4).normal(size=(3, *toy_models.SHAPE)).astype("float32")
    attr = tfattr.GradientShap(model, samples=400, baselines=stack, seed=1).explain(x, targets)
    # Draws pick each baseline about a third of the time: the mean is near the average of them.
    expected = np.mean([(x - b) * w for b in stack], axis=0)
    error = np.abs(attr - expected).mean() / np.abs(expected).mean()
    assert error < 0.15


@pytest.mark.parametrize(
    ("kind", "expected"), [("smoothgrad", "w"), ("smoothgrad_sq", "w2"), ("vargrad", "0")]
)
def test_noise_tunnel_statistics_of_a_constant_gradient(setup, kind, expected):
    model, x, targets, w = setup
    attr = tfattr.NoiseTunnel(tfattr.Saliency(model, abs=False), kind=kind, samples=6, seed=0)
    value = {"w": w, "w2": w**2, "0": 0 * w}[expected]
    np.testing.assert_allclose(attr.explain(x, targets), value, atol=1e-5)
    smooth = tfattr.SmoothGrad(model, samples=6, kind=kind, seed=0).explain(x, targets)
    np.testing.assert_allclose(smooth, value, atol=1e-5)


def test_noise_tunnel_over_input_x_gradient_uses_the_noisy_input(setup):
    model, x, targets, w = setup
    nt = tfattr.NoiseTunnel(tfattr.InputXGradient(model), samples=3, stddev=0.5, seed=0)
    attr = nt.explain(x, targets).numpy()
    # mean_s (x + e_s) * w, with the noise regenerated from the documented keys
    import tensorflow as tf

    from tfattr.core import random

    noise = random.normal_rows(tf.constant(0, tf.int64), tf.range(3), toy_models.SHAPE, 4)
    expected = (x + 0.5 * tf.reduce_mean(noise, 0).numpy()[None]) * w
    np.testing.assert_allclose(attr, expected, atol=1e-4)
