"""Pixel-level behaviour of tfattr.viz: normalisation, signs, clipping, overlays, shared scales."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf

from tfattr import viz


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _captum_threshold(values, percentile):
    """Captum 0.7's _cumulative_sum_threshold, copied as the reference."""
    sorted_vals = np.sort(values.flatten())
    cum_sums = np.cumsum(sorted_vals)
    threshold_id = np.where(cum_sums >= cum_sums[-1] * 0.01 * percentile)[0][0]
    return sorted_vals[threshold_id]


def _image(size=8, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (size, size, 3)).astype("float32")


def _colours(ax, index=-1):
    """RGBA of every data pixel of the ax's (last) image artist, as drawn."""
    artist = ax.images[index]
    return artist.to_rgba(artist.get_array())


# -- overlay -------------------------------------------------------------------------------------
def test_overlay_with_alpha_zero_is_the_image(rng):
    photo = rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)
    cam = rng.uniform(0, 1, (3, 3))  # layer resolution: resized to the image
    out = viz.overlay(cam, photo, alpha=0.0)
    assert out.dtype == np.uint8 and out.shape == (12, 10, 3)
    np.testing.assert_array_equal(out, photo)


def test_overlay_with_alpha_one_is_the_colormap_of_the_minmax_scaled_map():
    cam = np.array([[0.0, 1.0], [2.0, 4.0]])
    out = viz.overlay(cam, np.zeros((2, 2, 3), np.uint8), cmap="jet", alpha=1.0)
    expected = np.rint(plt.get_cmap("jet")(cam / 4.0)[..., :3] * 255).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)


def test_overlay_of_a_batch_and_of_a_constant_map_never_divides_by_zero(rng):
    photos = rng.uniform(0, 1, (2, 6, 6, 3))
    cams = tf.constant(np.stack([np.zeros((6, 6)), np.full((6, 6), 3.0)]))
    with np.errstate(all="raise"):
        out = viz.overlay(cams, photos, alpha=0.5)
    assert out.shape == (2, 6, 6, 3)
    # A constant map scales to 0: the blend of the image with the colormap's lowest colour.
    low = np.array(plt.get_cmap("jet")(0.0)[:3])
    np.testing.assert_allclose(out[1] / 255, 0.5 * photos[1] + 0.5 * low, atol=1 / 255)


def test_overlay_of_a_pixel_map_reduces_channels(rng):
    photo = rng.uniform(0, 1, (5, 5, 3))
    attr = rng.normal(size=(5, 5, 3))
    a = viz.overlay(attr, photo, reduce="sum")
    b = viz.overlay(attr.sum(-1), photo)
    np.testing.assert_array_equal(a, b)


# -- normalisation ------------------------------------------------------------------------------
@pytest.mark.parametrize("outlier_perc", [0, 2, 10, 50])
def test_mass_threshold_matches_captum(rng, outlier_perc):
    values = np.abs(rng.normal(size=(16, 16)))
    ours = viz.outlier_threshold(values, outlier_perc, clip="mass")
    assert ours == _captum_threshold(values, 100 - outlier_perc)


def test_outlier_perc_clips_at_the_right_percentile():
    # 100 values 1..100: total mass 5050; 98 % of it is first reached at value 99 (cumsum 4950
    # = 98.0 %), so Captum's rule clips only the 100; the plain percentile clips at 98.02.
    values = np.arange(1, 101, dtype=float).reshape(10, 10)
    assert viz.outlier_threshold(values, 2, clip="mass") == 99.0
    assert viz.outlier_threshold(values, 2, clip="value") == pytest.approx(
        np.percentile(values, 98)
    )
    norm, scale = viz.normalize(values, sign="absolute_value", outlier_perc=2)
    assert scale == 99.0
    assert norm.max() == 1.0 and np.count_nonzero(norm == 1.0) == 2  # 99 and the clipped 100
    np.testing.assert_allclose(norm.ravel()[:98], values.ravel()[:98] / 99.0)


def test_signs_keep_and_remove_the_right_pixels():
    values = np.array([[-4.0, -1.0], [0.0, 2.0]])
    kw = {"outlier_perc": 0}
    positive, scale = viz.normalize(values, "positive", **kw)
    np.testing.assert_array_equal(positive, [[0, 0], [0, 1]])
    negative, _ = viz.normalize(values, "negative", **kw)
    np.testing.assert_array_equal(negative, [[1, 0.25], [0, 0]])
    absolute, _ = viz.normalize(values, "absolute_value", **kw)
    np.testing.assert_array_equal(absolute, [[1, 0.25], [0, 0.5]])
    signed, _ = viz.normalize(values, "all", **kw)
    np.testing.assert_array_equal(signed, [[-1, -0.25], [0, 0.5]])


