"""Defaults per kind of map: region maps min..max over the photo, pixel maps clipped over a dark
photo; readable grids at any number of methods; no import cycle inside tfattr.viz."""

import ast
import pathlib

import matplotlib.pyplot as plt
import numpy as np
import pytest

from tfattr import viz
from tfattr.viz import styles


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _photo(size=16, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (size, size, 3))


# -- kinds ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("gradcam", "region"),
        ("Grad-CAM", "region"),
        ("GradCAMPlusPlus", "region"),
        ("RISE", "region"),
        ("occlusion", "region"),
        ("XRAI", "region"),
        ("lime", "region"),
        ("IG", "pixel"),
        ("Integrated Gradients", "pixel"),
        ("IntegratedGradients", "pixel"),
        ("saliency", "pixel"),
        ("guided_gradcam", "pixel"),
        ("LRP", "pixel"),
    ],
)
def test_method_names_tell_the_kind_of_map(name, kind):
    pixel_like = np.random.default_rng(0).normal(size=(1, 4, 4, 3))
    assert viz.map_kind(pixel_like, name) == kind


def test_unknown_names_are_told_by_the_data():
    rng = np.random.default_rng(0)
    assert viz.map_kind(rng.normal(size=(1, 4, 4, 1)), "mine", had_channels=False) == "region"
    spread = np.repeat(rng.normal(size=(1, 4, 4, 1)), 3, axis=-1)  # Occlusion-like
    assert viz.map_kind(spread, "mine") == "region"
    assert viz.map_kind(rng.normal(size=(1, 4, 4, 3)), "mine") == "pixel"
    assert viz.units_of("IG") == viz.units_of("DeepLift") == "score"
    assert viz.units_of("SmoothGrad") == "gradient" and viz.units_of("gradcam") is None


# -- region maps ---------------------------------------------------------------------------------
@pytest.mark.parametrize("offset", [-7.0, 0.5, 100.0])
def test_a_constant_offset_does_not_change_a_region_map(offset):
    """RISE's maps carry the mean score as an offset: it must not flood the picture."""
    photo = _photo()
    yy, xx = np.mgrid[0:16, 0:16]
    cam = np.exp(-((yy - 5) ** 2 + (xx - 9) ** 2) / 20.0)
    reference, span = viz.render(cam, photo, kind="region")
    shifted, shifted_span = viz.render(cam + offset, photo, kind="region")
    np.testing.assert_array_equal(shifted, reference)
    assert shifted_span == pytest.approx(span)


def test_region_maps_are_jet_over_the_colour_photo():
    photo = _photo()
    cam = np.zeros((16, 16))
    cam[4, 4] = 2.0
    pixels, span = viz.render(cam, photo, kind="region")
    assert span == 2.0
    jet = plt.get_cmap("jet")
    expected_peak = 0.5 * photo[4, 4] + 0.5 * np.array(jet(1.0)[:3])
    expected_rest = 0.5 * photo[0, 0] + 0.5 * np.array(jet(0.0)[:3])
    np.testing.assert_allclose(pixels[4, 4] / 255, expected_peak, atol=1 / 255)
    np.testing.assert_allclose(pixels[0, 0] / 255, expected_rest, atol=1 / 255)


# -- pixel maps ----------------------------------------------------------------------------------
def test_zero_attribution_shows_the_darkened_grey_photo():
    photo = _photo()
    attr = np.zeros((16, 16))
    attr[3, 3], attr[10, 10] = 1.0, -1.0
    pixels, _ = viz.render(attr, photo, kind="pixel")
    grey = photo.mean(-1) * styles.DARK_BACKGROUND
    np.testing.assert_allclose(pixels[0, 0] / 255, [grey[0, 0]] * 3, atol=1 / 255)


def test_signed_pixel_maps_are_warm_for_and_cool_against_the_class():
    photo = np.full((8, 8, 3), 0.5)
    attr = np.zeros((8, 8))
    attr[2, 2], attr[5, 5] = 1.0, -1.0
    pixels = viz.render(attr, photo, kind="pixel", outlier_perc=0)[0].astype(int)
    red, green, blue = pixels[2, 2]
    assert red > blue + 100  # evidence for the class
    red, green, blue = pixels[5, 5]
    assert blue > red + 80  # evidence against
    magnitude = viz.render(np.abs(attr), photo, kind="pixel", outlier_perc=0)[0]
    assert viz.resolve_style("pixel", signed=False).sign == "absolute_value"
    assert magnitude[2, 2].sum() > magnitude[0, 0].sum() + 200  # bright on dark


