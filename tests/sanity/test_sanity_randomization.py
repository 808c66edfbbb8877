"""Model-parameter randomization (Adebayo et al. 2018) on a small CNN trained here.

The paper's finding, reproduced: cascading re-initialisation from the logits down drives the
Saliency map's similarity to the original down to the level of unrelated maps (explanations of
different images), while Guided Backprop's stays well above it.
"""

import keras
import numpy as np
import pytest
import toy_models

import tfattr
from tfattr import sanity

SIZE = 16


def shapes(n, seed):
    """Squares (class 0) or plus signs (class 1) at random places on faint noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.02, (n, SIZE, SIZE, 1)).astype("float32")
    y = rng.integers(0, 2, n)
    for i, (r, c) in enumerate(rng.integers(1, SIZE - 4, (n, 2))):
        if y[i] == 0:
            x[i, r : r + 4, c : c + 4] += 1.0
        else:
            x[i, r : r + 4, c + 1 : c + 3] += 1.0
            x[i, r + 1 : r + 3, c : c + 4] += 1.0
    return x, y


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    x, y = shapes(512, seed=0)
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 1)),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(2, name="logits"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=4, batch_size=32, verbose=0)
    test_x, test_y = shapes(128, seed=1)
    assert model.evaluate(test_x, test_y, verbose=0)[1] >= 0.95  # accurate before the test
    return model, test_x[:8]


def test_cascading_randomization_saliency_falls_to_the_random_pair_level(trained):
    model, x = trained
    result = sanity.model_randomization(model, lambda m: tfattr.Saliency(m), x, seed=0)
    assert result.layers == ["logits", "conv2", "conv1"]
    assert result.scores["ssim"].shape == (3, 8) and result.randomized.shape == (3, *x.shape)
    for measure in sanity.MEASURES:
        final = result.mean(measure)[-1]
        level = np.nanmean(result.random_pairs[measure])
        assert final <= level + 0.1, (measure, final, level)
        assert final < 0.25, (measure, final)


def test_cascading_randomization_guided_backprop_stays_similar(trained):
    if not hasattr(tfattr, "GuidedBackprop"):
        pytest.skip("tfattr.GuidedBackprop is not available in this checkout")
    model, x = trained
    guided = sanity.model_randomization(model, lambda m: tfattr.GuidedBackprop(m), x, seed=0)
    saliency = sanity.model_randomization(model, tfattr.Saliency(model), x, seed=0)
    # With every layer re-initialised, Guided Backprop's signed map still ranks pixels like the
    # original (it reconstructs the input's shapes), far above unrelated maps and Saliency.
    final = guided.mean("spearman")[-1]
    assert final > np.nanmean(guided.random_pairs["spearman"]) + 0.3
    assert final > saliency.mean("spearman")[-1] + 0.3
    assert np.all(guided.mean("spearman") > saliency.mean("spearman"))
    assert guided.mean("ssim")[-1] > saliency.mean("ssim")[-1] + 0.1


def test_independent_mode_restores_the_other_layers(trained):
    model, x = trained
    before = [w.copy() for w in model.get_weights()]
    result = sanity.model_randomization(
        model, lambda m: tfattr.Saliency(m), x[:3], mode="independent", seed=1
    )
    # The last step must equal conv1 alone re-initialised (the layers above restored).
    copy = sanity.copy_model(model)
    layer = sanity.weighted_layers(copy)[0]
    sanity.reinitialize(layer, seed=1 + 2)  # conv1 is step 2 of 3
    expected = tfattr.Saliency(copy).explain(
        x[:3], target=tfattr.Saliency(model).top_classes(x[:3])
    )
    np.testing.assert_allclose(result.randomized[2], expected, atol=1e-5)
    for w, b in zip(model.get_weights(), before, strict=True):  # the user's model is untouched
        np.testing.assert_array_equal(w, b)


def test_seeds_reproduce_and_plot(trained):
    model, x = trained
    first = sanity.model_randomization(model, lambda m: tfattr.Saliency(m), x[:2], seed=5)
    again = sanity.model_randomization(model, lambda m: tfattr.Saliency(m), x[:2], seed=5)
    np.testing.assert_array_equal(first.randomized, again.randomized)
    fig, ax = first.plot()
    assert len(ax.lines) >= 4
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_similarity_of_identical_maps_is_one():
    maps = np.random.default_rng(0).uniform(size=(2, 16, 16, 3))
    scores = sanity.similarity(maps, maps)
    for measure in sanity.MEASURES:
        np.testing.assert_allclose(scores[measure], 1.0, atol=1e-9)


def test_bad_arguments():
    model = toy_models.cnn("functional")
    x = np.zeros((1, *toy_models.SHAPE), "float32")
    with pytest.raises(ValueError, match="mode: expected one of"):
        sanity.model_randomization(model, tfattr.Saliency(model), x, mode="top")
    with pytest.raises(tfattr.OpaqueModelError, match="needs a Keras model"):
        callable_model = toy_models.cnn("callable")
        sanity.model_randomization(callable_model, tfattr.Saliency(callable_model), x)
    with pytest.raises(TypeError, match="factory"):
        sanity.model_randomization(model, "saliency", x)


def test_max_layers_limits_the_randomized_layers():
    import numpy as np
    import toy_models

    import tfattr

    model = toy_models.cnn("functional")
    x = np.random.default_rng(0).uniform(size=(2, *toy_models.SHAPE)).astype("f4")
    result = tfattr.sanity.model_randomization(
        model, lambda m: tfattr.Saliency(m), x, target=1, max_layers=1, seed=0
    )
    assert result.layers == ["dense"]  # the top layer only
    assert len(result.randomized) == 1
