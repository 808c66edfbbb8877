"""Integrated Gradients on a nonlinear (ReLU) network: completeness and baselines."""

import numpy as np
import pytest
import toy_models

import tfattr


@pytest.fixture(scope="module")
def relu_cnn():
    return toy_models.cnn("functional", seed=5)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(6).uniform(0, 1, size=(4, *toy_models.SHAPE)).astype("float32")


def test_completeness_improves_with_steps(relu_cnn, x):
    ig = tfattr.IntegratedGradients(relu_cnn, batch_size=64)
    errors = []
    for steps in (5, 20, 300):
        _, delta = ig.explain(x, steps=steps, return_convergence_delta=True)
        errors.append(np.abs(delta.numpy()))
    assert np.all(errors[2] <= errors[0])
    assert errors[2].mean() < errors[1].mean() < errors[0].mean()
    adapter = tfattr.ModelAdapter(relu_cnn)
    top = np.argmax(adapter(x).numpy(), axis=-1)
    rows = np.arange(len(x))
    gap = np.abs(adapter(x).numpy()[rows, top] - adapter(np.zeros_like(x)).numpy()[rows, top])
    # At 300 steps the kinks of the 216 ReLUs leave under 1 % of F(x) - F(0) unexplained.
    assert np.all(errors[2] < 0.01 * gap), errors[2] / gap


def test_delta_is_exactly_sum_minus_score_difference(relu_cnn, x):
    ig = tfattr.IntegratedGradients(relu_cnn, steps=10, baseline="uniform", seed=3)
    attr, delta = ig.explain(x, target=[0, 1, 2, 3], return_convergence_delta=True)
    adapter = tfattr.ModelAdapter(relu_cnn)
    baseline = ig.baselines(tfattr_x(x), ig.options).values.numpy()
    f_x = adapter(x).numpy()[np.arange(4), [0, 1, 2, 3]]
    f_b = adapter(baseline).numpy()[np.arange(4), [0, 1, 2, 3]]
    expected = attr.numpy().sum(axis=(1, 2, 3)) - (f_x - f_b)
    np.testing.assert_allclose(delta, expected, atol=1e-4)


def tfattr_x(x):
    import tensorflow as tf

    return tf.constant(x)


def test_uniform_baseline_lies_in_each_images_range(relu_cnn, x):
    ig = tfattr.IntegratedGradients(relu_cnn, baseline="uniform", seed=0)
    scaled = (x * np.arange(1, 5).reshape(4, 1, 1, 1)).astype("float32")
    values = ig.baselines(tfattr_x(scaled), ig.options).values
    values = values.numpy()
    for i, scale in enumerate([1, 2, 3, 4]):
        assert values[i].min() >= (x[i] * scale).min() - 1e-6
        assert values[i].max() <= (x[i] * scale).max() + 1e-6
    fixed = ig.baselines(tfattr_x(x), {**ig.options, "value_range": (0, 255)}).values.numpy()
    assert fixed.max() > 100


def test_random_baselines_average_matches_separate_runs(relu_cnn, x):
    stack = np.random.default_rng(0).uniform(size=(3, *toy_models.SHAPE)).astype("float32")
    ig = tfattr.IntegratedGradients(relu_cnn, steps=12)
    averaged = ig.explain(x, target=2, baseline=stack).numpy()
    separate = np.mean([ig.explain(x, target=2, baseline=b).numpy() for b in stack], axis=0)
    np.testing.assert_allclose(averaged, separate, atol=1e-5)


def test_baseline_errors_name_the_fix(relu_cnn, x):
    ig = tfattr.IntegratedGradients(relu_cnn)
    with pytest.raises(ValueError, match="baseline: expected one of"):
        ig.explain(x, baseline="gray")
    with pytest.raises(ValueError, match="does not broadcast"):
        ig.explain(x, baseline=np.zeros((5, 5, 3)))
    with pytest.raises(ValueError, match="stack of baselines"):
        ig.explain(x, baseline=np.zeros((2, 5, 5, 3)))
    with pytest.raises(ValueError, match="baseline: .*NaN"):
        ig.explain(x, baseline=np.full(toy_models.SHAPE, np.nan))
    with pytest.raises(ValueError, match="value_range"):
        ig.explain(x, baseline="white", value_range=(1, 0))
    with pytest.raises(ValueError, match="blur_sigma"):
        ig.explain(x, baseline="blur", blur_sigma=-1)


@pytest.mark.parametrize("method", ["riemann_trapezoid", "riemann_left", "gausslegendre"])
@pytest.mark.parametrize("baselines", [1, 3])
def test_delta_from_the_paths_ends_equals_forward_passes(relu_cnn, x, method, baselines):
    """The trapezoid rule's paths start at b and end at x: F(b_k) and F(x) are read there (no
    model call of their own); other rules run forward passes. Both give the same delta."""
    import tensorflow as tf

    rng = np.random.default_rng(1)
    stack = rng.uniform(0, 1, size=(baselines, *toy_models.SHAPE)).astype("float32")
    baseline = stack[0] if baselines == 1 else stack
    ig = tfattr.IntegratedGradients(relu_cnn, steps=7, method=method, baseline=baseline)
    forwards = []
    scores = ig.engine.scores
    ig.engine.scores = lambda images: forwards.append(len(images)) or scores(images)
    attr, delta = ig.explain(x, target=[0, 1, 2, 3], return_convergence_delta=True)
    assert (forwards == []) == (method == "riemann_trapezoid")
    adapter = tfattr.ModelAdapter(relu_cnn)
    rows = np.arange(4), [0, 1, 2, 3]
    f_x = adapter(x).numpy()[rows]
    f_b = np.mean([adapter(np.repeat(b[None], 4, 0)).numpy()[rows] for b in stack], axis=0)
    expected = attr.numpy().sum(axis=(1, 2, 3)) - (f_x - f_b)
    np.testing.assert_allclose(delta, expected, atol=1e-4)
    assert isinstance(delta, tf.Tensor)