def test_masked_image_keeps_only_pixels_of_the_chosen_sign():
    image = np.full((2, 2, 3), 0.8)
    attr = np.array([[-4.0, -1.0], [0.0, 2.0]])
    kw = {"method": "masked_image", "outlier_perc": 0, "style": "captum"}
    fig, ax = viz.visualize(attr, image, sign="positive", **kw)
    shown = ax.images[0].get_array() / 255
    np.testing.assert_allclose(shown[..., 0], [[0, 0], [0, 0.8]], atol=1 / 255)
    fig, ax = viz.visualize(attr, image, sign="negative", **kw)
    np.testing.assert_allclose(
        ax.images[0].get_array()[..., 0] / 255, [[0.8, 0.2], [0, 0]], atol=1 / 255
    )


def test_alpha_scaling_uses_the_normalised_map_as_opacity():
    image = np.full((2, 2, 3), 0.5)
    attr = np.array([[0.0, 1.0], [2.0, 4.0]])
    pixels, scale = viz.render(attr, image, method="alpha_scaling", outlier_perc=0, style="captum")
    assert scale == 4.0 and pixels.shape == (2, 2, 4)
    np.testing.assert_array_equal(pixels[..., 3], np.rint(attr / 4 * 255))


def test_heat_map_colours_follow_captum_maps():
    attr = np.array([[-2.0, 0.0], [1.0, 2.0]])
    fig, ax = viz.visualize(attr, method="heat_map", sign="all", outlier_perc=0, style="captum")
    colours = _colours(ax)
    np.testing.assert_allclose(colours[0, 0, :3], [1, 0, 0], atol=1 / 255)  # -max: red
    np.testing.assert_allclose(colours[0, 1, :3], [1, 1, 1], atol=2 / 255)  # 0: white (256 bins)
    np.testing.assert_allclose(colours[1, 1, :3], np.array([0, 128, 0]) / 255, atol=1 / 255)


def test_render_matches_the_figure_colours(rng):
    attr = rng.normal(size=(6, 6))
    image = _image(6)
    for style in ("captum", "pixel", "region"):
        for sign in viz.SIGNS:
            for method in ("heat_map", "blended_heat_map"):
                kw = {"method": method, "sign": sign, "style": style}
                fig, ax = viz.visualize(attr, image, colorbar=False, **kw)
                pixels, _ = viz.render(attr, image, **kw)
                np.testing.assert_array_equal(ax.images[0].get_array(), pixels)
                plt.close(fig)


def _panel(ax):
    """The RGB pixels drawn in a panel."""
    return np.asarray(ax.images[-1].get_array())


def test_shared_scale_gives_equal_colours_for_equal_values_of_the_same_units(rng):
    image = _image(4)
    a = rng.uniform(0.1, 1, (4, 4))
    b = 3.0 * a
    b[0, 0] = a[0, 0]  # one pixel with the same value in both maps
    maps = {"IntegratedGradients": a, "GradientShap": b}  # both in score units
    kw = {"sign": "absolute_value", "outlier_perc": 0, "show_image": False}
    fig, axes = viz.compare(image, maps, shared_scale=True, **kw)
    np.testing.assert_array_equal(_panel(axes[0, 0])[0, 0], _panel(axes[0, 1])[0, 0])
    # The shared scale is the larger map's: A's largest value is a third of full colour.
    full, _ = viz.render(b, image[..., :3], sign="absolute_value", outlier_perc=0)
    np.testing.assert_array_equal(_panel(axes[0, 1]), full)
    assert "share one scale" in fig.get_supxlabel()
    # Each on its own scale (the default), the same value gets different colours.
    fig, axes = viz.compare(image, maps, **kw)
    assert not np.array_equal(_panel(axes[0, 0])[0, 0], _panel(axes[0, 1])[0, 0])
    assert "each panel on its own" in fig.get_supxlabel()


