"""Blur IG: scipy's blur, and completeness up to the quadrature error."""

import numpy as np
import pytest
import scipy.ndimage
import toy_models

from tfattr.methods.gradient.blur_ig import BlurIntegratedGradients, gaussian_blur


@pytest.mark.parametrize("sigma", [0.0, 0.4, 1.5, 6.0])
def test_blur_equals_scipy_with_zero_borders(sigma):
    x = np.random.default_rng(0).uniform(size=(1, 8, 7, 2)).astype("f4")
    expected = scipy.ndimage.gaussian_filter(x[0].astype("f8"), (sigma, sigma, 0), mode="constant")
    np.testing.assert_allclose(gaussian_blur(x, sigma)[0], expected, atol=1e-5)


def test_rows_blur_with_their_own_sigma():
    x = np.random.default_rng(1).uniform(size=(2, 6, 6, 1)).astype("f4")
    both = gaussian_blur(np.concatenate([x[:1], x[:1]]), np.array([0.5, 2.0], "f4"), 2.0)
    np.testing.assert_allclose(both[1], gaussian_blur(x[:1], 2.0)[0], atol=1e-6)
    np.testing.assert_allclose(both[0], gaussian_blur(x[:1], 0.5)[0], atol=1e-6)


def test_completeness_up_to_the_quadrature_error():
    model = toy_models.cnn("functional", seed=1)
    x = np.random.default_rng(2).uniform(size=(2, *toy_models.SHAPE)).astype("f4")
    deltas = []
    for steps in (10, 100):
        explainer = BlurIntegratedGradients(
            model, steps=steps, max_sigma=3.0, return_convergence_delta=True
        )
        attr, delta = explainer.explain(x, [0, 2])
        deltas.append(np.abs(delta.numpy()))
    change = np.abs(attr.numpy().sum((1, 2, 3)))
    assert np.all(deltas[1] < deltas[0]) and np.all(deltas[1] < 0.05 * change + 0.02)


def test_defaults_are_paper_ones():
    options = BlurIntegratedGradients(toy_models.linear_model()).options
    assert (options["steps"], options["max_sigma"], options["grad_step"]) == (100, 50.0, 0.01)
