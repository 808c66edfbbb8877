"""Counterfactual visual explanations (Goyal et al. 2019): copy regions until the class flips."""

import keras
import numpy as np
import pytest
import toy_models

from tfattr import adversarial

SIZE = 16


@pytest.fixture(scope="module")
def corner_model():
    """Class 1's logit is the sum of the top-left 4x4 corner minus 5; class 0's is 0."""
    kernel = np.zeros((SIZE, SIZE, 2), "float32")
    kernel[:4, :4, 1] = 1.0
    model = keras.Sequential(
        [keras.Input((SIZE, SIZE, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.layers[-1].set_weights([kernel.reshape(-1, 2), np.array([0.0, -5.0], "float32")])
    return model


def test_one_region_copied_into_the_evidence_cell_flips_the_class(corner_model):
    query = np.zeros((SIZE, SIZE, 1), "float32")
    distractor = np.zeros((SIZE, SIZE, 1), "float32")
    distractor[8:12, 4:8] = 1.0  # the distractor's evidence sits in another cell
    distractor[:4, :4] = 0.5
    result = adversarial.counterfactual(corner_model, query, distractor, grid=(4, 4))
    assert result.success and result.class_reached == 1 == result.target
    assert result.original_class == 0
    # The bright cell (row 2, col 1) is moved onto the corner cell: one region suffices.
    assert result.cells == [(0, 9)]
    assert result.regions == [((0, 0, 4, 4), (8, 4, 12, 8))]
    assert np.argmax(corner_model(result.image[None]).numpy()) == 1
    np.testing.assert_array_equal(result.image.numpy()[:4, :4], 1.0)
    np.testing.assert_array_equal(result.image.numpy()[4:], 0.0)
    assert result.probabilities[-1] > 0.5 > result.probabilities[0]


def test_same_position_matching_and_max_regions(corner_model):
    query = np.zeros((SIZE, SIZE, 1), "float32")
    distractor = np.zeros((SIZE, SIZE, 1), "float32")
    distractor[8:12, 4:8] = 1.0
    distractor[:4, :4] = 0.5
    result = adversarial.counterfactual(corner_model, query, distractor, match="same")
    assert result.success and result.cells == [(0, 0)]
    capped = adversarial.counterfactual(
        corner_model, query, np.zeros_like(query), target=1, max_regions=2
    )
    assert not capped.success and len(capped.cells) == 2 and capped.class_reached == 0


def test_counterfactual_on_a_cnn_is_predicted_as_the_distractor_class():
    model = toy_models.cnn("functional", seed=3)
    rng = np.random.default_rng(4)
    images = rng.uniform(0, 1, (32, *toy_models.SHAPE)).astype("float32")
    classes = np.argmax(model(images).numpy(), axis=-1)
    query = images[0]
    distractor = images[np.flatnonzero(classes != classes[0])[0]]
    result = adversarial.counterfactual(model, query, distractor, grid=(2, 2))
    assert result.success
    predicted = np.argmax(model(result.image[None]).numpy(), axis=-1)[0]
    assert predicted == result.class_reached == result.target != result.original_class
    assert 1 <= len(result.regions) <= 4


def test_bad_arguments(corner_model):
    query = np.zeros((SIZE, SIZE, 1), "float32")
    with pytest.raises(ValueError, match="distractor: images have shape"):
        adversarial.counterfactual(corner_model, query, np.zeros((SIZE, 8, 1)))
    with pytest.raises(ValueError, match="grid: with match='any' cells must have equal sizes"):
        adversarial.counterfactual(corner_model, query, query, grid=(3, 3))
    with pytest.raises(ValueError, match="match: expected one of"):
        adversarial.counterfactual(corner_model, query, query, match="nearest")
    with pytest.raises(ValueError, match="image: expected one image"):
        adversarial.counterfactual(corner_model, np.zeros((2, SIZE, SIZE, 1)), query)