def test_outliers_are_clipped_so_the_rest_of_a_pixel_map_shows():
    rng = np.random.default_rng(0)
    attr = rng.uniform(0.0, 1.0, (50, 50))
    attr[0, 0] = 1e6  # one huge gradient would otherwise leave everything else black
    photo = np.zeros((50, 50, 3))
    pixels, scale = viz.render(attr, photo, kind="pixel", sign="absolute_value")
    assert scale == pytest.approx(np.percentile(attr, 99))
    assert np.mean(pixels.sum(-1) > 60) > 0.4  # most of the map is visible


def test_a_bright_object_stays_readable_under_a_pixel_map():
    """On a white object, zero attribution must not look white (Captum's signed maps are white
    at zero), and attributed pixels must stand out brighter than the unattributed ones."""
    white = np.ones((8, 8, 3))
    for attr_value in (1.0, -1.0):
        attr = np.zeros((8, 8))
        attr[4, 4] = attr_value
        for sign in ("all", "absolute_value"):
            pixels = viz.render(attr, white, kind="pixel", sign=sign, outlier_perc=0)[0] / 255
            zero, peak = pixels[0, 0].mean(), pixels[4, 4].mean()
            assert zero <= 0.5
            if attr_value > 0 or sign == "absolute_value":
                assert peak >= 1.5 * zero, (sign, attr_value)
            else:
                assert np.abs(pixels[4, 4] - pixels[0, 0]).sum() > 0.8  # cool: still distinct


def test_every_captum_choice_remains_available():
    photo = _photo(8)
    attr = np.random.default_rng(1).normal(size=(8, 8))
    for style in viz.STYLES:
        for method in viz.METHODS:
            for sign in viz.SIGNS:
                if method in ("masked_image", "alpha_scaling") and sign == "all":
                    continue
                pixels, _ = viz.render(attr, photo, method=method, sign=sign, style=style)
                assert pixels.dtype == np.uint8
    with pytest.raises(ValueError, match="style"):
        viz.visualize(attr, photo, style="fancy")
    with pytest.raises(ValueError, match="scaling"):
        viz.render(attr, photo, scaling="log")


# -- grids ---------------------------------------------------------------------------------------
def test_grids_wrap_into_rows_of_readable_width_with_legible_titles():
    photos = np.stack([_photo(12, 0), _photo(12, 1)])
    rng = np.random.default_rng(0)
    maps = {
        f"method_number_{i}_with_a_long_name": rng.normal(size=(2, 12, 12, 3)) for i in range(26)
    }
    fig, axes = viz.compare(photos, maps, use_pyplot=False)
    assert axes.shape == (2, 27)  # (images, panels), whatever the wrapping
    width, height = fig.get_size_inches()
    assert width == pytest.approx(8 * 2.0)  # 8 panels a row: 1280 px at 80 dpi
    titles = [ax.title for ax in axes.ravel()]
    assert all(t.get_fontsize() >= 9 for t in titles)
    assert all(t.get_text().count("\n") <= 1 for t in titles)
    assert titles[1].get_text() == "method_number_0_\nwith_a_long_name"
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 2 * 27  # the cells after each image's last panel are hidden
    # The second image starts a new row, under the first image's last wrapped row.
    first, second = axes[0, 0].get_position(), axes[1, 0].get_position()
    last_of_first = axes[0, 26].get_position()
    assert second.y1 < last_of_first.y0 < first.y0


def test_viz_modules_import_each_other_without_a_cycle():
    folder = pathlib.Path(viz.__file__).parent
    graph = {}
    for path in folder.glob("*.py"):
        if path.name == "__init__.py":
            continue
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tfattr.viz."):
                imported.add(node.module.rsplit(".", 1)[1])
        graph[path.stem] = imported

    def reaches(start, goal, seen=()):
        return any(
            n == goal or (n not in seen and reaches(n, goal, (*seen, n))) for n in graph[start]
        )

    cycles = [module for module in graph if reaches(module, module)]
    assert cycles == [], f"import cycle through {cycles}: {graph}"
