"""RISE: a model that sums one region gets that region ranked first."""

import keras
import numpy as np
import pytest

from tfattr.methods.perturbation.rise import RISE, masks


def region_model():
    region = np.zeros((16, 16, 3), "f4")
    region[2:7, 9:14] = 1.0

    class RegionSum(keras.layers.Layer):
        def call(self, x):
            total = keras.ops.sum(x * region, axis=(1, 2, 3))
            return keras.ops.stack([total, -total], axis=1)

    inputs = keras.Input((16, 16, 3))
    return keras.Model(inputs, RegionSum()(inputs)), region[..., 0] > 0


def test_the_summed_region_ranks_first():
    model, region = region_model()
    x = np.ones((2, 16, 16, 3), "f4")
    saliency = RISE(model, samples=200, seed=0, batch_size=64).explain(x, 0).numpy()
    for s in saliency:
        order = np.argsort(-s, axis=None)
        top = np.unravel_index(order[: region.sum()], s.shape)
        assert region[top].mean() > 0.8
        assert s[region].mean() > s[~region].max()


def test_masks_are_smooth_keep_about_p_and_do_not_depend_on_the_batch():
    index = np.arange(64, dtype="i4")
    drawn = masks(3, index, 7, 0.5, (32, 32)).numpy()
    assert drawn.shape == (64, 32, 32) and drawn.min() >= 0 and drawn.max() <= 1
    assert abs(drawn.mean() - 0.5) < 0.08
    np.testing.assert_array_equal(masks(3, index[10:12], 7, 0.5, (32, 32)).numpy(), drawn[10:12])


def test_defaults_are_the_paper_ones_and_options_are_checked():
    model, _ = region_model()
    options = RISE(model).options
    assert (options["samples"], options["grid_size"], options["keep_probability"]) == (
        4000,
        7,
        0.5,
    )
    with pytest.raises(ValueError, match="keep_probability"):
        RISE(model, keep_probability=0)
