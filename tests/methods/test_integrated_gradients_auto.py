"""Integrated Gradients to a requested accuracy (steps="auto") and the completeness warning."""

import warnings

import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr.core import convergence


@pytest.fixture(scope="module")
def relu_cnn():
    return toy_models.cnn("functional", seed=5)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(6).uniform(0, 1, size=(5, *toy_models.SHAPE)).astype("float32")


def score_terms(model, x, baselines, targets):
    """F(x) - F(b) and (|F(x)| + |F(b)|) / 2 per image, by plain forward passes."""
    adapter = tfattr.ModelAdapter(model)
    rows = np.arange(len(x))
    at_x = adapter(x).numpy()[rows, targets]
    at_b = adapter(baselines).numpy()[rows, targets]
    return at_x - at_b, (np.abs(at_x) + np.abs(at_b)) / 2


def assert_met(delta, difference, magnitude, tolerance):
    limit = tolerance * convergence.reference(difference, magnitude)
    assert np.all(np.abs(delta) <= limit * (1 + 1e-4) + 1e-6), np.abs(delta) / limit


def test_trained_model_meets_the_tolerance_on_every_image():
    """The shipped demo CNN (trained, batch norm, ReLU) on 8 test images of its own data."""
    from tfattr.apps.demo import model as demo
    from tfattr.apps.demo import shapes

    spec = demo.load_spec()
    images, labels, _ = shapes.make_dataset(8, seed=shapes.TEST_SEED)
    x = images.astype("float32") / 255.0
    ig = tfattr.IntegratedGradients(spec.model, steps="auto", tolerance=0.01, batch_size=64)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        attr, delta, steps = ig.explain(
            x, target=labels, return_convergence_delta=True, return_steps=True
        )
    difference, magnitude = score_terms(spec.model, x, np.zeros_like(x), labels)
    # delta is what it claims to be: sum(attr) - (F(x) - F(b)), with F from forward passes.
    np.testing.assert_allclose(
        delta, attr.numpy().sum(axis=(1, 2, 3)) - difference, atol=1e-4 * np.abs(difference).max()
    )
    capped = [w for w in caught if issubclass(w.category, convergence.ConvergenceWarning)]
    steps = steps.numpy()
    met = np.abs(delta.numpy()) <= 0.01 * np.abs(difference) * (1 + 1e-4) + 1e-6
    # Every image meets the tolerance, or stopped at the cap and is named in the warning.
    for i in np.flatnonzero(~met):
        assert steps[i] > 1025 - 512 and capped and f"image {i} " in str(capped[0].message)
    assert met.mean() >= 0.75, (np.abs(delta.numpy()) / np.abs(difference), steps)
    assert np.all((steps >= 9) & (steps <= 1025))


@pytest.mark.parametrize(
    "baseline", ["black", "white", "uniform", "blur", 0.3, "channels", "per_image"], ids=str
)
def test_every_baseline_kind_meets_the_tolerance(relu_cnn, x, baseline):
    if baseline == "channels":
        baseline = np.linspace(0, 1, 3).astype("float32")
    elif baseline == "per_image":
        baseline = tfattr.core.baselines.per_image(np.flip(x, axis=0).copy())
    targets = np.array([0, 1, 2, 3, 0])
    ig = tfattr.IntegratedGradients(relu_cnn, steps="auto", tolerance=0.02, seed=3)
    attr, delta, steps = ig.explain(
        x, target=targets, baseline=baseline, return_convergence_delta=True, return_steps=True
    )
    values = ig.baselines(tf.constant(x), {**ig.options, "baseline": baseline}).values.numpy()
    values = np.broadcast_to(values, x.shape)
    difference, magnitude = score_terms(relu_cnn, x, values, targets)
    np.testing.assert_allclose(delta, attr.numpy().sum(axis=(1, 2, 3)) - difference, atol=1e-4)
    assert_met(delta.numpy(), difference, magnitude, 0.02)
    assert steps.shape == (5,) and steps.dtype == tf.int32


def test_maps_approach_a_high_step_reference_as_the_tolerance_tightens(relu_cnn, x):
    """The pieces refined where their error is large give maps converging to the integral."""
    reference = tfattr.IntegratedGradients(relu_cnn, steps=4097).explain(x, target=2).numpy()
    ig = tfattr.IntegratedGradients(relu_cnn, steps="auto", max_steps=4097)
    distances = []
    for tolerance in (0.1, 0.01, 0.001):
        attr = ig.explain(x, target=2, tolerance=tolerance).numpy()
        distances.append(np.abs(attr - reference).sum() / np.abs(reference).sum())
    assert distances[2] < distances[0] and distances[2] < 0.01, distances


