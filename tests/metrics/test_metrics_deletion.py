"""Deletion and insertion (RISE) on a model whose evidence is known: one image region."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfattr
from tfattr import metrics

SIZE = 12


def region_model(size=SIZE, region=(slice(0, 4), slice(0, 4))):
    """Class 1's logit is the mean of one region minus 0.5; class 0's is 0."""
    mask = np.zeros((size, size), bool)
    mask[region] = True
    kernel = np.zeros((size * size, 2), "float32")
    kernel[mask.reshape(-1), 1] = 8.0 / mask.sum()
    model = keras.Sequential(
        [keras.Input((size, size, 1)), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    model.layers[-1].set_weights([kernel, np.array([0.0, -4.0], "float32")])
    return model, mask


@pytest.fixture(scope="module")
def setup():
    model, mask = region_model()
    x = np.random.default_rng(0).uniform(0.5, 1.0, (5, SIZE, SIZE, 1)).astype("float32")
    true = tfattr.IntegratedGradients(model, steps=8).explain(x, target=1)
    random = np.random.default_rng(1).normal(size=x.shape)
    return model, mask, x, true, random


def test_deletion_auc_of_the_true_attribution_is_below_random(setup):
    model, _, x, true, random = setup
    good = metrics.deletion(model, x, true, target=1, steps=12)
    bad = metrics.deletion(model, x, random, target=1, steps=12)
    assert np.all(good.auc < bad.auc - 0.2)
    assert good.curves.shape == (5, 13) and good.fractions[0] == 0 and good.fractions[-1] == 1
    # The first point is the clean image, the last the all-baseline image.
    probabilities = tf.nn.softmax(model(x))[:, 1].numpy()
    np.testing.assert_allclose(good.curves[:, 0], probabilities, rtol=1e-5)
    np.testing.assert_allclose(good.curves[:, -1], tf.nn.softmax(model(0 * x))[:, 1], rtol=1e-5)


def test_insertion_auc_of_the_true_attribution_is_above_random(setup):
    model, _, x, true, random = setup
    good = metrics.insertion(model, x, true, target=1, steps=12, baseline="black")
    bad = metrics.insertion(model, x, random, target=1, steps=12, baseline="black")
    assert np.all(good.auc > bad.auc + 0.2)
    np.testing.assert_allclose(good.curves[:, -1], tf.nn.softmax(model(x))[:, 1], rtol=1e-5)


def test_insertion_starts_from_a_blurred_copy(setup):
    from tfattr.core.baselines import gaussian_blur

    model, _, x, true, _ = setup
    result = metrics.insertion(model, x, true, target=1, steps=3, blur_sigma=2.0)
    blurred = gaussian_blur(tf.constant(x), 2.0)
    np.testing.assert_allclose(result.curves[:, 0], tf.nn.softmax(model(blurred))[:, 1], rtol=1e-5)


def test_curve_point_equals_a_hand_made_removal(setup):
    model, _, x, true, _ = setup
    result = metrics.deletion(model, x[:1], true[:1], target=1, steps=4, output="logits")
    order = np.argsort(-true.numpy()[0, ..., 0].reshape(-1), kind="stable")
    removed = x[0].reshape(-1).copy()
    removed[order[: SIZE * SIZE // 4]] = 0.0
    expected = model(removed.reshape(1, SIZE, SIZE, 1))[0, 1]
    np.testing.assert_allclose(result.curves[0, 1], expected, rtol=1e-5)


def test_batch_size_and_explainer_argument_do_not_change_results(setup):
    model, _, x, true, _ = setup
    small = metrics.deletion(model, x, true, target=1, steps=6, batch_size=3)
    large = metrics.deletion(tfattr.Saliency(model), x, true, target=1, steps=6, batch_size=64)
    np.testing.assert_allclose(small.curves, large.curves, atol=1e-6)


def test_repeated_calls_through_an_adapter_compile_once(setup):
    model, _, x, true, _ = setup
    adapter = tfattr.adapt(model)
    first = metrics.deletion(adapter, x, true, target=1, steps=6)
    engine = metrics.model_engine(adapter, output="probabilities")
    traces = engine.trace_count
    assert traces > 0
    again = metrics.deletion(adapter, x, true, target=1, steps=6)
    metrics.insertion(adapter, x, true, target=1, steps=6)
    assert engine.trace_count == traces
    np.testing.assert_array_equal(first.curves, again.curves)


def test_cam_maps_single_images_and_default_target(setup):
    model, mask, x, _, _ = setup
    cam = np.broadcast_to(mask, (5, SIZE, SIZE)).astype("float32")
    result = metrics.deletion(model, x, cam, steps=4)
    top = np.argmax(model(x), axis=-1)
    np.testing.assert_array_equal(result.targets, top)
    single = metrics.insertion(model, x[0], cam[0], steps=4)
    assert single.auc.shape == (1,)


def test_plot_curves(setup):
    model, _, x, true, random = setup
    results = [metrics.deletion(model, x, a, target=1, steps=4) for a in (true, random)]
    fig, ax = metrics.plot_curves(results, labels=["IG", "random"])
    assert len(ax.lines) == 2
    fig2, _ = results[0].plot(image=0)
    import matplotlib.pyplot as plt

    plt.close(fig)
    plt.close(fig2)


def test_bad_arguments(setup):
    model, _, x, true, _ = setup
    with pytest.raises(ValueError, match=r"attributions: expected shape \(5, 12, 12, 1\)"):
        metrics.deletion(model, x, true[:, :4], target=1)
    with pytest.raises(ValueError, match="steps: expected an int >= 1"):
        metrics.deletion(model, x, true, steps=0)
    with pytest.raises(ValueError, match=r"target: class index 2 is out of range"):
        metrics.insertion(model, x, true, target=2)
    with pytest.raises(ValueError, match="baseline: expected one baseline"):
        metrics.deletion(model, x, true, baseline=np.zeros((2, SIZE, SIZE, 1), "float32"))
    bad = true.numpy().copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        metrics.deletion(model, x, bad)
