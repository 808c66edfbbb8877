"""Captum-style figures: one map, several methods side by side, method comparison grids, and the
four-panel figure of the TensorFlow Integrated Gradients tutorial.

All functions return ``(fig, axes)`` and never call ``plt.show()`` unless ``show=True``, so they
work with non-interactive backends (Agg) in scripts, tests and training callbacks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from tfattr.viz.arrays import (
    CLIP_MODES,
    SIGNS,
    as_images,
    as_maps,
    broadcast_pair,
    check_choice,
    outlier_threshold,
    reduce_channels,
    resize_maps,
    select_sign,
)
from tfattr.viz.images import colormap_of, panel_style, render
from tfattr.viz.styles import (
    DEFAULT_CMAPS,
    DIVERGING,
    METHODS,
    STYLES,
    UNIT_LABELS,
    Style,
    map_kind,
    resolve_style,
    units_of,
)

__all__ = ["DEFAULT_CMAPS", "DIVERGING", "METHODS"]  # re-exported for older imports

PANEL_INCHES = 3.0
GRID_PANEL_INCHES = 2.0  # panels of compare(): 8 columns at 80 dpi fit a 1280 px page
MAX_COLUMNS = 8
TITLE_CHARACTERS = 20  # per title line at GRID_PANEL_INCHES and fontsize 9
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
    method: str | None = None,
    sign: str | None = None,
    outlier_perc: float | None = None,
    cmap=None,
    alpha: float | None = None,
    colorbar: bool = True,
    title: str | None = None,
    ax=None,
    *,
    style: str = "auto",
    kind: str | None = None,
    name: str | None = None,
    reduce: str = "sum",
    clip: str | None = None,
    scale: float | None = None,
    scaling: str | None = None,
    background: str | None = None,
    opacity: str | None = None,
    deprocess=None,
    spec=None,
    figsize: tuple[float, float] | None = None,
    use_pyplot: bool = True,
    show: bool = False,
):
    """Draws an attribution map, by default the way its kind of map is best read.

    The map is reduced to one value per pixel (``reduce``; Captum sums the channels), the part
    chosen by ``sign`` is kept and scaled for colouring. With ``style="auto"`` (default) the
    choices follow the kind of map (:mod:`tfattr.viz.styles`):

    - region maps (Grad-CAM, Score-CAM, RISE, Occlusion, XRAI, LIME, ...): scaled from their
      own minimum to maximum, ``jet``, blended over the photo (the Keras Grad-CAM example);
    - pixel maps (gradients, IG, DeepLift, LRP, ...): the top ``outlier_perc`` = 1 % of
      magnitudes clipped, signed maps in a diverging map (warm: for the class, cool: against),
      magnitudes in ``inferno``, over a darkened grey photo, opacity following the value.

    ``style="captum"`` draws as Captum's ``visualize_image_attr``. Every Captum method and sign
    can be chosen with any style:

    - ``heat_map``: the map alone.
    - ``blended_heat_map``: the map over the image.
    - ``original_image``: the image.
    - ``masked_image``: the image times the normalised map (not for ``sign="all"``).
    - ``alpha_scaling``: the image with the normalised map as its opacity (not for ``"all"``).

    A map with nothing to show (all zero, constant, or no values of the chosen sign) is drawn
    blank with a note instead of dividing by zero; NaN or infinite values raise ValueError.

    Args:
        attr: pixel map ``(H, W, C)`` / ``(N, H, W, C)`` or CAM map ``(H, W)`` / ``(N, H, W)``;
            numpy or tf. CAM maps smaller than the image are resized (bilinear).
        image: the image(s) ``(H, W, C)`` / ``(N, H, W, C)`` (one image may serve N maps);
            optional for ``heat_map``. In [0, 1] or [0, 255] unless ``deprocess``/``spec`` says
            how to undo the model's preprocessing.
        method: one of the methods above (default: ``blended_heat_map`` with an image,
            ``heat_map`` without; ``style="captum"``: ``heat_map``).
        sign: ``"all"``, ``"positive"``, ``"negative"`` or ``"absolute_value"`` (default: pixel
            maps ``all`` when they have negative values, region maps ``positive``, Captum
            ``absolute_value``).
        outlier_perc: percentage clipped to full colour (pixel maps 1, Captum 2).
        cmap: colour map (default: the style's for the sign).
        alpha: opacity of the heat map in ``blended_heat_map`` (pixel maps: the largest).
        colorbar: draw a colour bar (in attribution units) beside pixel heat maps; region maps,
            scaled to their own range, get none.
        title: panel title (for a batch: one string per image, or one for all).
        ax: draw into this Axes (a sequence of N Axes for a batch); default: a new figure.
        style: ``"auto"``, ``"region"``, ``"pixel"`` or ``"captum"``.
        kind: ``"region"`` or ``"pixel"`` to override the detected kind (``style="auto"``).
        name: the method's name (e.g. ``"gradcam"``), which tells the kind of map.
        reduce: channel reduction: ``"sum"`` (Captum), ``"mean"``, ``"max_abs"`` (max of
            ``|a|`` over channels, for saliency as in Simonyan et al.) or ``"abs_sum"``.
        clip: ``"mass"`` (Captum) or ``"value"`` (percentile of the magnitudes).
        scale: a fixed threshold (full colour) instead of the one computed from this map.
        scaling, background, opacity: see :class:`tfattr.viz.styles.Style`.
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
        >>> inputs = spec.preprocess(photos)                    # what the model sees
        >>> ig = tfattr.IntegratedGradients(model, steps=16).explain(inputs, target=3)
        >>> fig, axes = tfattr.viz.visualize(ig, inputs, spec=spec)   # undo the preprocessing
        >>> axes.shape                                          # one panel per image
        (2,)
        >>> fig, ax = tfattr.viz.visualize(cam[0], photo, name="gradcam")
    """
    _check_options(method, sign, clip, style)
    need = method if method is not None else ("heat_map" if image is None else None)
    rgb, values, single, detected = _prepare(attr, image, reduce, deprocess, spec, need, name)
    n = values.shape[0]
    fig, axes = _axes_for(ax, 1, n, figsize, use_pyplot)
    titles = _per_image(title, n, "title")
    chosen = _style_for(
        style,
        kind or detected,
        values,
        rgb is not None,
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
    for i in range(n):
        draw(
            axes[0, i],
            values[i],
            None if rgb is None else rgb[i],
            style=chosen,
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
    signs: str | Sequence[str] | None = None,
    titles: Sequence[str] | None = None,
    outlier_perc: float | None = None,
    *,
    style: str = "auto",
    kind: str | None = None,
    name: str | None = None,
    cmap=None,
    alpha: float | None = None,
    colorbar: bool = True,
    reduce: str = "sum",
    clip: str | None = None,
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
        signs: one sign for all columns, one per method, or None (the style's default).
        titles: column titles (default: ``"<method> (<sign>)"``).
        outlier_perc, style, kind, name, cmap, alpha, colorbar, reduce, clip, deprocess, spec,
            figsize, use_pyplot, show: as in :func:`visualize`.

    Returns:
        ``(fig, axes)`` with axes of shape ``(rows, len(methods))``.

    Example:
        >>> fig, axes = tfattr.viz.visualize_multiple(
        ...     attr[0], photo, ["original_image", "heat_map", "masked_image"],
        ...     ["all", "all", "positive"])
        >>> axes.shape
        (1, 3)
    """
    methods = list(methods)
    for method in methods:
        check_choice(method, "methods", METHODS)
    signs = [signs] * len(methods) if signs is None or isinstance(signs, str) else list(signs)
    if len(signs) != len(methods):
        raise ValueError(f"signs: expected one sign per method ({len(methods)}), got {signs}.")
    for sign in signs:
        if sign is not None:
            check_choice(sign, "signs", SIGNS)
    if titles is not None and len(titles) != len(methods):
        raise ValueError(f"titles: expected one title per method ({len(methods)}), got {titles}.")
    _check_options(None, None, clip, style)
    rgb, values, _, detected = _prepare(attr, image, reduce, deprocess, spec, True, name)
    n = values.shape[0]
    fig, axes = _axes_for(None, n, len(methods), figsize, use_pyplot)
    for col, (method, sign) in enumerate(zip(methods, signs, strict=True)):
        chosen = _style_for(
            style,
            kind or detected,
            values,
            True,
            method=method,
            sign=sign,
            outlier_perc=outlier_perc,
            clip=clip,
            cmap=cmap,
            alpha=alpha,
        )
        label = titles[col] if titles is not None else f"{method} ({chosen.sign})"
        for row in range(n):
            draw(
                axes[row, col],
                values[row],
                rgb[row],
                style=chosen,
                colorbar=colorbar,
                title=label if row == 0 else None,
            )
    _finish(show)
    return fig, axes


def compare(
    image,
    attributions: Mapping[str, object],
    method: str | None = None,
    sign: str | None = None,
    outlier_perc: float | None = None,
    shared_scale: bool | str = False,
    *,
    style: str = "auto",
    kinds: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    show_image: bool = True,
    row_titles: Sequence[str] | None = None,
    reduce: str | Mapping[str, str] = "sum",
    clip: str | None = None,
    cmap=None,
    alpha: float | None = None,
    colorbar: bool | None = None,
    max_columns: int = MAX_COLUMNS,
    legend: bool = True,
    deprocess=None,
    spec=None,
    figsize: tuple[float, float] | None = None,
    use_pyplot: bool = True,
    show: bool = False,
):
    """A grid comparing methods: per image, the photo and one panel per method.

    Each panel is drawn for its kind of map (see :func:`visualize`) and scaled on its own.
    ``shared_scale`` puts maps *of the same units* on one colour scale, so equal values get
    equal colours: per image (``True``/``"row"``) or over the whole grid (``"all"``). Maps in
    other units, and region maps (scaled to their own range), keep their own scale: a shared
    scale across units would blank the smaller ones. Units are known for tfattr's methods
    (Integrated Gradients, Input x Gradient, GradientShap, DeepLift, LRP: score units;
    Saliency, SmoothGrad: gradient units) and can be given with ``units``. A legend under the
    grid says which panels share a scale.

    An image with more panels than ``max_columns`` wraps onto several rows, so the grid keeps a
    readable width and legible titles with any number of methods.

    Args:
        image: the image(s) ``(H, W, C)`` or ``(N, H, W, C)``.
        attributions: ``{"Saliency": a, "IG": b, ...}``; each a batch matching the images, or a
            single map for a single image (pixel maps and CAM maps may be mixed).
        method: a :func:`visualize` method for every panel (default: the style's).
        sign: a :func:`visualize` sign for every panel (default: the style's, per map).
        outlier_perc: as in :func:`visualize`.
        shared_scale: False (default), True/``"row"`` or ``"all"`` (see above).
        style: ``"auto"``, ``"region"``, ``"pixel"`` or ``"captum"`` (:func:`visualize`).
        kinds: ``{name: "region" | "pixel"}`` for maps whose kind the name does not tell.
        units: ``{name: units}`` for maps whose units the name does not tell; maps with the
            same units may share a scale.
        show_image: add a first panel with the image.
        row_titles: a label per image (e.g. ``"zebra (label 340)"``), shown over its photo.
        reduce: channel reduction for all methods, or a dict per method name (e.g.
            ``{"Saliency": "max_abs"}``; unnamed methods use ``"sum"``).
        clip, cmap, alpha, deprocess, spec, figsize, use_pyplot, show: as in :func:`visualize`.
        colorbar: None (default): one colour bar per shared scale; True: also one per
            pixel panel; False: none.
        max_columns: panels per grid row before wrapping.
        legend: write under the grid how the panels are coloured and scaled.

    Returns:
        ``(fig, axes)``, axes of shape ``(images, panels)`` (whatever the wrapping).

    Example:
        >>> saliency = tfattr.Saliency(model).explain(x, target=3)
        >>> fig, axes = tfattr.viz.compare(photos, {"Saliency": saliency, "IG": attr,
        ...                                         "Grad-CAM": cam}, shared_scale=True)
        >>> axes.shape                                          # (images, photo + 3 maps)
        (2, 4)
    """
    _check_options(method, sign, clip, style)
    if shared_scale not in (False, True, "row", "all"):
        raise ValueError(
            f"shared_scale: expected False, True, 'row' or 'all', got {shared_scale!r}."
        )
    if not isinstance(attributions, Mapping) or not attributions:
        raise TypeError("attributions: expected a non-empty dict {method name: attribution}.")
    if isinstance(max_columns, bool) or not isinstance(max_columns, int) or max_columns < 1:
        raise ValueError(f"max_columns: expected an int >= 1, got {max_columns!r}.")
    names = list(attributions)
    rgb = as_images(image, deprocess, spec)
    n = rgb.shape[0]
    columns, styles = {}, {}
    for name in names:
        how = reduce.get(name, "sum") if isinstance(reduce, Mapping) else reduce
        values, detected = _values_for(
            attributions[name], rgb, tuple(np.shape(image)), how, f"attributions[{name!r}]", name
        )
        if values.shape[0] != n:
            raise ValueError(
                f"attributions[{name!r}]: {values.shape[0]} maps for {n} images; give one map "
                f"per image."
            )
        columns[name] = values
        styles[name] = _style_for(
            style,
            (kinds or {}).get(name, detected),
            values,
            True,
            method=method,
            sign=sign,
            outlier_perc=outlier_perc,
            clip=clip,
            cmap=cmap,
            alpha=alpha,
        )
    groups = _unit_groups(names, styles, units, shared_scale)
    scales = _shared_scales(columns, styles, groups, n, shared_scale)
    offset = 1 if show_image else 0
    panels = len(names) + offset
    fig, axes = _grid_for(n, panels, max_columns, figsize, use_pyplot)
    for row in range(n):
        if show_image:
            axes[row, 0].imshow(rgb[row])
            label = "image" if row_titles is None else str(row_titles[row])
            _tidy(axes[row, 0], _wrap(label), bold=True)
        for col, name in enumerate(names):
            draw(
                axes[row, col + offset],
                columns[name][row],
                rgb[row],
                style=styles[name],
                colorbar=bool(colorbar) and name not in scales,
                title=_wrap(name),
                scale=scales.get(name, [None] * n)[row],
            )
        if colorbar is not False:
            _shared_colorbars(
                fig, axes, row, n, offset, names, styles, groups, scales, shared_scale
            )
    if legend:
        fig.supxlabel(_legend(names, styles, groups, shared_scale), fontsize=9, wrap=True)
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
        >>> attr = tfattr.IntegratedGradients(model, steps=32).explain(x[0], target=555)
        >>> fig, axes = tfattr.viz.plot_img_attributions(x[0], attr)
        >>> axes.shape
        (2, 2)
    """
    rgb, values, single, _ = _prepare(attr, image, reduce, deprocess, spec, need_image=True)
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
    method: str | None = None,
    sign: str | None = None,
    outlier_perc: float | None = None,
    clip: str | None = None,
    cmap=None,
    alpha: float | None = None,
    colorbar: bool = True,
    title: str | None = None,
    scale: float | None = None,
    *,
    style: str | Style = "auto",
    kind: str = "pixel",
):
    """Draws one reduced map ``(H, W)`` into ``ax``; returns its colour scale (or None).

    The building block of the figures above, for custom layouts. ``rgb`` is the image as float
    RGB in [0, 1] (``tfattr.viz.as_images(...)[0]``), or None for a bare heat map. ``style``
    is a style name (with ``kind``, see :func:`tfattr.viz.map_kind`) or a resolved
    :class:`tfattr.viz.styles.Style`, which then replaces the other drawing options.

    Args:
        ax: the matplotlib Axes to draw into.
        values: one reduced map ``(H, W)`` (:func:`tfattr.viz.reduce_channels`).
        rgb: the image, float RGB ``(H, W, 3)`` in [0, 1], or None.
        method, sign, outlier_perc, clip, cmap, alpha, scale: as in :func:`tfattr.viz.visualize`;
            None takes the style's default.
        colorbar: add a colour bar next to a heat map.
        title: the panel's title.
        style: ``"auto"``, ``"region"``, ``"pixel"``, ``"captum"`` or a resolved ``Style``.
        kind: ``"region"`` or ``"pixel"``, for ``style="auto"``.

    Returns:
        A ``ScalarMappable`` giving the colours of the values (``norm.vmax`` is the value at
        full colour) for heat maps, None for the other methods.

    Example:
        >>> fig, axes = tfattr.viz.new_figure(1, 2, use_pyplot=False)
        >>> rgb = tfattr.viz.as_images(photo)[0]
        >>> values = tfattr.viz.reduce_channels(np.asarray(attr, np.float64))[0]
        >>> colours = tfattr.viz.draw(axes[0, 0], values, rgb, method="heat_map", title="IG")
        >>> colours.norm.vmax > 0
        True
        >>> tfattr.viz.draw(axes[0, 1], np.asarray(cam[0]), rgb, kind="region") is not None
        True
    """
    values = np.asarray(values, np.float64)
    if not isinstance(style, Style):
        _check_options(method, sign, clip, style)
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
    )
    pixels, used = render(values, rgb, style=style, scale=scale)
    _tidy(ax, title)
    ax.imshow(pixels)
    if style.method == "original_image":
        return None
    note = _empty_note(values, select_sign(values, style.sign), style.sign, used)
    if note:
        _note(ax, note)
    if style.method not in ("heat_map", "blended_heat_map"):
        return None
    limit = used if used > 0 else 1.0
    low = -limit if (style.sign == "all" and style.scaling == "outliers") else 0.0
    mappable = ScalarMappable(Normalize(low, limit), colormap_of(style))
    if style.scaling == "minmax":  # values are relative to the map's own range
        mappable.set_norm(Normalize(0.0, 1.0))
    elif colorbar and used > 0:
        bar = ax.figure.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04)
        bar.ax.tick_params(labelsize=7)
    return mappable


# ------------------------------------------------------------------------------------------------
# Helpers


def _check_options(method, sign, clip, style) -> None:
    if method is not None:
        check_choice(method, "method", METHODS)
    if sign is not None:
        check_choice(sign, "sign", SIGNS)
    if clip is not None:
        check_choice(clip, "clip", CLIP_MODES)
    if not isinstance(style, Style):
        check_choice(style, "style", STYLES)


def _style_for(style, kind, values, has_image, **chosen) -> Style:
    if isinstance(style, Style):
        return style
    return resolve_style(
        style, kind, signed=bool(np.any(values < 0)), has_image=has_image, **chosen
    )


def _prepare(attr, image, reduce, deprocess, spec, need_image, name=None):
    """(rgb (N, H, W, 3) or None, reduced maps (N, H, W), single, kind) from user arrays."""
    if image is None:
        if need_image is not None and need_image != "heat_map":
            raise ValueError("image: this figure needs the image; pass image=...")
        maps, single = as_maps(attr)
        kind = map_kind(maps, name, had_channels=_had_channels(attr, single))
        return None, reduce_channels(maps, reduce), single, kind
    rgb = as_images(image, deprocess, spec)
    image_rank = len(np.shape(image))
    maps, single = as_maps(attr, image_shape=tuple(np.shape(image)))
    kind = map_kind(maps, name, had_channels=_had_channels(attr, single))
    rgb, maps = broadcast_pair(rgb, maps)
    values = reduce_channels(resize_maps(maps, rgb.shape[1:3]), reduce)
    return rgb, values, single and image_rank <= 3, kind


def _had_channels(attr, single: bool) -> bool:
    """Whether the user's array had a channel axis (as_maps adds one of size 1 to CAMs)."""
    return np.ndim(attr) == 4 or (np.ndim(attr) == 3 and single)


def _values_for(attr, rgb, image_shape, reduce, name, method_name):
    """Reduced maps (N, H, W) of one method, resized to the images, and their kind."""
    maps, single = as_maps(attr, image_shape=image_shape, name=name)
    kind = map_kind(maps, method_name, had_channels=_had_channels(attr, single))
    _, maps = broadcast_pair(rgb, maps)
    return reduce_channels(resize_maps(maps, rgb.shape[1:3]), reduce), kind


def _unit_groups(names, styles, units, shared_scale) -> dict[str, list[str]]:
    """{units: [names]} of the pixel maps that share a colour scale (two or more per group)."""
    if shared_scale is False:
        return {}
    groups: dict[str, list[str]] = {}
    for name in names:
        style = styles[name]
        unit = (units or {}).get(name) or units_of(name)
        if unit is None or style.scaling != "outliers" or style.method == "original_image":
            continue
        groups.setdefault(unit, []).append(name)
    return {unit: members for unit, members in groups.items() if len(members) > 1}


def _shared_scales(columns, styles, groups, n, shared_scale) -> dict[str, list[float]]:
    """{name: per-row threshold} for the maps in a shared group."""
    scales: dict[str, list[float]] = {}
    for members in groups.values():
        style = styles[members[0]]

        def threshold(rows, style=style, members=members):
            pooled = np.concatenate(
                [select_sign(columns[m][rows], styles[m].sign).ravel() for m in members]
            )
            return outlier_threshold(pooled, style.outlier_perc, style.clip)

        if shared_scale == "all":
            per_row = [threshold(slice(None))] * n
        else:
            per_row = [threshold(row) for row in range(n)]
        for member in members:
            scales[member] = per_row
    return scales


def _shared_colorbars(fig, axes, row, n, offset, names, styles, groups, scales, shared_scale):
    for unit, members in groups.items():
        if shared_scale == "all" and row < n - 1:
            continue  # one bar for the whole grid, beside the last image's panels
        limit = scales[members[0]][row]
        if limit <= 0:
            continue
        style = styles[members[0]]
        low = -limit if style.sign == "all" else 0.0
        mappable = ScalarMappable(Normalize(low, limit), colormap_of(style))
        ax = axes[row, offset + names.index(members[-1])]
        bar = fig.colorbar(mappable, ax=ax, fraction=0.046, pad=0.04)
        bar.ax.tick_params(labelsize=7)
        bar.set_label(unit, fontsize=7)


def _legend(names, styles, groups, shared_scale) -> str:
    """One or two lines under a grid: how panels are scaled and coloured."""
    shared = [
        f"{', '.join(m)} share one scale ({UNIT_LABELS.get(u, u)})" for u, m in groups.items()
    ]
    where = "over the whole grid" if shared_scale == "all" else "per image"
    if shared:
        scaling = f"Colour scales: {'; '.join(shared)}, {where}; other panels each on their own."
    else:
        scaling = "Colour scales: each panel on its own."
    kinds = {styles[name].kind for name in names}
    parts = [scaling]
    if "region" in kinds:
        parts.append("Region maps: own minimum (blue) to maximum (red).")
    pixel_signs = {styles[n].sign for n in names if styles[n].kind == "pixel"}
    if "all" in pixel_signs:
        parts.append("Signed pixel maps: warm for the class, cool against.")
    if pixel_signs - {"all"}:
        parts.append("Magnitudes: dark to bright.")
    return " ".join(parts)


def _empty_note(values, shown, sign, scale) -> str | None:
    if not np.any(values):
        return _NOTHING["all"]
    if not np.any(shown):
        return _NOTHING[sign]
    if np.ptp(values) == 0:
        return f"constant map ({values.flat[0]:.3g})"
    if scale <= 0:
        return _NOTHING[sign]
    return None


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


def _wrap(text: str) -> str:
    """A title on at most two lines, broken after spaces, underscores or hyphens."""
    lines = [""]
    for token in re.split(r"(?<=[\s_\-])", str(text)):
        if lines[-1] and len(lines[-1]) + len(token.rstrip()) > TITLE_CHARACTERS:
            lines.append("")
        lines[-1] += token
    lines = [line.strip() for line in lines]
    if len(lines) > 2:
        lines = [lines[0], "".join(lines[1:])[: TITLE_CHARACTERS - 1] + "…"]
    return "\n".join(lines)


def _tidy(ax, title, bold: bool = False) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(str(title), fontsize=9, fontweight="bold" if bold else "normal")


def _per_image(title, n, name):
    if title is None or isinstance(title, str):
        return [title] * n
    titles = list(title)
    if len(titles) != n:
        raise ValueError(f"{name}: expected one title per image ({n}), got {len(titles)}.")
    return titles


def _new_figure(size, use_pyplot):
    if use_pyplot:
        import matplotlib.pyplot as plt

        return plt.figure(figsize=size, layout="constrained")
    return Figure(figsize=size, layout="constrained")


def _axes_for(ax, rows, cols, figsize, use_pyplot):
    """(fig, 2-D array of Axes): the given Axes, or a new figure in constrained layout."""
    if ax is not None:
        given = np.array(ax, dtype=object).reshape(-1)
        if given.size != rows * cols:
            raise ValueError(f"ax: {rows * cols} panels to draw but {given.size} Axes given.")
        return given[0].figure, given.reshape(rows, cols)
    size = figsize or (PANEL_INCHES * cols + (0.6 if cols else 0), PANEL_INCHES * rows)
    fig = _new_figure(size, use_pyplot)
    axes = fig.subplots(rows, cols, squeeze=False)
    return fig, axes


def _grid_for(images, panels, max_columns, figsize, use_pyplot):
    """(fig, Axes (images, panels)): each image's panels wrapped onto rows of max_columns."""
    cols = min(panels, max_columns)
    blocks = -(-panels // cols)
    inches = GRID_PANEL_INCHES if cols > 4 else PANEL_INCHES
    # Room for two title lines over each panel, and for the legend under the grid.
    size = figsize or (inches * cols, (inches + 0.45) * images * blocks + 0.5)
    fig = _new_figure(size, use_pyplot)
    grid = fig.subplots(images * blocks, cols, squeeze=False)
    axes = np.empty((images, panels), dtype=object)
    for image in range(images):
        for panel in range(panels):
            axes[image, panel] = grid[image * blocks + panel // cols, panel % cols]
    for spare in range(panels, blocks * cols):  # empty cells after each image's last panel
        for image in range(images):
            grid[image * blocks + spare // cols, spare % cols].set_axis_off()
    return fig, axes


def _finish(show: bool) -> None:
    if show:
        import matplotlib.pyplot as plt

        plt.show()


def new_figure(
    rows: int, cols: int, figsize=None, use_pyplot: bool = True
) -> tuple[Figure, np.ndarray]:
    """A figure with a ``rows x cols`` grid of Axes (2-D array), as the figures above make.

    Args:
        rows: rows of panels.
        cols: panels per row.
        figsize: ``(width, height)`` in inches; default: ``PANEL_INCHES`` per panel.
        use_pyplot: create it with pyplot (shows in notebooks); False gives a detached Figure.

    Returns:
        ``(fig, axes)`` with axes of shape ``(rows, cols)``.

    Example:
        >>> fig, axes = tfattr.viz.new_figure(2, 3, use_pyplot=False)
        >>> axes.shape
        (2, 3)
    """

    return _axes_for(None, rows, cols, figsize, use_pyplot)
