"""MuFidelity, infidelity and max-sensitivity against closed forms on linear models."""

import numpy as np
import pytest
import toy_models

import tfattr
from tfattr import metrics


@pytest.fixture(scope="module")
def linear():
    model = toy_models.linear_model()
    x = np.random.default_rng(0).uniform(0, 1, (3, *toy_models.SHAPE)).astype("float32")
    return model, x


def test_mufidelity_is_one_for_integrated_gradients_of_a_linear_model(linear):
    model, x = linear
    # For a linear model IG with a zero baseline is x * w: removing any subset changes the
    # logit by exactly the subset's attribution sum.
    exact = tfattr.IntegratedGradients(model, steps=4).explain(x, target=2)
    scores = metrics.mufidelity(model, x, exact, target=2, grid_size=4, samples=16, seed=0)
    np.testing.assert_allclose(scores, 1.0, atol=1e-5)
    random = np.random.default_rng(1).normal(size=x.shape)
    assert np.all(
        metrics.mufidelity(model, x, random, target=2, grid_size=4, samples=16, seed=0) < 0.8
    )


def test_mufidelity_reproducible_and_batch_independent(linear):
    model, x = linear
    attr = tfattr.Saliency(model).explain(x, target=1)
    first = metrics.mufidelity(model, x, attr, target=1, samples=8, seed=3, batch_size=5)
    again = metrics.mufidelity(model, x, attr, target=1, samples=8, seed=3, batch_size=64)
    np.testing.assert_allclose(first, again, atol=1e-6)


def test_mufidelity_warns_for_constant_attributions(linear):
    model, x = linear
    with pytest.warns(RuntimeWarning, match="mufidelity: undefined"):
        scores = metrics.mufidelity(model, x, np.zeros_like(x), target=1, samples=4, seed=0)
    assert np.all(np.isnan(scores))


def test_infidelity_of_the_gradient_of_a_linear_model_is_zero(linear):
    model, x = linear
    gradient = tfattr.Saliency(model, abs=False).explain(x, target=0)
    np.testing.assert_allclose(
        metrics.infidelity(model, x, gradient, target=0, seed=0), 0, atol=1e-6
    )
    # normalize=True judges only the direction: a scaled gradient is just as faithful.
    scaled = metrics.infidelity(model, x, 3 * gradient, target=0, seed=0, normalize=True)
    np.testing.assert_allclose(scaled, 0, atol=1e-6)
    assert np.all(metrics.infidelity(model, x, 3 * gradient, target=0, seed=0) > 1e-3)


def test_infidelity_of_an_image_does_not_depend_on_its_batch(linear):
    model, x = linear
    attr = np.random.default_rng(3).normal(size=x.shape).astype("float32")
    batched = metrics.infidelity(model, x, attr, target=1, samples=6, seed=2, batch_size=4)
    alone = metrics.infidelity(model, x[2:], attr[2:], target=1, samples=6, seed=2)
    np.testing.assert_allclose(alone, batched[2:], rtol=1e-5)
    assert not np.allclose(metrics.infidelity(model, x, attr, target=1, samples=6, seed=3), batched)


def test_infidelity_with_a_user_perturbation_matches_the_formula(linear):
    model, x = linear
    attr = np.random.default_rng(2).normal(size=x.shape).astype("float32")

    def square(images, rng):
        # Yeh et al.'s square removal: I = x - 0 on a random 4x4 square, 0 elsewhere.
        out = np.zeros_like(images)
        for i in range(len(images)):
            r, c = rng.integers(0, 5, 2)
            out[i, r : r + 4, c : c + 4] = images[i, r : r + 4, c : c + 4]
        return out

    value = metrics.infidelity(
        model, x[:1], attr[:1], target=1, perturbation=square, samples=5, seed=4
    )
    rng = np.random.default_rng(4)
    kernel, _ = toy_models.linear_weights()
    errors = []
    for _ in range(5):
        perturbation = square(x[:1], rng)
        change = perturbation.reshape(-1) @ kernel[:, 1]  # F(x) - F(x - I) for a linear model
        errors.append((np.sum(perturbation * attr[:1]) - change) ** 2)
    np.testing.assert_allclose(value, [np.mean(errors)], rtol=1e-4)


def test_sensitivity_max(linear):
    model, x = linear
    # A linear model's gradient does not move at all.
    np.testing.assert_allclose(
        metrics.sensitivity_max(tfattr.Saliency(model), x, seed=0), 0, atol=1e-6
    )
    cnn = toy_models.cnn("functional", seed=3)
    explainer = tfattr.Saliency(cnn)
    small = metrics.sensitivity_max(explainer, x, radius=0.01, samples=4, seed=0)
    large = metrics.sensitivity_max(explainer, x, radius=0.3, samples=4, seed=0)
    assert np.all(large > 0) and np.all(large >= small)
    np.testing.assert_array_equal(
        metrics.sensitivity_max(explainer, x, radius=0.3, samples=4, seed=0), large
    )
    function = metrics.sensitivity_max(
        lambda images, target: explainer.explain(images, target=target),
        x,
        target=[0, 1, 2],
        radius=0.3,
        samples=2,
        seed=0,
        norm="inf",
    )
    assert function.shape == (3,) and np.all(function >= 0)


def test_bad_arguments(linear):
    model, x = linear
    with pytest.raises(ValueError, match="subset_percent: expected a fraction"):
        metrics.mufidelity(model, x, x, subset_percent=1.5)
    with pytest.raises(ValueError, match="perturbation: expected 'gaussian'"):
        metrics.infidelity(model, x, x, perturbation="salt")
    with pytest.raises(ValueError, match="infidelity needs pixel attributions"):
        metrics.infidelity(model, x, x[..., 0])
    with pytest.raises(ValueError, match="target: required when explainer is a plain function"):
        metrics.sensitivity_max(lambda images, target: images, x)
    with pytest.raises(ValueError, match="radius: expected a number > 0"):
        metrics.sensitivity_max(tfattr.Saliency(model), x, radius=0)
