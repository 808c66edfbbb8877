"""XRAI: regions ranked by the density of the min/max-baseline IG attribution."""

import numpy as np
import pytest
import toy_models

import tfattr
from tfattr.methods.gradient.xrai import XRAI, xrai_map

QUADRANTS = (np.arange(8)[:, None] // 4) * 2 + np.arange(8)[None, :] // 4


@pytest.fixture(scope="module")
def setup():
    model = toy_models.cnn("functional", seed=6)
    x = np.random.default_rng(2).uniform(size=(2, *toy_models.SHAPE)).astype("f4")
    return model, x


def test_disjoint_regions_get_their_ig_density(setup):
    model, x = setup
    got = XRAI(model, steps=8, segments=QUADRANTS, min_pixel_diff=1).explain(x, [1, 2]).numpy()
    for i, t in enumerate([1, 2]):
        stack = np.stack([np.full(x.shape[1:], x[i].min()), np.full(x.shape[1:], x[i].max())])
        ig = tfattr.IntegratedGradients(model, steps=8, baseline=stack).explain(x[i], t)
        reduced = ig.numpy().max(-1)
        for q in range(4):
            np.testing.assert_allclose(
                got[i][q == QUADRANTS], reduced[q == QUADRANTS].mean(), atol=1e-5
            )


def test_overlapping_regions_are_ranked_greedily():
    attr = np.zeros((4, 4))
    attr[0, :] = 10.0  # the best row
    big = np.zeros((4, 4), bool)
    big[:2] = True  # contains the best row, density 5
    row = np.zeros((4, 4), bool)
    row[0] = True  # density 10: picked first; then big adds row 1 at density 0
    out = xrai_map(attr, np.stack([big, row]), min_pixel_diff=1)
    assert np.all(out[0] == 10) and np.all(out[1] == 0) and np.all(out[2:] == 0)
    fast = xrai_map(attr, np.stack([big, row]), min_pixel_diff=1, algorithm="fast")
    np.testing.assert_array_equal(fast, out)


def test_default_segmentation_runs(setup):
    model, x = setup
    got = XRAI(model, steps=4, min_pixel_diff=4).explain(x[:1], 0)
    assert got.shape == (1, 8, 8) and np.all(np.isfinite(got))