def test_tight_tolerance_equals_a_fixed_high_step_run_and_reports_the_cap(relu_cnn, x):
    """With every piece refined at every round, the grid stays uniform: the result is the
    trapezoid rule at max_steps = 8 * 2^r + 1 points."""
    ig = tfattr.IntegratedGradients(relu_cnn, steps="auto", tolerance=1e-9, max_steps=257)
    with pytest.warns(convergence.ConvergenceWarning, match=r"image 0 .*max_steps=257"):
        attr, steps = ig.explain(x, target=1, return_steps=True)
    assert steps.numpy().tolist() == [257] * len(x)
    fixed = tfattr.IntegratedGradients(relu_cnn, steps=257).explain(x, target=1)
    np.testing.assert_allclose(attr, fixed, rtol=0, atol=2e-6 * np.abs(fixed.numpy()).max())


def counting_cubic_model():
    """scores = x^3 @ W, as a callable that counts the rows it is called on. Along a straight
    path from 0 its integrand is 3 a^2 sum(W x^3): every piece of the path has the same
    curvature, so every piece is refined at every round (a uniform grid)."""
    kernel, _ = toy_models.linear_weights()
    rows = tf.Variable(0, dtype=tf.int64, trainable=False)

    def model(images):
        rows.assign_add(tf.cast(tf.shape(images)[0], tf.int64))
        return tf.reshape(images**3, (tf.shape(images)[0], -1)) @ kernel

    return model, rows


def test_refining_reuses_every_earlier_gradient(x):
    """n points -> 2n - 1 costs n - 1 model rows; F(x), F(b) cost none (batch_size=1: no
    padding rows)."""
    model, rows = counting_cubic_model()
    ig = tfattr.IntegratedGradients(model, steps="auto", tolerance=1e-9, batch_size=1)
    ig.explain(x[:1], target=0, steps=2)  # the adapter's first call probes the output once
    spent = []
    for most in (9, 17, 33, 65):
        before = int(rows.numpy())
        with pytest.warns(convergence.ConvergenceWarning):
            _, steps = ig.explain(x[:1], target=0, max_steps=most, return_steps=True)
        spent.append(int(rows.numpy()) - before)
        assert int(steps[0]) == most
    assert spent == [9, 17, 33, 65]  # not 9, 9 + 17, 9 + 17 + 33, ...
    assert np.diff(spent).tolist() == [8, 16, 32]  # each refinement: n - 1 new points
    # Several images on a ReLU network (pieces refined unevenly): the rows spent are exactly
    # the points the images used.
    model, rows = counting_model()
    ig = tfattr.IntegratedGradients(model, steps="auto", tolerance=0.02, batch_size=1)
    ig.explain(x[:1], target=0, steps=2)
    before = int(rows.numpy())
    _, steps = ig.explain(x, target=[0, 1, 2, 3, 0], return_steps=True)
    assert int(rows.numpy()) - before == int(steps.numpy().sum())
    assert len(set(steps.numpy().tolist())) > 1


