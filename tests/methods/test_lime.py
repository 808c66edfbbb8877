"""LIME and Kernel SHAP recover a linear model's weight per segment; Kernel SHAP's efficiency."""

import keras
import numpy as np
import pytest
import toy_models

from tfattr.core.adapter import ModelAdapter
from tfattr.core.segments import segment
from tfattr.methods.perturbation.lime import KernelShap, Lime

ROWS = np.repeat(np.arange(8)[:, None], 8, axis=1)  # segment j = image row j


@pytest.fixture(scope="module")
def linear():
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(0).normal(size=(2, *toy_models.SHAPE)).astype("f4")
    return toy_models.linear_model(softmax=True), kernel, x


def per_segment_truth(x, kernel, target, baseline=0.0):
    w = kernel[:, target].reshape(toy_models.SHAPE)
    return ((x - baseline) * w).sum(axis=(2, 3))  # (N, rows): one value per row-segment


@pytest.mark.parametrize("cls", [Lime, KernelShap])
def test_linear_model_weights_are_recovered_per_segment(linear, cls):
    model, kernel, x = linear
    options = {"alpha": 0.0} if cls is Lime else {}
    explainer = cls(model, segments=ROWS, samples=64, seed=0, baseline=0.5, batch_size=16)
    got = explainer.explain(x, [1, 3], **options).numpy()
    for i, t in enumerate([1, 3]):
        np.testing.assert_allclose(
            got[i, :, 0, 0], per_segment_truth(x, kernel, t, 0.5)[i], atol=1e-3
        )
        assert np.all(got[i] == got[i, :, :1, :1])  # constant over each segment's pixels


def relu_net_16(seed=7):
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(3),
        ]
    )
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype("f4") for w in model.get_weights()])
    return model


def test_kernel_shap_is_efficient_on_a_relu_net_with_superpixels():
    model = relu_net_16()
    rows, cols = np.mgrid[:16, :16] / 15  # smooth colour ramps: SLIC finds ~9 superpixels
    ramps = np.stack([rows, cols, (rows + cols) / 2], axis=-1)
    noise = np.random.default_rng(1).uniform(0, 0.05, size=(2, 16, 16, 3))
    x = (ramps + noise).astype("f4")
    labels, counts = segment(x, "slic", 12)
    attr = KernelShap(model, samples=40, n_segments=12, seed=3).explain(x, [0, 1]).numpy()
    adapter = ModelAdapter(model)
    at_input = adapter(x).numpy()[[0, 1], [0, 1]]
    at_baseline = adapter(np.zeros((1, 16, 16, 3), "f4")).numpy()[0, [0, 1]]
    for i in range(2):
        assert counts[i] > 2
        total = sum(attr[i][labels[i] == j][0, 0] for j in range(counts[i]))
        np.testing.assert_allclose(total, at_input[i] - at_baseline[i], rtol=1e-4, atol=1e-4)


def test_lime_weights_follow_captum_kernel(linear):
    model, _, x = linear
    explainer = Lime(model, kernel_width=0.5)
    flat = x[:1].reshape(1, -1)
    perturbed = (flat * (np.arange(flat.shape[1]) % 2)).astype("f4")
    cosine = (flat * perturbed).sum() / np.linalg.norm(flat) / np.linalg.norm(perturbed)
    tensors = explainer.weight_tensors(explainer.options)
    got = explainer.weight(x[:1], perturbed.reshape(x[:1].shape), None, tensors).numpy()
    np.testing.assert_allclose(got, np.exp(-((1 - cosine) ** 2) / (2 * 0.25)), rtol=1e-5)


def test_segments_are_checked(linear):
    model, _, x = linear
    with pytest.raises(ValueError, match="segments"):
        Lime(model, segments="watershed")
    with pytest.raises(ValueError, match="segments"):
        KernelShap(model, segments=np.zeros((5, 5), int), samples=4).explain(x, 0)
    per_image = np.stack([ROWS, ROWS.T])  # (N, H, W) is accepted
    assert KernelShap(model, segments=per_image, samples=8, seed=0).explain(x, 0).shape == x.shape


def test_too_many_segments_are_refused(linear, monkeypatch):
    from tfattr.methods.perturbation import lime

    model, _, x = linear
    monkeypatch.setattr(lime, "MAX_FEATURES", 16)  # instead of a huge image
    with pytest.raises(ValueError, match="at most 16"):
        Lime(model, segments=np.arange(64).reshape(8, 8), samples=4).explain(x, 0)
