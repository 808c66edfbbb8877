"""Pointing game and its energy-based variant on hand-made maps."""

import numpy as np
import pytest

from tfattr import metrics


def test_pointing_game_hits_and_energy():
    maps = np.zeros((3, 6, 6))
    masks = np.zeros((3, 6, 6), bool)
    masks[:, :3, :3] = True
    maps[0, 1, 1] = 2.0  # peak inside
    maps[0, 5, 5] = 1.0  # some mass outside
    maps[1, 4, 4] = 1.0  # peak outside, two pixels from the mask
    maps[2, 0, 0], maps[2, 3, 3] = 1.0, -5.0  # negative mass does not count
    result = metrics.pointing_game(maps, masks)
    np.testing.assert_array_equal(result.hits, [True, False, True])
    np.testing.assert_allclose(result.energy, [2 / 3, 0.0, 1.0])
    assert result.accuracy == pytest.approx(2 / 3)
    assert metrics.pointing_game(maps, masks, tolerance=2).hits.tolist() == [True, True, True]
    np.testing.assert_allclose(metrics.energy_pointing_game(maps, masks), result.energy)


def test_pixel_attributions_are_summed_over_channels():
    attr = np.zeros((1, 4, 4, 3))
    attr[0, 0, 0] = [1.0, 1.0, 1.0]  # sum 3 inside
    attr[0, 3, 3] = [2.5, 0.0, 0.0]  # larger in one channel but smaller sum, outside
    mask = np.zeros((4, 4), bool)
    mask[:2, :2] = True
    assert metrics.pointing_game(attr, mask[None]).hits.tolist() == [True]


def test_no_positive_mass_warns_and_bad_masks_raise():
    with pytest.warns(RuntimeWarning, match="no positive attribution in images \\[0\\]"):
        energy = metrics.energy_pointing_game(-np.ones((1, 4, 4)), np.ones((1, 4, 4), bool))
    assert np.isnan(energy[0])
    with pytest.raises(ValueError, match="masks: expected booleans or 0/1"):
        metrics.pointing_game(np.ones((1, 4, 4)), np.full((1, 4, 4), 0.5))
    with pytest.raises(ValueError, match="attributions: expected shape"):
        metrics.pointing_game(np.ones((1, 5, 4)), np.ones((1, 4, 4), bool))
    with pytest.raises(ValueError, match="tolerance: expected an int >= 0"):
        metrics.pointing_game(np.ones((1, 4, 4)), np.ones((1, 4, 4), bool), tolerance=-1)
