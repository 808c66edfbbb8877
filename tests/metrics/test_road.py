"""ROAD: the noisy linear imputation solves its equations; MoRF/LeRF follow a known order."""

import keras
import numpy as np
import pytest

from tfattr import metrics

SIZE = 12
SQUARE = (slice(3, 7), slice(5, 9))  # the evidence: 16 of 144 pixels (11.1 %)


def imputation_residual(image, filled, removed):
    """Each removed pixel minus the weighted mean of its neighbours inside the image."""
    h, w = removed.shape
    worst = 0.0
    for i, j in zip(*np.nonzero(removed), strict=True):
        total, weight = 0.0, 0.0
        for di, dj, wgt in metrics.ROAD_NEIGHBOURS:
            if 0 <= i + di < h and 0 <= j + dj < w:
                total = total + wgt * filled[i + di, j + dj]
                weight += wgt
        worst = max(worst, np.abs(filled[i, j] - total / weight).max())
    return worst


def test_imputation_solves_the_neighbour_equations_and_keeps_the_rest():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (9, 11, 3))
    removed = rng.uniform(size=(9, 11)) < 0.6  # touches the borders too
    filled = metrics.noisy_linear_imputation(image, removed, noise=0.0)
    np.testing.assert_array_equal(filled[~removed], image[~removed])
    assert imputation_residual(image, filled, removed) < 1e-10
    assert np.abs(filled[removed] - image[removed]).max() > 1e-3  # it did impute


def test_imputation_reproduces_a_linear_ramp_inside_the_image():
    rows, cols = np.mgrid[0:10, 0:10]
    image = (0.3 * rows - 0.2 * cols + 1.0)[..., None]
    removed = np.zeros((10, 10), bool)
    removed[2:6, 3:8] = True  # a hole away from the border
    removed[7, 1] = True
    filled = metrics.noisy_linear_imputation(image, removed, noise=0.0)
    np.testing.assert_allclose(filled, image, atol=1e-12)


def test_imputation_noise_is_gaussian_of_the_given_size_and_seeded():
    image = np.zeros((40, 40, 3))
    removed = np.ones((40, 40), bool)
    removed[0, 0] = False  # imputed from one zero pixel: exactly zero before the noise
    noisy = metrics.noisy_linear_imputation(
        image, removed, noise=0.05, rng=np.random.default_rng(3)
    )
    assert abs(noisy[removed].std() - 0.05) < 0.002 and abs(noisy[removed].mean()) < 0.002
    again = metrics.noisy_linear_imputation(
        image, removed, noise=0.05, rng=np.random.default_rng(3)
    )
    np.testing.assert_array_equal(noisy, again)


def test_imputation_errors():
    with pytest.raises(ValueError, match="every pixel is removed"):
        metrics.noisy_linear_imputation(np.zeros((4, 4)), np.ones((4, 4), bool))
    with pytest.raises(ValueError, match="removed: expected an"):
        metrics.noisy_linear_imputation(np.zeros((4, 4, 3)), np.ones((4, 5), bool))


