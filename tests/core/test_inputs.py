"""Bad inputs get a clear error that names the argument, the value and the fix."""

import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr


@pytest.fixture(scope="module")
def saliency():
    return tfattr.Saliency(toy_models.cnn("functional"))


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).uniform(size=(2, *toy_models.SHAPE)).astype("f4")


def test_any_real_dtype_is_accepted_and_computed_in_float32(saliency, x):
    as_float = saliency.explain(x * 255, target=1).numpy()
    for images in (
        (x * 255).astype("uint8"),
        (x * 255).astype("int64"),
        tf.constant(x * 255, tf.float64),
    ):
        got = saliency.explain(images, target=1).numpy()
        assert got.dtype == np.float32
        np.testing.assert_allclose(
            got, saliency.explain(np.asarray(images, "f4"), target=1), atol=1e-6
        )
    assert as_float.shape == x.shape


@pytest.mark.parametrize(
    ("images", "error", "message"),
    [
        (
            np.zeros((8, 8)),
            ValueError,
            r"inputs: expected one image \(H, W, C\).*got shape \(8, 8\).*x\[\.\.\., None\]",
        ),
        (np.zeros((1, 1, 8, 8, 3)), ValueError, "expected one image"),
        (np.zeros((0, 8, 8, 3)), ValueError, "the batch is empty"),
        (np.full((1, 8, 8, 3), np.inf), ValueError, "NaN or infinite"),
        # tensors are checked on the host's view (CPU) or on the device: same answer
        (tf.fill((2, 8, 8, 3), np.nan), ValueError, "inputs: 384 values are NaN or infinite"),
        (
            tf.tensor_scatter_nd_update(
                tf.zeros((1, 8, 8, 3), tf.float16), [[0, 1, 2, 0]], [np.inf]
            ),
            ValueError,
            "inputs: 1 values are NaN or infinite",
        ),
        (tf.Variable(tf.fill((1, 8, 8, 3), -np.inf)), ValueError, "NaN or infinite"),
        (
            np.zeros((1, 8, 8, 1)),
            ValueError,
            r"\(8, 8, 1\) but the model expects \(8, 8, 3\).*Resize",
        ),
        (np.array([["a"]]), TypeError, "inputs: expected an array of real numbers"),
        (np.zeros((1, 8, 8, 3), complex), TypeError, "real numbers"),
        (tf.zeros((1, 8, 8, 3), tf.complex64), TypeError, "complex64"),
        ([[1, "x"]], TypeError, "real numbers"),
    ],
)
def test_bad_images(saliency, images, error, message):
    with pytest.raises(error, match=message):
        saliency.explain(images, target=0)


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        (
            4,
            ValueError,
            r"target: class index 4 is out of range; the model has 4 classes, so targets must be in \[0, 3\]",
        ),
        (-1, ValueError, "class index -1 is out of range"),
        (tf.constant([0, 7]), ValueError, "class index 7 is out of range; the model has 4"),
        (tf.constant([-2, 0]), ValueError, "class index -2 is out of range"),
        (tf.constant([0, 1, 2]), ValueError, r"one class index per image \(2\)"),
        ([0, 1, 2], ValueError, r"one class index per image \(2\), got shape \(3,\)"),
        ([[0], [1]], ValueError, r"weight vectors must have shape \(images, classes\) = \(2, 4\)"),
        ([[[0]], [[1]]], ValueError, "one class index per image"),
        (1.0, TypeError, "expected None, an int or a sequence of ints"),
        ([0.5, 1.0], TypeError, "dtype float64"),
        (True, TypeError, "bool"),
        ("tabby", TypeError, r"class name 'tabby'.*class_id"),
    ],
)
def test_bad_targets(saliency, x, target, error, message):
    with pytest.raises(error, match=message):
        saliency.explain(x, target=target)


