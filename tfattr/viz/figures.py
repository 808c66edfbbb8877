"""Captum-style figures: one map, several methods side by side, method comparison grids, and the
four-panel figure of the TensorFlow Integrated Gradients tutorial.

All functions return ``(fig, axes)`` and never call ``plt.show()`` unless ``show=True``, so they
work with non-interactive backends (Agg) in scripts, tests and training callbacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from tfattr.viz.arrays import (
    CLIP_MODES,
    SIGNS,
    as_images,
    as_maps,
    check_choice,
    normalize,
    outlier_threshold,
    reduce_channels,
    resize_maps,
    select_sign,
)
from tfattr.viz.images import broadcast_pair

METHODS = ("heat_map", "blended_heat_map", "original_image", "masked_image", "alpha_scaling")
# Captum's default colour maps per sign: red-white-green for signed maps, one hue otherwise.
DIVERGING = LinearSegmentedColormap.from_list("RdWhGn", ["red", "white", "green"])
DEFAULT_CMAPS = {
    "all": DIVERGING,
    "positive": "Greens",
    "negative": "Reds",
    "absolute_value": "Blues",
}
PANEL_INCHES = 3.0
_NOTHING = {
    "all": "all attributions are zero",
    "absolute_value": "all attributions are zero",
    "positive": "no positive attributions",
    "negative": "no negative attributions",
}


# ------------------------------------------------------------------------------------------------
# Public figures


def visualize(
    attr,
    image=None,
    method: str = "heat_map",
    sign: str = "absolute_value",
    outlier_perc: float = 2,
    cmap=None,
    alpha: float = 0.5,
    colorbar: bool = True,
    title: str | None = None,
    ax=None,
    *,
    reduce: str = "sum",
    clip: str = "mass",
    scale: float | None = None,
    deprocess=None,
    spec=None,
    figsize: tuple[float, float] | None = None,
    use_pyplot: bool = True,
    show: bool = False,
):
    """Draws an attribution map the way Captum's ``visualize_image_attr`` does.

    The map is reduced to one value per pixel (``reduce``; Captum sums the channels), the part
    chosen by ``sign`` is kept, and it is divided by a threshold that leaves ``outlier_perc`` % of
    the attribution mass above full colour (``clip="mass"``, Captum's rule; ``clip="value"``
    uses the plain percentile). Methods:

    - ``heat_map``: the map alone (``sign="all"``: red-white-green centred on 0).
    - ``blended_heat_map``: the map with transparency ``alpha`` over the grey-scale image.
    - ``original_image``: the image.
    - ``masked_image``: the image times the normalised map (not for ``sign="all"``).
    - ``alpha_scaling``: the image with the normalised map as its opacity (not for ``"all"``).

    A map with nothing to show (all zero, or no values of the chosen sign) is drawn blank with a
    note instead of dividing by zero; NaN or infinite values raise ValueError.

    Args:
        attr: pixel map ``(H, W, C)`` / ``(N, H, W, C)`` or CAM map ``(H, W)`` / ``(N, H, W)``;
            numpy or tf. CAM maps smaller than the image are resized (bilinear).
        image: the image(s) ``(H, W, C)`` / ``(N, H, W, C)`` (one image may serve N maps);
            optional for ``heat_map``. In [0, 1] or [0, 255] unless ``deprocess``/``spec`` says
            how to undo the model's preprocessing.
        method: one of the methods above.
        sign: ``"all"``, ``"positive"``, ``"negative"`` or ``"absolute_value"`` (default, as
            Captum).
        outlier_perc: percentage of attribution mass clipped to full colour. Default 2.
        cmap: colour map for the heat map (default: Captum's for the sign).
        alpha: opacity of the heat map in ``blended_heat_map``.
        colorbar: draw a colour bar (in attribution units) beside heat maps.
        title: panel title (for a batch: one string per image, or one for all).
        ax: draw into this Axes (a sequence of N Axes for a batch); default: a new figure.
        reduce: channel reduction: ``"sum"`` (Captum), ``"mean"``, ``"max_abs"`` (max of
            ``|a|`` over channels, for saliency as in Simonyan et al.) or ``"abs_sum"``.
        clip: ``"mass"`` (Captum) or ``"value"`` (percentile of the values).
        scale: a fixed threshold (full colour) instead of the one computed from this map.
        deprocess: undo the model's preprocessing for display: ``"caffe"``, ``"tf"``,
            ``"torch"``, ``"unit"``, a function, or a ModelSpec.
        spec: a ModelSpec-like object (with ``deprocess`` or ``preprocessing``).
        figsize: figure size in inches when a new figure is made.
        use_pyplot: create the figure with pyplot (shows in notebooks); False gives a detached
            ``Figure`` (for callbacks and servers: nothing global to close).
        show: call ``plt.show()`` at the end.

    Returns:
        ``(fig, ax)`` for one image, ``(fig, axes)`` (a 1-D array) for a batch.

    Example:
        >>> attr = tfattr.IntegratedGradients(model).explain(x, target=3)
        >>> fig, ax = tfattr.viz.visualize(attr, x, method="blended_heat_map", sign="all",
        ...                                deprocess="tf")
    """
    check_choice(method, "method", METHODS)
    check_choice(sign, "sign", SIGNS)
    check_choice(clip, "clip", CLIP_MODES)
    rgb, values, single = _prepare(attr, image, reduce, deprocess, spec, need_image=method)
    n = values.shape[0]
    fig, axes = _axes_for(ax, 1, n, figsize, use_pyplot)
    titles = _per_image(title, n, "title")
    for i in range(n):
        draw(
            axes[0, i],
            values[i],
            None if rgb is None else rgb[i],
            method=method,
            sign=sign,
            outlier_perc=outlier_perc,
            clip=clip,
            cmap=cmap,
            alpha=alpha,
            colorbar=colorbar,
            title=titles[i],
            scale=scale,
        )
    _finish(show)
    return fig, (axes[0, 0] if single else axes[0])


def visualize_multiple(
    attr,
    image,
    methods: Sequence[str] = ("original_image", "heat_map"),
    signs: str | Sequence[str] = "absolute_value",
    titles: Sequence[str] | None = None,
    outlier_perc: float = 2,
    *,
    cmap=None,
    alpha: float = 0.5,
    colorbar: bool = True,
    reduce: str = "sum",
    clip: str = "mass",
    deprocess=None,
    spec=None,
    figsize: tuple[float, float] | None = None,
    use_pyplot: bool = True,
    show: bool = False,
):
    """One attribution shown with several methods side by side (Captum's
    ``visualize_image_attr_multiple``); a batch gives one row per image.

    Args:
        attr: the attribution map(s), as in :func:`visualize`.
        image: the image(s), as in :func:`visualize`.
        methods: the methods, one column each.
        signs: one sign for all columns, or one per method.
        titles: column titles (default: ``"<method> (<sign>)"``).
        outlier_perc, cmap, alpha, colorbar, reduce, clip, deprocess, spec, figsize,
            use_pyplot, show: as in :func:`visualize`.

    Returns:
        ``(fig, axes)`` with axes of shape ``(rows, len(methods))``.

    Example:
        >>> tfattr.viz.visualize_multiple(attr, photo, ["original_image", "heat_map",
        ...     "masked_image"], ["all", "all", "positive"])
    """
    methods = list(methods)
    for method in methods:
        check_choice(method, "methods", METHODS)
    signs = [signs] * len(methods) if isinstance(signs, str) else list(signs)
    if len(signs) != len(methods):
        raise ValueError(f"signs: expected one sign per method ({len(methods)}), got {signs}.")
    for sign in signs:
        check_choice(sign, "signs", SIGNS)
    if titles is not None and len(titles) != len(methods):
        raise ValueError(f"titles: expected one title per method ({len(methods)}), got {titles}.")
    rgb, values, _ = _prepare(attr, image, reduce, deprocess, spec, need_image=True)
    n = values.shape[0]
    fig, axes = _axes_for(None, n, len(methods), figsize, use_pyplot)
    for row in range(n):
        for col, (method, sign) in enumerate(zip(methods, signs, strict=True)):
            label = titles[col] if titles is not None else f"{method} ({sign})"
            draw(
                axes[row, col],
                values[row],
                rgb[row],
                method=method,
                sign=sign,
                outlier_perc=outlier_perc,
                clip=clip,
                cmap=cmap,
                alpha=alpha,
                colorbar=colorbar,
                title=label if row == 0 else None,
            )
    _finish(show)
    return fig, axes


def compare(
    image,
    attributions: Mapping[str, object],
    method: str = "heat_map",
    sign: str = "absolute_value",
    outlier_perc: float = 2,
    shared_scale: bool | str = False,
    *,
    show_image: bool = True,
    row_titles: Sequence[str] | None = None,
    reduce: str | Mapping[str, str] = "sum",
    clip: str = "mass",
    cmap=None,
    alpha: float = 0.5,
    colorbar: bool = True,
    deprocess=None,
    spec=None,
    figsize: tuple[float, float] | None = None,
    use_pyplot: bool = True,
    show: bool = False,
):
    """A grid comparing methods: one row per image, one column per method.

    Each map is normalised on its own (Captum's default) unless ``shared_scale`` is set: then
    the columns of a row (``True``/``"row"``) or the whole grid (``"all"``) share one threshold,
    so equal attribution values get equal colours across panels. This only makes sense when the
    methods' attributions have comparable units (e.g. IG and GradientShap, both in units of the
    score).

    Args:
        image: the image(s) ``(H, W, C)`` or ``(N, H, W, C)``.
        attributions: ``{"Saliency": a, "IG": b, ...}``; each a batch matching the images, or a
            single map for a single image (pixel maps and CAM maps may be mixed).
        method: a :func:`visualize` method used for every panel.
        sign: a :func:`visualize` sign.
        outlier_perc: as in :func:`visualize`.
        shared_scale: False (default), True/``"row"`` or ``"all"`` (see above).
        show_image: add a first column with the image.
        row_titles: a label per row (e.g. ``"label: 207, predicted: 208"``).
        reduce: channel reduction for all methods, or a dict per method name (e.g.
            ``{"Saliency": "max_abs"}``; unnamed methods use ``"sum"``).
        clip, cmap, alpha, colorbar, deprocess, spec, figsize, use_pyplot, show: as in
            :func:`visualize`. With a shared scale there is one colour bar per row (or grid).

    Returns:
        ``(fig, axes)``, axes of shape ``(rows, columns)``.

    Example:
        >>> tfattr.viz.compare(photos, {"Saliency": s, "IG": ig}, sign="all", shared_scale=True,
        ...                    reduce={"Saliency": "max_abs"})
    """
    check_choice(method, "method", METHODS)
    check_choice(sign, "sign", SIGNS)
    check_choice(clip, "clip", CLIP_MODES)
    if shared_scale not in (False, True, "row", "all"):
        raise ValueError(
            f"shared_scale: expected False, True, 'row' or 'all', got {shared_scale!r}."
        )
    if not isinstance(attributions, Mapping) or not attributions:
        raise TypeError("attributions: expected a non-empty dict {method name: attribution}.")
    names = list(attributions)
    rgb = as_images(image, deprocess, spec)
    n = rgb.shape[0]
    columns = {}
    for name in names:
        how = reduce.get(name, "sum") if isinstance(reduce, Mapping) else reduce
        values = _values_for(
            attributions[name], rgb, tuple(np.shape(image)), how, f"attributions[{name!r}]"
        )
        if values.shape[0] != n:
            raise ValueError(
                f"attributions[{name!r}]: {values.shape[0]} maps for {n} images; give one map "
                f"per image."
            )
        columns[name] = values
    scales = _shared_scales(columns, n, sign, outlier_perc, clip, shared_scale)
    offset = 1 if show_image else 0
    fig, axes = _axes_for(None, n, len(names) + offset, figsize, use_pyplot)
    for row in range(n):
        if show_image:
            axes[row, 0].imshow(rgb[row], interpolation="nearest")
            _tidy(axes[row, 0], "image" if row == 0 else None)
        for col, name in enumerate(names):
            image_artist = draw(
                axes[row, col + offset],
                columns[name][row],
                rgb[row],
                method=method,
                sign=sign,
                outlier_perc=outlier_perc,
                clip=clip,
                cmap=cmap,
                alpha=alpha,
                colorbar=colorbar and scales is None,
                title=name if row == 0 else None,
                scale=None if scales is None else scales[row],
            )
        if colorbar and scales is not None and image_artist is not None:
            if shared_scale == "all" and row < n - 1:
                continue  # one bar for the whole grid, beside the last row's panels
            targets = axes[:, offset:] if shared_scale == "all" else axes[row, offset:]
            fig.colorbar(image_artist, ax=list(np.ravel(targets)), shrink=0.8)
        if row_titles is not None:
            axes[row, 0].set_ylabel(str(row_titles[row]), fontsize=8)
    _finish(show)
    return fig, axes


def plot_img_attributions(
    image,
    attr,
    baseline=None,
    cmap="inferno",
    overlay_alpha: float = 0.4,
    *,
    reduce: str = "abs_sum",
    deprocess=None,
    spec=None,
    figsize: tuple[float, float] | None = None,
    use_pyplot: bool = True,
    show: bool = False,
):
    """The four-panel figure of the TensorFlow Integrated Gradients tutorial.

    Baseline image, original image, attribution mask (``reduce_sum(|attr|, -1)``, colour-mapped
    between its own minimum and maximum) and the mask with the image over it at
    ``overlay_alpha``. One image gives a 2x2 grid; a batch gives one row of four per image.

    Args:
        image: the image(s) ``(H, W, C)`` / ``(N, H, W, C)`` (model scale, with ``deprocess``).
        attr: their attributions (pixel or CAM maps).
        baseline: the IG baseline in the same scale as ``image`` (default: black).
        cmap: colour map of the mask (the tutorial uses inferno).
        overlay_alpha: opacity of the image in the overlay panel.
        reduce: channel reduction of the mask (default ``"abs_sum"``, as the tutorial).
        deprocess, spec, figsize, use_pyplot, show: as in :func:`visualize`.

    Returns:
        ``(fig, axes)``: axes ``(2, 2)`` for one image, ``(N, 4)`` for a batch.

    Example:
        >>> attr = tfattr.IntegratedGradients(model, steps=241).explain(x, target=555)
        >>> fig, axes = tfattr.viz.plot_img_attributions(x, attr)
    """
    rgb, values, single = _prepare(attr, image, reduce, deprocess, spec, need_image=True)
    n = values.shape[0]
    if baseline is None:
        base = np.zeros_like(rgb)
    else:
        base = as_images(baseline, deprocess, spec, name="baseline")
        base = np.broadcast_to(base, rgb.shape) if base.shape[0] == 1 else base
    rows, cols = (2, 2) if single else (n, 4)
    fig, axes = _axes_for(None, rows, cols, figsize, use_pyplot)
    panels = axes.reshape(n, 4)
    for i in range(n):
        mask = values[i]
        top = i == 0
        panels[i, 0].imshow(base[i], interpolation="nearest")
        _tidy(panels[i, 0], "Baseline image" if top else None)
        panels[i, 1].imshow(rgb[i], interpolation="nearest")
        _tidy(panels[i, 1], "Original image" if top else None)
        constant = np.ptp(mask) == 0
        for ax, title in ((panels[i, 2], "Attribution mask"), (panels[i, 3], "Overlay")):
            ax.imshow(mask, cmap=cmap, interpolation="nearest")
            _tidy(ax, title if top else None)
            if constant:
                _note(ax, _NOTHING["all"] if mask.flat[0] == 0 else "constant map")
        panels[i, 3].imshow(rgb[i], alpha=overlay_alpha, interpolation="nearest")
    _finish(show)
    return fig, axes


# ------------------------------------------------------------------------------------------------
# One panel


def draw(
    ax,
    values: np.ndarray,
    rgb: np.ndarray | None,
    method: str = "heat_map",
    sign: str = "absolute_value",
    outlier_perc: float = 2,
    clip: str = "mass",
    cmap=None,
    alpha: float = 0.5,
    colorbar: bool = True,
    title: str | None = None,
    scale: float | None = None,
):
    """Draws one reduced map ``(H, W)`` into ``ax``; returns the heat-map artist (or None).

    The building block of the figures above, for custom layouts. ``rgb`` is the image as float
    RGB in [0, 1] (``tfattr.viz.as_images(...)[0]``), or None for a bare heat map.
    """
    check_choice(method, "method", METHODS)
    check_choice(sign, "sign", SIGNS)
    if method in ("masked_image", "alpha_scaling") and sign == "all":
        raise ValueError(
            f"method={method!r} needs one sign (positive, negative or absolute_value): a mask "
            f"cannot show positive and negative attributions at once (as in Captum)."
        )
    if rgb is None and method != "heat_map":
        raise ValueError(f"method={method!r} needs the image; pass image=...")
    _tidy(ax, title)
    if method == "original_image":
        ax.imshow(rgb, interpolation="nearest")
        return None
    shown = select_sign(values, sign)
    if scale is None:
        scale = outlier_threshold(shown, outlier_perc, clip)
    note = _empty_note(values, shown, sign, scale)
    if method in ("masked_image", "alpha_scaling"):
        norm, _ = normalize(values, sign, scale=scale)
        if method == "masked_image":
            ax.imshow(rgb * norm[..., None], interpolation="nearest")
        else:
            ax.imshow(np.concatenate([rgb, norm[..., None]], axis=-1), interpolation="nearest")
        if note:
            _note(ax, note)
        return None
    if method == "blended_heat_map":
        ax.imshow(rgb.mean(axis=-1), cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    limit = scale if scale > 0 else 1.0  # blank map: any positive limit draws the zero colour
    artist = ax.imshow(
        shown,
        cmap=_cmap(cmap, sign),
        vmin=-limit if sign == "all" else 0.0,
        vmax=limit,
        alpha=alpha if method == "blended_heat_map" else None,
        interpolation="nearest",
    )
    if colorbar and scale > 0:  # a blank map has no scale to show
        bar = ax.figure.colorbar(artist, ax=ax, fraction=0.046, pad=0.04)
        bar.ax.tick_params(labelsize=7)
    if note:
        _note(ax, note)
    return artist


# ------------------------------------------------------------------------------------------------
# Helpers


def _prepare(attr, image, reduce, deprocess, spec, need_image):
    """(rgb (N, H, W, 3) or None, reduced maps (N, H, W), single) from user arrays."""
    if image is None:
        if need_image is True or need_image not in (None, "heat_map"):
            raise ValueError("image: this figure needs the image; pass image=...")
        maps, single = as_maps(attr)
        return None, reduce_channels(maps, reduce), single
    rgb = as_images(image, deprocess, spec)
    image_rank = len(np.shape(image))
    maps, single = as_maps(attr, image_shape=tuple(np.shape(image)))
    rgb, maps = broadcast_pair(rgb, maps)
    values = reduce_channels(resize_maps(maps, rgb.shape[1:3]), reduce)
    return rgb, values, single and image_rank <= 3


def _values_for(attr, rgb, image_shape, reduce, name):
    """Reduced maps (N, H, W) of one method, resized to the images."""
    maps, _ = as_maps(attr, image_shape=image_shape, name=name)
    _, maps = broadcast_pair(rgb, maps)
    return reduce_channels(resize_maps(maps, rgb.shape[1:3]), reduce)


def _shared_scales(columns, n, sign, outlier_perc, clip, shared_scale):
    """One threshold per row (or one for all rows) over all methods' maps, or None."""
    if shared_scale is False:
        return None
    if shared_scale == "all":
        pooled = np.concatenate([select_sign(v, sign).ravel() for v in columns.values()])
        return [outlier_threshold(pooled, outlier_perc, clip)] * n
    return [
        outlier_threshold(
            np.concatenate([select_sign(v[row], sign).ravel() for v in columns.values()]),
            outlier_perc,
            clip,
        )
        for row in range(n)
    ]


def _empty_note(values, shown, sign, scale) -> str | None:
    if scale <= 0 or not np.any(shown):
        return _NOTHING[sign]
    if np.ptp(values) == 0:
        return f"constant map ({values.flat[0]:.3g})"
    return None


def _cmap(cmap, sign):
    chosen = DEFAULT_CMAPS[sign] if cmap is None else cmap
    return matplotlib.colormaps[chosen] if isinstance(chosen, str) else chosen


def _note(ax, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=8,
        bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "grey"},
    )


