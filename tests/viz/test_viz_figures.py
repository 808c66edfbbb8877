"""Every figure of tfattr.viz draws every method's output, single or batched, and files decode."""

import matplotlib
import matplotlib.image
import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

import tfattr
from tfattr import viz

SIZE = 8


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def explained():
    """Attributions of every available method for 2 images of a tiny CNN, plus a CAM-shaped map."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3),
        ]
    )
    x = np.random.default_rng(0).uniform(0, 1, (2, SIZE, SIZE, 3)).astype("float32")
    explainers = {
        "Saliency": tfattr.Saliency(model),
        "InputXGradient": tfattr.InputXGradient(model),
        "IntegratedGradients": tfattr.IntegratedGradients(model, steps=4),
        "GradientShap": tfattr.GradientShap(model, samples=4, seed=0),
        "SmoothGrad": tfattr.SmoothGrad(model, samples=3, seed=0),
        "NoiseTunnel": tfattr.NoiseTunnel(tfattr.InputXGradient(model), samples=3, seed=0),
    }
    attrs = {name: e.explain(x, target=1) for name, e in explainers.items()}
    # What Grad-CAM returns: (N, H, W), upsampled or at layer resolution.
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    attrs["CAM"] = tf.constant(np.stack([np.maximum(0, np.sin(4 * xx) * yy)] * 2), tf.float32)
    attrs["CAM (layer)"] = np.random.default_rng(1).uniform(0, 1, (2, 3, 3))
    return x, attrs


@pytest.mark.parametrize("method", viz.METHODS)
def test_every_method_output_draws_single_and_batched(explained, method):
    x, attrs = explained
    sign = "all" if method in ("heat_map", "blended_heat_map", "original_image") else "positive"
    for name, attr in attrs.items():
        fig, ax = viz.visualize(attr, x, method=method, sign=sign, title=name)
        assert len(np.ravel(ax)) == 2 and len(ax[0].images) >= 1
        fig, ax = viz.visualize(attr[0], x[0], method=method, sign=sign, title=name)
        assert isinstance(ax, matplotlib.axes.Axes) and ax.get_title() == name
        plt.close("all")


def test_compare_multiple_and_tutorial_figures_draw(explained, tmp_path):
    x, attrs = explained
    fig, axes = viz.compare(x, attrs, sign="all", shared_scale=True, row_titles=["a", "b"])
    assert axes.shape == (2, len(attrs) + 1)
    fig, axes = viz.compare(x[0], {k: v[0] for k, v in attrs.items()}, method="blended_heat_map")
    assert axes.shape == (1, len(attrs) + 1)
    fig, axes = viz.visualize_multiple(
        attrs["IntegratedGradients"],
        x,
        ["original_image", "heat_map", "masked_image"],
        ["all", "all", "positive"],
    )
    assert axes.shape == (2, 3)
    fig, axes = viz.plot_img_attributions(x[0], attrs["IntegratedGradients"][0])
    assert axes.shape == (2, 2)
    assert [a.get_title() for a in axes.ravel()] == [
        "Baseline image",
        "Original image",
        "Attribution mask",
        "Overlay",
    ]
    fig, axes = viz.plot_img_attributions(x, attrs["CAM"], baseline=np.zeros((SIZE, SIZE, 3)))
    assert axes.shape == (2, 4)


def test_png_files_decode_to_the_expected_size(explained, tmp_path):
    x, attrs = explained
    fig, _ = viz.visualize(attrs["Saliency"][0], x[0], figsize=(4, 3))
    path = viz.save(fig, tmp_path / "sub" / "fig.png", dpi=50)
    assert matplotlib.image.imread(path).shape[:2] == (150, 200)
    assert viz.save((fig, None), tmp_path / "pair.png", dpi=20).exists()
    overlay = viz.overlay(attrs["CAM (layer)"], x)
    assert overlay.shape == (2, SIZE, SIZE, 3)
    path = viz.save(overlay[1], tmp_path / "overlay.png")
    decoded = matplotlib.image.imread(path)
    assert decoded.shape == (SIZE, SIZE, 3)
    np.testing.assert_array_equal(np.rint(decoded * 255).astype(np.uint8), overlay[1])
    grid = viz.figure_to_array(fig, dpi=50)
    assert grid.shape == (150, 200, 3) and grid.dtype == np.uint8


def test_draws_into_given_axes(explained):
    x, attrs = explained
    fig, axes = plt.subplots(1, 3)
    got_fig, ax = viz.visualize(attrs["Saliency"][0], x[0], ax=axes[1], colorbar=False)
    assert got_fig is fig and ax is axes[1] and len(axes[1].images) == 1 and not axes[0].images
    got_fig, got = viz.visualize(attrs["Saliency"], x, ax=axes[1:], colorbar=False)
    assert list(got) == list(axes[1:])
    with pytest.raises(ValueError, match="Axes"):
        viz.visualize(attrs["Saliency"], x, ax=axes[0])


def test_blank_maps_draw_with_a_note_and_never_divide_by_zero(explained):
    x, _ = explained
    with np.errstate(all="raise"):
        fig, ax = viz.visualize(np.zeros((SIZE, SIZE, 3)), x[0], method="blended_heat_map")
        assert "all attributions are zero" in [t.get_text() for t in ax.texts]
        fig, ax = viz.visualize(-np.ones((SIZE, SIZE)), x[0], sign="positive")
        assert "no positive attributions" in [t.get_text() for t in ax.texts]
        fig, ax = viz.visualize(np.full((SIZE, SIZE), 2.0), x[0])
        assert any("constant" in t.get_text() for t in ax.texts)
        fig, axes = viz.plot_img_attributions(x[0], np.zeros((SIZE, SIZE, 3)))
        fig, axes = viz.compare(x[0], {"zero": np.zeros((SIZE, SIZE))}, shared_scale=True)


def test_nans_and_bad_arguments_are_refused_with_clear_errors(explained):
    x, attrs = explained
    bad = np.array(attrs["Saliency"][0])
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        viz.visualize(bad, x[0])
    with pytest.raises(ValueError, match="NaN"):
        viz.overlay(bad, x[0])
    with pytest.raises(ValueError, match="sign"):
        viz.visualize(attrs["Saliency"][0], x[0], sign="both")
    with pytest.raises(ValueError, match="one sign"):
        viz.visualize(attrs["Saliency"][0], x[0], method="masked_image", sign="all")
    with pytest.raises(ValueError, match="needs the image"):
        viz.visualize(attrs["Saliency"][0], method="blended_heat_map")
    with pytest.raises(ValueError, match="3 maps for 2 images"):
        viz.compare(x, {"A": np.ones((3, SIZE, SIZE))})
    with pytest.raises(TypeError, match="numbers"):
        viz.visualize(np.array([["a"]]), x[0])


def test_nothing_shows_figures_unless_asked(explained, monkeypatch):
    x, attrs = explained
    shown = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(1))
    viz.visualize(attrs["Saliency"], x)
    viz.compare(x, attrs)
    assert not shown
    viz.visualize(attrs["Saliency"], x, show=True)
    assert shown == [1]
    fig, _ = viz.visualize(attrs["Saliency"], x, use_pyplot=False)
    assert fig not in [plt.figure(n) for n in plt.get_fignums()]