def test_target_forms_agree(saliency, x):
    reference = saliency.explain(x, target=[2, 2]).numpy()
    forms = (2, np.int64(2), np.array([2, 2]), tf.constant([2, 2]), tf.constant([2, 2], tf.int64))
    for target in (*forms, (2, 2), np.array(2), tf.Variable([2, 2])):
        np.testing.assert_array_equal(saliency.explain(x, target=target), reference)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (
            lambda m: tfattr.IntegratedGradients(m, steps=1),
            r"steps: riemann_trapezoid needs an int >= 2, got 1",
        ),
        (lambda m: tfattr.IntegratedGradients(m, steps=2.5), "steps"),
        (lambda m: tfattr.IntegratedGradients(m, method="simpson"), "method: expected one of"),
        (
            lambda m: tfattr.IntegratedGradients(m, seed=-3),
            "seed: expected None or a non-negative int",
        ),
        (lambda m: tfattr.GradientShap(m, samples=0), "samples: expected an int >= 1"),
        (lambda m: tfattr.GradientShap(m, stddev=-1), "stddev: expected a number >= 0"),
        (lambda m: tfattr.SmoothGrad(m, kind="mean"), "kind: expected one of"),
        (lambda m: tfattr.SmoothGrad(m, spread=None), "stddev and spread are both None"),
        (lambda m: tfattr.Saliency(m, batch_size=0), "batch_size: expected an int >= 1"),
        (lambda m: tfattr.GradCAM(m, upsample="yes"), "upsample: expected True or False"),
    ],
)
def test_bad_options(factory, message):
    with pytest.raises((ValueError, TypeError), match=message):
        factory(toy_models.cnn("functional"))


def test_unknown_options_list_the_valid_ones(x):
    with pytest.raises(
        TypeError, match=r"unknown option\(s\) \['step'\]; its options are .*'steps'"
    ):
        tfattr.IntegratedGradients(toy_models.cnn("functional"), step=10)
    with pytest.raises(TypeError, match=r"Saliency: unknown option"):
        tfattr.Saliency(toy_models.cnn("functional")).explain(x, steps=3)
    with pytest.raises(TypeError, match="NoiseTunnel wraps a gradient explainer"):
        tfattr.NoiseTunnel(toy_models.cnn("functional"))
    with pytest.raises(ValueError, match="not available through NoiseTunnel"):
        tfattr.NoiseTunnel(tfattr.IntegratedGradients(toy_models.cnn("functional"))).explain(
            x, return_convergence_delta=True
        )
    model = toy_models.cnn("functional")
    for inner in (
        tfattr.Occlusion(model),
        tfattr.GuidedIntegratedGradients(model),
        tfattr.GuidedGradCAM(model),
    ):
        with pytest.raises(TypeError, match=f"cannot wrap {type(inner).__name__}"):
            tfattr.NoiseTunnel(inner)


def test_failed_call_keeps_the_explainer_usable(saliency, x):
    with pytest.raises(ValueError):
        saliency.explain(x, target=9)
    assert saliency.explain(x, target=1).shape == x.shape


def test_a_checked_tensor_is_not_read_again_but_variables_are(saliency, x, monkeypatch):
    """Eager tensors are immutable: one that passed the finiteness check is not re-read on the
    next call. Variables can change between calls, new tensors are new: both are checked."""
    from tfattr.core import inputs

    reads = []
    check = inputs._all_finite
    monkeypatch.setattr(inputs, "_all_finite", lambda t: reads.append(1) or check(t))
    images = tf.constant(x)
    for _ in range(3):
        saliency.explain(images, 1)
    assert len(reads) == 1
    with pytest.raises(ValueError, match="NaN or infinite"):
        saliency.explain(tf.constant(np.where(x > 0.5, np.nan, x)), 1)
    variable = tf.Variable(x)
    saliency.explain(variable, 1)
    variable.assign(np.full_like(x, np.inf))
    with pytest.raises(ValueError, match="NaN or infinite"):
        saliency.explain(variable, 1)


def test_options_are_checked_once_and_read_only_overrides_per_call(x):
    ig = tfattr.IntegratedGradients(toy_models.cnn("functional"), steps=4)
    with pytest.raises(TypeError):
        ig.options["steps"] = 1  # a bad value cannot slip past the check made when built
    assert ig.options["steps"] == 4
    with pytest.raises(ValueError, match="steps: riemann_trapezoid needs an int >= 2, got 1"):
        ig.explain(x, target=0, steps=1)  # a per-call override is checked on every call
    np.testing.assert_array_equal(
        ig.explain(x, target=0, steps=4).numpy(), ig.explain(x, target=0).numpy()
    )