def _tidy(ax, title) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(str(title), fontsize=9)


def _per_image(title, n, name):
    if title is None or isinstance(title, str):
        return [title] * n
    titles = list(title)
    if len(titles) != n:
        raise ValueError(f"{name}: expected one title per image ({n}), got {len(titles)}.")
    return titles


def _axes_for(ax, rows, cols, figsize, use_pyplot):
    """(fig, 2-D array of Axes): the given Axes, or a new figure in constrained layout."""
    if ax is not None:
        given = np.array(ax, dtype=object).reshape(-1)
        if given.size != rows * cols:
            raise ValueError(f"ax: {rows * cols} panels to draw but {given.size} Axes given.")
        return given[0].figure, given.reshape(rows, cols)
    size = figsize or (PANEL_INCHES * cols + (0.6 if cols else 0), PANEL_INCHES * rows)
    if use_pyplot:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=size, layout="constrained")
    else:
        fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def _finish(show: bool) -> None:
    if show:
        import matplotlib.pyplot as plt

        plt.show()


def new_figure(
    rows: int, cols: int, figsize=None, use_pyplot: bool = True
) -> tuple[Figure, np.ndarray]:
    """A figure with a ``rows x cols`` grid of Axes (2-D array), as the figures above make."""
    return _axes_for(None, rows, cols, figsize, use_pyplot)