@pytest.fixture(scope="module")
def evidence():
    """A linear model whose class-0 logit is the sum of the square's pixels (class 1: minus it),
    an image with a bright square on black, and the map x * gradient (the square)."""
    weights = np.zeros((SIZE, SIZE, 1), "f4")
    weights[SQUARE] = 1.0
    kernel = np.stack([weights.ravel(), -weights.ravel()], axis=1)
    model = keras.Sequential(
        [keras.Input((SIZE, SIZE, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.layers[-1].set_weights([kernel, np.zeros(2, "f4")])
    image = np.zeros((1, SIZE, SIZE, 1), "f4")
    image[0][SQUARE] = 1.0
    image[0, 0, 0, 0] = 0.5  # some background that the model ignores
    return model, image, (image * weights)[..., 0]


def road(model, image, attr, **kwargs):
    return metrics.road(model, image, attr, 0, output="logits", noise=0.0, **kwargs)


def test_morf_and_lerf_follow_the_known_order(evidence):
    model, image, attr = evidence
    score = 16.0
    morf = road(model, image, attr, order="morf")
    lerf = road(model, image, attr, order="lerf")
    np.testing.assert_allclose(morf.fractions, np.round(np.arange(1, 10) * 14.4) / 144)
    # MoRF: 10 % (14 px) removes 14 of the square's 16 pixels, filled from the rest: 0 < s < 16;
    # from 20 % on the whole square is imputed from black pixels: exactly 0.
    assert 0 < morf.curves[0, 0] < score
    np.testing.assert_allclose(morf.curves[0, 1:], 0.0, atol=1e-9)
    # LeRF: up to 80 % (115 px) only background goes, which the model ignores: exactly 16; at
    # 90 % (130 px) two square pixels go too, imputed from the only pixels left, the square's
    # ones (all 1): still 16.
    np.testing.assert_allclose(lerf.curves[0], score, atol=1e-5)
    assert morf.kind == "road_morf" and lerf.kind == "road_lerf"
    assert morf.auc[0] < 1.0 < 12.0 < lerf.auc[0]  # (fractions 0.1 ... 0.9: at most 12.8)
    np.testing.assert_allclose(morf.auc, np.trapezoid(morf.curves, morf.fractions, axis=1))


def test_a_faithful_map_beats_a_reversed_and_a_random_one(evidence):
    model, image, attr = evidence
    reversed_map = -attr
    noise = np.random.default_rng(0).uniform(size=attr.shape)
    morf = {name: road(model, image, a, order="morf").auc[0] for name, a in
            (("true", attr), ("reversed", reversed_map), ("random", noise))}  # fmt: skip
    lerf = {name: road(model, image, a, order="lerf").auc[0] for name, a in
            (("true", attr), ("reversed", reversed_map), ("random", noise))}  # fmt: skip
    assert morf["true"] < morf["random"] < morf["reversed"]
    assert lerf["true"] > lerf["random"] > lerf["reversed"]


def test_noise_is_seeded_and_independent_of_the_batch_size(evidence):
    model, image, attr = evidence
    images = np.concatenate([image, image[:, ::-1]])
    maps = np.concatenate([attr, attr[:, ::-1]])
    runs = [
        metrics.road(model, images, maps, 0, output="logits", batch_size=b, seed=5).curves
        for b in (1, 4, 32)
    ]
    for other in runs[1:]:
        np.testing.assert_allclose(other, runs[0], rtol=1e-6, atol=1e-6)
    clean = metrics.road(model, images, maps, 0, output="logits", noise=0.0).curves
    other_seed = metrics.road(model, images, maps, 0, output="logits", seed=6).curves
    assert 0 < np.abs(runs[0] - clean).max() < 0.2
    assert np.abs(other_seed - runs[0]).max() > 1e-4


def test_probabilities_by_default_and_top_class_target(evidence):
    model, image, attr = evidence
    result = metrics.road(model, image, attr, percentages=(0, 50))
    assert result.targets.tolist() == [0]
    assert np.all((result.curves >= 0) & (result.curves <= 1))
    np.testing.assert_allclose(result.curves[0, 0], 1.0, atol=1e-6)  # softmax(16, -16)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"order": "random"}, ValueError, "order: expected one of"),
        ({"percentages": (50,)}, ValueError, "percentages: expected at least two"),
        ({"percentages": (10, 100)}, ValueError, r"\[0, 100\)"),
        ({"percentages": (30, 20)}, ValueError, "increasing"),
        ({"percentages": "abc"}, TypeError, "percentages: expected a sequence"),
        ({"noise": -0.1}, ValueError, "noise: expected a standard deviation"),
        ({"seed": -1}, ValueError, "seed"),
    ],
)
def test_bad_arguments(evidence, kwargs, error, match):
    model, image, attr = evidence
    with pytest.raises(error, match=match):
        metrics.road(model, image, attr, **kwargs)