def test_cubic_model_has_the_analytic_trapezoid_error():
    """F = sum(W x^3) from a black baseline: the trapezoid rule on n uniform points overshoots
    by exactly 1 / (2 (n - 1)^2) of F(x) - F(0); its attribution is W x^3 times that."""
    model, _ = counting_cubic_model()
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(2).uniform(0.5, 1, size=(2, *toy_models.SHAPE)).astype("float32")
    ig = tfattr.IntegratedGradients(model, steps="auto", tolerance=0.001)
    attr, delta, steps = ig.explain(x, target=1, return_convergence_delta=True, return_steps=True)
    n = int(steps[0])
    assert steps.numpy().tolist() == [n, n] and n == 33  # 1 / (2 * 16^2) > 0.1 % > 1 / 2048
    exact = x.reshape(2, -1) ** 3 * kernel[:, 1]
    np.testing.assert_allclose(
        attr.numpy().reshape(2, -1), exact * (1 + 1 / (2 * (n - 1) ** 2)), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(delta, exact.sum(1) / (2 * (n - 1) ** 2), rtol=1e-3)


def counting_model():
    """The toy CNN as a callable that counts the rows it is called on (gradient rows here)."""
    logits = toy_models.cnn("callable", seed=5)
    rows = tf.Variable(0, dtype=tf.int64, trainable=False)

    def model(images):
        rows.assign_add(tf.cast(tf.shape(images)[0], tf.int64))
        return logits(images)

    return model, rows


def test_stack_of_baselines_converges_per_pair(relu_cnn, x):
    """Each (image, baseline) pair is refined on its own: the stack's result is the mean of
    the single-baseline results, each of which meets the tolerance."""
    stack = np.random.default_rng(0).uniform(size=(3, *toy_models.SHAPE)).astype("float32")
    ig = tfattr.IntegratedGradients(relu_cnn, steps="auto", tolerance=0.05)
    attr, delta, steps = ig.explain(
        x, target=1, baseline=stack, return_convergence_delta=True, return_steps=True
    )
    assert steps.shape == (5, 3)
    parts, deltas = [], []
    for k in range(3):
        part, part_delta, part_steps = ig.explain(
            x, target=1, baseline=stack[k], return_convergence_delta=True, return_steps=True
        )
        np.testing.assert_array_equal(part_steps, steps[:, k])
        difference, magnitude = score_terms(
            relu_cnn, x, np.broadcast_to(stack[k], x.shape), [1] * 5
        )
        assert_met(part_delta.numpy(), difference, magnitude, 0.05)
        parts.append(part.numpy())
        deltas.append(part_delta.numpy())
    np.testing.assert_allclose(attr, np.mean(parts, axis=0), atol=1e-6 * np.abs(parts).max())
    np.testing.assert_allclose(delta, np.mean(deltas, axis=0), atol=1e-5)


def test_linear_model_is_exact_in_the_first_round():
    model = toy_models.linear_model()
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(1).normal(size=(3, *toy_models.SHAPE)).astype("float32")
    attr, steps = tfattr.IntegratedGradients(model, steps="auto").explain(
        x, target=[0, 1, 2], return_steps=True
    )
    assert steps.numpy().tolist() == [9, 9, 9]
    expected = x.reshape(3, -1) * kernel[:, [0, 1, 2]].T
    np.testing.assert_allclose(attr.numpy().reshape(3, -1), expected, atol=1e-5)


def test_fixed_steps_warn_above_five_percent_naming_the_images(relu_cnn, x):
    ig = tfattr.IntegratedGradients(relu_cnn)
    difference, magnitude = score_terms(relu_cnn, x, np.zeros_like(x), np.full(5, 3))
    for n in range(3, 40):  # the fewest steps with some images above 5 % and some below
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", convergence.ConvergenceWarning)
            _, delta = ig.explain(x, target=3, steps=n, return_convergence_delta=True)
        errors = np.abs(delta.numpy()) / convergence.reference(difference, magnitude)
        if (errors > 0.05).any() and (errors <= 0.05).any():
            break
    assert (errors > 0.05).any() and (errors <= 0.05).any(), errors
    with pytest.warns(convergence.ConvergenceWarning, match="steps='auto'") as record:
        _, delta, steps = ig.explain(
            x, target=3, steps=n, return_convergence_delta=True, return_steps=True
        )
    message = str(record[0].message)
    for i in range(len(x)):
        assert (f"image {i} (" in message) == (errors[i] > 0.05)
    assert steps.numpy().tolist() == [n] * 5
    # Other rules get F(x) and F(b) from forward passes: the same check.
    with pytest.warns(convergence.ConvergenceWarning, match="gausslegendre"):
        ig.explain(x, target=3, steps=1, method="gausslegendre")
    with warnings.catch_warnings():
        warnings.simplefilter("error", convergence.ConvergenceWarning)
        ig.explain(x, target=3, steps=2000)


def test_warning_helpers():
    delta = np.array([0.01, -0.2, 0.0, 1e-4])
    difference = np.array([1.0, 1.0, 0.0, 1e-3])
    magnitude = np.array([5.0, 5.0, 0.0, 2.0])
    np.testing.assert_allclose(convergence.reference(difference, magnitude), [1.0, 1.0, 0.0, 0.02])
    np.testing.assert_allclose(
        convergence.relative_error(delta, difference, magnitude), [0.01, 0.2, 0.0, 0.005]
    )
    with pytest.warns(convergence.ConvergenceWarning, match=r"^M: .* b \(20.0%\) of 4 .*: do this"):
        flagged = convergence.warn_inaccurate(
            delta, difference, magnitude, method="M", fix="do this", labels="abcd"
        )
    assert flagged.tolist() == [1]
    attr = np.ones((2, 2, 2, 1))
    np.testing.assert_allclose(convergence.score_difference(attr, [1.0, -1.0]), [3.0, 5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert convergence.warn_inaccurate([0.0], [1.0], method="M", fix="-").size == 0


def test_option_errors_name_the_fix(relu_cnn, x):
    ig = tfattr.IntegratedGradients(relu_cnn)
    with pytest.raises(ValueError, match="method='gausslegendre' has no nested points"):
        ig.explain(x, steps="auto", method="gausslegendre")
    with pytest.raises(ValueError, match="steps: expected 'auto' or an int"):
        ig.explain(x, steps="fast")
    for bad in (0, -0.1, True, "1%", float("inf")):
        with pytest.raises(ValueError, match="tolerance: expected a number > 0"):
            ig.explain(x, steps="auto", tolerance=bad)
    with pytest.raises(ValueError, match="max_steps: expected an int >= 9"):
        ig.explain(x, steps="auto", max_steps=8)
    nt = tfattr.NoiseTunnel(tfattr.IntegratedGradients(relu_cnn, steps="auto"), samples=2)
    with pytest.raises(ValueError, match="needs an int steps"):
        nt.explain(x, target=0)


def test_single_image_and_defaults_from_the_constructor(relu_cnn, x):
    ig = tfattr.IntegratedGradients(relu_cnn, steps="auto", tolerance=0.05, return_steps=True)
    attr, steps = ig.explain(x[0], target=0)
    assert attr.shape == toy_models.SHAPE and steps.shape == ()
    batch, batch_steps = ig.explain(x, target=0)
    assert int(steps) == int(batch_steps[0])
    np.testing.assert_allclose(attr, batch[0], atol=1e-6)


@pytest.mark.slow
def test_real_mobilenet_photos_meet_the_tolerance(imagenet_assets):
    """End to end on the real ImageNet MobileNet and photos (zebra among them): every photo
    meets 1 % with steps='auto', where the CLI's former fixed 32 steps did not."""
    import keras

    model = keras.applications.MobileNet(
        alpha=0.25,
        weights=str(imagenet_assets / "mobilenet_2_5_128_tf.h5"),
        input_shape=(128, 128, 3),
        classifier_activation=None,
    )
    names = ("n02391049_zebra", "n01440764_tench", "n04509417_unicycle", "n09472597_volcano")
    x = np.stack(
        [
            tfattr.data.load_image(imagenet_assets / "sample_images" / f"{name}.JPEG", 128)
            for name in names
        ]
    ).astype("float32")
    x = x / 127.5 - 1.0  # MobileNet's input scale
    targets = np.argmax(model(x).numpy(), axis=-1)
    ig = tfattr.IntegratedGradients(model, steps="auto", tolerance=0.01, batch_size=32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", convergence.ConvergenceWarning)  # no image hits the cap
        _, delta, steps = ig.explain(
            x, target=targets, return_convergence_delta=True, return_steps=True
        )
    difference, magnitude = score_terms(model, x, np.zeros_like(x), targets)
    assert_met(delta.numpy(), difference, magnitude, 0.01)
    with pytest.warns(convergence.ConvergenceWarning, match="image 0"):  # the zebra
        ig.explain(x, target=targets, steps=32)
    assert int(steps[0]) > 33


def test_stacks_of_other_sizes_reuse_no_stale_weights(relu_cnn, x):
    """Compiled steps are shared between calls (and explainers): a stack of 4 after a stack of
    2 is averaged over 4, in fixed and adaptive runs."""
    stack = np.random.default_rng(3).uniform(size=(4, *toy_models.SHAPE)).astype("float32")
    ig = tfattr.IntegratedGradients(relu_cnn, steps=9, batch_size=8)
    for steps in (9, "auto"):
        ig.explain(x, target=0, steps=steps, baseline=stack[:2])
        together = ig.explain(x, target=0, steps=steps, baseline=stack).numpy()
        alone = [ig.explain(x, target=0, steps=steps, baseline=b).numpy() for b in stack]
        np.testing.assert_allclose(together, np.mean(alone, axis=0), atol=1e-5)
