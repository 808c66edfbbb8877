"""Feature ablation on a linear model: each segment gets the drop it causes alone."""

import numpy as np
import pytest
import toy_models

from tfattr.methods.perturbation.feature_ablation import FeatureAblation


def test_linear_model_drop_per_segment():
    model = toy_models.linear_model(softmax=True)
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(0).normal(size=(2, *toy_models.SHAPE)).astype("f4")
    labels = np.arange(64).reshape(8, 8) // 10  # 7 uneven segments
    got = FeatureAblation(model, segments=labels, baseline=0.25, batch_size=5).explain(x, [0, 2])
    for i, t in enumerate([0, 2]):
        contribution = ((x[i] - 0.25) * kernel[:, t].reshape(toy_models.SHAPE)).sum(-1)
        expected = np.zeros((8, 8))
        for j in range(7):
            expected[labels == j] = contribution[labels == j].sum()
        np.testing.assert_allclose(got[i].numpy()[..., 1], expected, atol=1e-4)


def test_superpixels_by_default_and_bad_baseline():
    model = toy_models.cnn("functional")
    x = np.random.default_rng(1).uniform(size=(1, *toy_models.SHAPE)).astype("f4")
    assert FeatureAblation(model, n_segments=6).explain(x, 1).shape == x.shape
    with pytest.raises(ValueError, match="baseline"):
        FeatureAblation(model, baseline=np.zeros(5)).explain(x, 1)
