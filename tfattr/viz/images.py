"""Pictures as arrays and files: panels as pixels, the Grad-CAM overlay, PNG files."""

from __future__ import annotations

import io
import os
import pathlib

import matplotlib
import matplotlib.image
import numpy as np
from matplotlib.figure import Figure

from tfattr.viz.arrays import (
    SIGNS,
    as_images,
    as_maps,
    broadcast_pair,
    check_choice,
    reduce_channels,
    resize_maps,
    scale_values,
)
from tfattr.viz.styles import (
    DARK_BACKGROUND,
    DEFAULT_CMAPS,
    METHODS,
    REGION_CMAP,
    Style,
    resolve_style,
)


def overlay(
    heatmap,
    image,
    cmap=REGION_CMAP,
    alpha: float = 0.4,
    reduce: str = "sum",
    deprocess=None,
    spec=None,
) -> np.ndarray:
    """The classic Grad-CAM picture: a colour-mapped heat map blended over the image.

    ``out = (1 - alpha) * image + alpha * cmap(h)``, with ``h`` the map scaled to [0, 1] by its
    own minimum and maximum (per image, as tf-explain). A constant map (e.g. an all-zero CAM)
    scales to zeros instead of dividing by zero. Uses matplotlib colormaps, so no OpenCV.

    Args:
        heatmap: CAM ``(H, W)`` / ``(N, H, W)`` or pixel map ``(H, W, C)`` / ``(N, H, W, C)``
            (channels reduced with ``reduce``); numpy or tf. Resized (bilinear) to the image
            size when smaller, e.g. Grad-CAM with ``upsample=False``.
        image: the image(s), ``(H, W, C)`` or ``(N, H, W, C)``; see ``deprocess``.
        cmap: a matplotlib colormap name or object. Default ``"jet"`` (the Grad-CAM papers).
        alpha: weight of the heat map, in [0, 1]; 0 returns the image itself.
        reduce: channel reduction for pixel maps (see :func:`tfattr.viz.reduce_channels`).
        deprocess: how to turn a preprocessed image back into RGB (a mode name such as
            ``"caffe"``/``"tf"``, a function, or a ModelSpec); None if it is in [0, 1]/[0, 255].
        spec: a ModelSpec-like object giving ``deprocess`` (alternative to ``deprocess``).

    Returns:
        uint8 RGB, ``(H, W, 3)`` for one image or ``(N, H, W, 3)`` for a batch.

    Example:
        >>> cam = tfattr.GradCAM(model).explain(x, target=3)       # (2, 32, 32)
        >>> picture = tfattr.viz.overlay(cam[0], photo, alpha=0.4)
        >>> picture.shape, picture.dtype.name
        ((32, 32, 3), 'uint8')
        >>> tfattr.viz.save(picture, "cam.png").name
        'cam.png'
    """
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha: expected a number in [0, 1], got {alpha!r}.")
    rgb = as_images(image, deprocess, spec)
    maps, single = as_maps(heatmap, image_shape=tuple(np.shape(image)))
    rgb, maps = broadcast_pair(rgb, maps)
    values = reduce_channels(resize_maps(maps, rgb.shape[1:3]), reduce)
    low = values.min(axis=(1, 2), keepdims=True)
    span = values.max(axis=(1, 2), keepdims=True) - low
    unit = np.divide(values - low, span, out=np.zeros_like(values), where=span > 0)
    colormap = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    blended = (1.0 - alpha) * rgb + alpha * np.asarray(colormap(unit))[..., :3]
    out = np.clip(np.rint(blended * 255.0), 0, 255).astype(np.uint8)
    return out[0] if single and len(np.shape(image)) <= 3 else out


def panel_style(values, rgb, style, kind: str, **options) -> Style:
    """The resolved :class:`~tfattr.viz.styles.Style` of one panel: ``style`` itself when it is
    one, else the style named ``style`` for a map of this ``kind`` and sign (``options``: the
    drawing options of :func:`tfattr.viz.styles.resolve_style`, None for the style's default)."""
    if isinstance(style, Style):
        return style
    signed = bool(np.size(values) and np.min(values) < 0)
    return resolve_style(style, kind, signed=signed, has_image=rgb is not None, **options)