def test_shared_scale_never_mixes_units_or_region_maps(rng):
    """Grad-CAM (~1) next to IG (~1e-3) on one scale would blank IG: units keep their own."""
    image = _image(8)
    ig = rng.normal(scale=1e-3, size=(8, 8, 3))
    saliency = np.abs(rng.normal(scale=1e2, size=(8, 8, 3)))
    cam = rng.uniform(0, 1, (8, 8))
    maps = {"IG": ig, "Saliency": saliency, "Grad-CAM": cam}
    fig, axes = viz.compare(image, maps, shared_scale=True, show_image=False)
    for col, (name, attr) in enumerate(maps.items()):
        alone, _ = viz.render(
            attr.sum(-1) if attr.ndim == 3 else attr,
            image,
            kind=("region" if name == "Grad-CAM" else "pixel"),
        )
        np.testing.assert_array_equal(_panel(axes[0, col]), alone, err_msg=name)
    assert "share" not in fig.get_supxlabel()
    # Declared units make two unknown names share.
    fig, axes = viz.compare(
        image, {"mine": saliency, "theirs": 2 * saliency}, shared_scale=True,
        units={"mine": "gradient", "theirs": "gradient"}, show_image=False,
    )  # fmt: skip
    assert "mine, theirs share one scale" in fig.get_supxlabel()


def test_shared_scale_all_spans_rows(rng):
    images = np.stack([_image(4, 0), _image(4, 1)])
    small, large = rng.uniform(0, 1, (2, 4, 4)), rng.uniform(0, 10, (2, 4, 4))
    maps = {"IG": np.stack([small[0], large[0]]), "DeepLift": np.stack([small[1], large[1]])}
    kw = {"outlier_perc": 0, "show_image": False, "sign": "absolute_value"}
    fig, axes = viz.compare(images, maps, shared_scale="all", **kw)
    limit = large.max()
    for row in range(2):
        for col, name in enumerate(maps):
            expected, _ = viz.render(
                maps[name][row], images[row], sign="absolute_value", scale=limit
            )
            np.testing.assert_array_equal(_panel(axes[row, col]), expected)


# -- channel reduction and images ---------------------------------------------------------------
def test_channel_reductions():
    attr = np.array([[[1.0, -3.0, 2.0]]])
    assert viz.reduce_channels(attr[None], "sum")[0, 0, 0] == 0.0
    assert viz.reduce_channels(attr[None], "max_abs")[0, 0, 0] == 3.0
    assert viz.reduce_channels(attr[None], "abs_sum")[0, 0, 0] == 6.0
    with pytest.raises(ValueError, match="reduce"):
        viz.reduce_channels(attr[None], "median")


def test_preprocessed_images_are_shown_correctly(rng):
    photo = rng.integers(0, 256, (4, 4, 3)).astype("float32")
    caffe = photo[..., ::-1] - viz.deprocess.CAFFE_BGR_MEAN
    np.testing.assert_array_equal(viz.deprocess_caffe(caffe), photo.astype(np.uint8))
    np.testing.assert_array_equal(viz.deprocess_tf(photo / 127.5 - 1), photo.astype(np.uint8))
    torch = (photo / 255 - viz.deprocess.TORCH_MEAN) / viz.deprocess.TORCH_STD
    np.testing.assert_array_equal(viz.deprocess_torch(torch), photo.astype(np.uint8))

    class Spec:  # what tfattr.models.ModelSpec offers: a preprocessing name
        preprocessing = "caffe"

    class SpecWithFunction:
        deprocess = staticmethod(viz.deprocess_tf)

    class ZooSpec:  # tfattr.models.ModelSpec: preprocess=Preprocess(mode)
        preprocess = type("Preprocess", (), {"mode": "torch"})()

    np.testing.assert_allclose(viz.as_images(torch, spec=ZooSpec())[0], photo / 255, atol=1e-6)
    shown = viz.as_images(caffe, spec=Spec())
    np.testing.assert_allclose(shown[0], photo / 255, atol=1e-6)
    shown = viz.as_images(tf.constant(photo / 127.5 - 1), deprocess=SpecWithFunction())
    np.testing.assert_allclose(shown[0], photo / 255, atol=1e-6)
    fig, ax = viz.visualize(np.ones((4, 4, 3)), caffe, method="original_image", deprocess="caffe")
    np.testing.assert_array_equal(ax.images[0].get_array(), photo.astype(np.uint8))
    with pytest.raises(ValueError, match="looks preprocessed"):
        viz.visualize(np.ones((4, 4, 3)), caffe, method="original_image")
    with pytest.raises(ValueError, match="unknown preprocessing"):
        viz.as_images(caffe, deprocess="bgr")
