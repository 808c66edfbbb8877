"""Occlusion on a linear model: every element gets the analytic mean of its windows' drops."""

import numpy as np
import pytest
import toy_models

import tfattr


def analytic(x, w, window, stride, baseline=0.0):
    """Reference by loops: Captum's placement (starts 0, s, 2s, ... with cut-off borders)."""
    n, height, width, channels = x.shape
    total = np.zeros_like(x)
    count = np.zeros((height, width, 1))
    for r in range(0, max(height - window[0], 0) + stride[0], stride[0]):
        for c in range(0, max(width - window[1], 0) + stride[1], stride[1]):
            if r > height - 1 or c > width - 1:
                continue
            rows, cols = slice(r, r + window[0]), slice(c, c + window[1])
            drop = ((x[:, rows, cols] - baseline) * w[:, rows, cols]).sum(axis=(1, 2, 3))
            total[:, rows, cols] += drop[:, None, None, None]
            count[rows, cols] += 1
    return total / count


@pytest.mark.parametrize(
    ("window", "stride"), [((3, 3), (2, 2)), ((2, 4), (1, 3)), ((8, 8), (1, 1)), ((1, 1), (1, 1))]
)
def test_linear_model_matches_the_analytic_average(window, stride):
    model = toy_models.linear_model(softmax=True)
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(0).normal(size=(2, *toy_models.SHAPE)).astype("f4")
    targets = np.array([1, 3])
    w = np.stack([kernel[:, t].reshape(toy_models.SHAPE) for t in targets])
    got = tfattr.Occlusion(model, window=window, stride=stride, batch_size=7).explain(x, targets)
    np.testing.assert_allclose(got, analytic(x, w, window, stride), atol=1e-4)


def test_baseline_value_and_one_by_one_windows_give_input_times_weight_sums():
    model = toy_models.linear_model()
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(1).normal(size=(1, *toy_models.SHAPE)).astype("f4")
    w = kernel[:, 2].reshape(toy_models.SHAPE)
    got = tfattr.Occlusion(model, window=(1, 1), stride=(1, 1), baseline=0.5).explain(x, 2)
    expected = ((x[0] - 0.5) * w).sum(-1, keepdims=True)  # all channels hidden together
    np.testing.assert_allclose(got[0], np.broadcast_to(expected, x.shape[1:]), atol=1e-4)


def test_three_d_windows_slide_over_channels():
    model = toy_models.linear_model()
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(2).normal(size=(1, *toy_models.SHAPE)).astype("f4")
    got = tfattr.Occlusion(model, window=(1, 1, 1), stride=(1, 1, 1)).explain(x, 0)
    np.testing.assert_allclose(got[0], x[0] * kernel[:, 0].reshape(toy_models.SHAPE), atol=1e-4)


def test_bad_windows_are_refused():
    model = toy_models.linear_model()
    with pytest.raises(ValueError, match="window"):
        tfattr.Occlusion(model, window=(0, 2))
    with pytest.raises(ValueError, match="stride"):
        tfattr.Occlusion(model, window=(2, 2), stride=(1, 1, 1))
    with pytest.raises(ValueError, match="larger than the image"):
        tfattr.Occlusion(model, window=(9, 9)).explain(np.zeros((1, *toy_models.SHAPE)), 0)


def test_the_clean_score_comes_from_the_same_run_as_the_windows(monkeypatch):
    """With targets given, the unoccluded forward is one more row per image of the compiled run
    (no pass of its own); with targets None, the top classes are looked up first and the maps
    equal those of the explicit targets."""
    model = toy_models.linear_model()
    x = np.random.default_rng(3).normal(size=(3, *toy_models.SHAPE)).astype("f4")
    occlusion = tfattr.Occlusion(model, window=(3, 3), stride=(2, 2), batch_size=5)
    top = np.argmax(model.predict(x, verbose=0), axis=-1)
    expected = occlusion.explain(x, None).numpy()

    def no_separate_pass(*args, **kwargs):
        raise AssertionError("a forward pass outside the engine's run")

    monkeypatch.setattr(occlusion.engine, "scores", no_separate_pass)
    np.testing.assert_allclose(occlusion.explain(x, top), expected, atol=1e-5)