def render(
    values,
    rgb=None,
    method: str | None = None,
    sign: str | None = None,
    outlier_perc: float | None = None,
    clip: str | None = None,
    cmap=None,
    alpha: float | None = None,
    scale: float | None = None,
    *,
    style: str | Style = "auto",
    kind: str = "pixel",
    scaling: str | None = None,
    background: str | None = None,
    opacity: str | None = None,
) -> tuple[np.ndarray, float]:
    """One panel of :func:`tfattr.viz.visualize` as pixels, without a figure (for reports).

    Args:
        values: one reduced map ``(H, W)`` (see :func:`tfattr.viz.reduce_channels`).
        rgb: the image as float RGB in [0, 1], ``(H, W, 3)`` (:func:`tfattr.viz.as_images`);
            needed by every method but ``heat_map``.
        method, sign, outlier_perc, clip, cmap, alpha, scale: as in :func:`tfattr.viz.visualize`;
            None takes the style's default.
        style: ``"auto"`` (by ``kind``), ``"region"``, ``"pixel"``, ``"captum"``, or a resolved
            :class:`tfattr.viz.styles.Style` (then the other drawing options are ignored).
        kind: ``"region"`` or ``"pixel"`` (:func:`tfattr.viz.map_kind`), for ``style="auto"``.
        scaling, background, opacity: see :class:`tfattr.viz.styles.Style`.

    Returns:
        ``(pixels, scale)``: uint8 ``(H, W, 3)`` (``alpha_scaling``: ``(H, W, 4)``) and the
        threshold that maps to full colour (``minmax`` scaling: the map's range); 0.0 for a map
        with nothing to show.

    Example:
        >>> values = np.asarray(cam[0])                             # one Grad-CAM (32, 32)
        >>> pixels, scale = tfattr.viz.render(values, photo / 255, kind="region")
        >>> pixels.shape, pixels.dtype.name, scale == float(values.max() - values.min())
        ((32, 32, 3), 'uint8', True)
    """
    values = np.asarray(values, np.float64)
    style = panel_style(
        values,
        rgb,
        style,
        kind,
        method=method,
        sign=sign,
        outlier_perc=outlier_perc,
        clip=clip,
        cmap=cmap,
        alpha=alpha,
        scaling=scaling,
        background=background,
        opacity=opacity,
    )
    check_choice(style.method, "method", METHODS)
    check_choice(style.sign, "sign", SIGNS)
    if style.method in ("masked_image", "alpha_scaling") and style.sign == "all":
        raise ValueError(
            f"method={style.method!r} needs one sign (positive, negative or absolute_value): a "
            f"mask cannot show positive and negative attributions at once (as in Captum)."
        )
    if rgb is None and style.method != "heat_map":
        raise ValueError(f"method={style.method!r} needs the image; pass image=...")
    norm, scale = scale_values(
        values, style.sign, style.scaling, style.outlier_perc, style.clip, scale
    )
    if style.method == "original_image":
        return to_uint8(rgb), scale
    if style.method == "masked_image":
        return to_uint8(rgb * norm[..., None]), scale
    if style.method == "alpha_scaling":
        return to_uint8(np.concatenate([rgb, norm[..., None]], axis=-1)), scale
    colours = np.asarray(colormap_of(style)(colour_position(norm, style)))[..., :3]
    if style.method == "blended_heat_map":
        opacity = style.alpha * (
            value_opacity(norm)[..., None] if style.opacity == "value" else 1.0
        )
        colours = (1 - opacity) * background_of(rgb, style.background) + opacity * colours
    return to_uint8(colours), scale


def value_opacity(norm: np.ndarray) -> np.ndarray:
    """Opacity that follows a scaled value: 0 at 0, full from half of full colour up.

    Pixel maps are sparse: opacity proportional to the value hides all but the few largest
    pixels, while full opacity everywhere would hide the photo.
    """
    return np.minimum(1.0, 2.0 * np.abs(norm))


def colormap_of(style: Style):
    """The matplotlib colormap object of a style."""
    chosen = style.cmap
    if chosen is None:
        chosen = DEFAULT_CMAPS[style.sign]
    return matplotlib.colormaps[chosen] if isinstance(chosen, str) else chosen


def colour_position(norm: np.ndarray, style: Style) -> np.ndarray:
    """Where scaled values fall on the colour map, in [0, 1] (signed maps: 0 at the middle)."""
    if style.sign == "all" and style.scaling == "outliers":
        return (norm + 1.0) / 2.0
    return norm


def background_of(rgb: np.ndarray, background: str) -> np.ndarray:
    """The photo under a blended map: grey, in colour, or darkened grey."""
    if background == "colour":
        return rgb
    grey = np.repeat(rgb.mean(axis=-1, keepdims=True), 3, axis=-1)
    return grey * DARK_BACKGROUND if background == "dark" else grey


def to_uint8(array) -> np.ndarray:
    """An image array as uint8: float in [0, 1] is scaled by 255, other values are clipped.

    Args:
        array: an image array, numpy or tf.

    Returns:
        The uint8 array, same shape.

    Example:
        >>> tfattr.viz.to_uint8(np.array([0.0, 0.5, 1.0])).tolist()
        [0, 128, 255]
        >>> tfattr.viz.to_uint8(np.array([-5.0, 300.0])).tolist()      # not in [0, 1]: clipped
        [0, 255]
    """
    array = np.asarray(array.numpy() if hasattr(array, "numpy") else array)
    if array.dtype == np.uint8:
        return array
    if np.issubdtype(array.dtype, np.floating) and array.size and float(np.nanmax(array)) <= 1.0:
        array = array * 255.0
    return np.clip(np.rint(array), 0, 255).astype(np.uint8)


def figure_to_array(fig: Figure, dpi: float | None = None) -> np.ndarray:
    """Renders a figure to uint8 RGB ``(H, W, 3)``, with any backend (via an in-memory PNG).

    Args:
        fig: a matplotlib Figure.
        dpi: resolution (default: the figure's own).

    Returns:
        uint8 ``(H, W, 3)``: ``figsize`` inches times ``dpi`` pixels.

    Example:
        >>> fig, ax = tfattr.viz.visualize(attr[0], x[0], figsize=(2, 2))
        >>> tfattr.viz.figure_to_array(fig, dpi=50).shape
        (100, 100, 3)
    """
    rgba = matplotlib.image.imread(io.BytesIO(png_bytes(fig, dpi=dpi)), format="png")
    return to_uint8(rgba[..., :3])


def png_bytes(fig_or_array, dpi: float | None = None) -> bytes:
    """PNG encoding of a figure (or ``(fig, ax)`` tuple) or of an image array.

    Args:
        fig_or_array: a matplotlib Figure, a ``(fig, ax)`` pair, or one image ``(H, W)`` /
            ``(H, W, 3|4)`` (uint8, or float in [0, 1]).
        dpi: resolution for figures (default: the figure's own).

    Returns:
        The PNG file's bytes.

    Example:
        >>> data = tfattr.viz.png_bytes(tfattr.viz.overlay(cam[0], photo))
        >>> data[:4]
        b'\\x89PNG'
    """
    fig = _figure_of(fig_or_array)
    buffer = io.BytesIO()
    if fig is not None:
        fig.savefig(buffer, format="png", dpi=dpi if dpi is not None else fig.dpi)
    else:
        array = to_uint8(fig_or_array)
        if array.ndim == 3 and array.shape[-1] == 1:
            array = array[..., 0]
        if array.ndim not in (2, 3):
            raise ValueError(
                f"save: expected one image (H, W) or (H, W, 3|4), got shape {array.shape}; "
                f"save the images of a batch one by one."
            )
        # Pillow (a matplotlib dependency) keeps RGB as RGB; matplotlib's imsave adds alpha.
        from PIL import Image

        Image.fromarray(array).save(buffer, format="png")
    return buffer.getvalue()


def save(fig_or_array, path, dpi: float | None = None) -> pathlib.Path:
    """Writes a figure, a ``(fig, ax)`` pair or an image array to a PNG (or any matplotlib format).

    Figures keep their size: a ``figsize`` of (w, h) inches at ``dpi`` gives ``w*dpi x h*dpi``
    pixels. Arrays are written pixel for pixel (float in [0, 1] or uint8). Parent folders are
    created.

    Args:
        fig_or_array: a matplotlib Figure, what :func:`visualize` returns, or an image array.
        path: destination file; the extension picks the format for figures (arrays: PNG).
        dpi: resolution for figures (default: the figure's own).

    Returns:
        The path written.

    Example:
        >>> path = tfattr.viz.save(tfattr.viz.visualize(attr[0], x[0]), "figures/attr.png")
        >>> path.as_posix(), path.stat().st_size > 0
        ('figures/attr.png', True)
    """

    path = pathlib.Path(os.fspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig = _figure_of(fig_or_array)
    if fig is not None and path.suffix.lower() not in ("", ".png"):
        fig.savefig(path, dpi=dpi if dpi is not None else fig.dpi)
    else:
        path.write_bytes(png_bytes(fig_or_array, dpi=dpi))
    return path


def _figure_of(value) -> Figure | None:
    if isinstance(value, Figure):
        return value
    if isinstance(value, tuple) and value and isinstance(value[0], Figure):
        return value[0]
    return None
