"""Pictures of attributions: Captum-style figures, comparison grids, overlays and files.

- :func:`visualize` -- one map, drawn by default as its kind of map is best read (region maps
  such as Grad-CAM as a jet heat map over the photo, pixel maps such as IG with outliers clipped
  over a darkened photo; :mod:`tfattr.viz.styles`), or with Captum's methods (``heat_map``, ``blended_heat_map``,
  ``original_image``, ``masked_image``, ``alpha_scaling``) and signs (``all``, ``positive``,
  ``negative``, ``absolute_value``); :func:`visualize_multiple` -- several methods side by side.
- :func:`compare` -- per image, one panel per attribution method, wrapped into rows of readable
  width; each panel on its own scale, or maps of the same units on one shared scale.
- :func:`overlay` -- the Grad-CAM jet overlay as a uint8 array (matplotlib colormaps, no OpenCV).
- :func:`plot_img_attributions` -- the four-panel figure of the TF Integrated Gradients tutorial.
- :func:`save` -- a figure or an array to PNG.

Maps: pixel maps ``(H, W, C)``/``(N, H, W, C)`` or CAM maps ``(H, W)``/``(N, H, W)``, numpy or
tf. Channels are reduced to one value per pixel with ``reduce="sum"`` (Captum) or
``reduce="max_abs"`` (saliency as in Simonyan et al.), ``"mean"``, ``"abs_sum"``. Images are shown
as they are when in [0, 1] or [0, 255]; preprocessed images need ``deprocess=`` (``"caffe"``,
``"tf"``, ``"torch"``, ``"unit"`` or a function) or ``spec=<ModelSpec>``.

Example:
    >>> inputs = spec.preprocess(photo)                 # caffe preprocessing
    >>> attr = tfattr.IntegratedGradients(model, steps=16).explain(inputs, target=3)
    >>> fig, ax = tfattr.viz.visualize(attr, inputs, method="blended_heat_map", sign="all",
    ...                                deprocess="caffe")
    >>> tfattr.viz.save(fig, "ig.png")
    PosixPath('ig.png')
"""

from tfattr.viz.arrays import (
    REDUCTIONS,
    SIGNS,
    as_images,
    as_maps,
    broadcast_pair,
    normalize,
    outlier_threshold,
    reduce_channels,
    scale_values,
    select_sign,
)
from tfattr.viz.deprocess import (
    DEPROCESSORS,
    deprocess_caffe,
    deprocess_none,
    deprocess_tf,
    deprocess_torch,
    deprocess_unit,
    get_deprocess,
    resolve_deprocess,
)
from tfattr.viz.figures import (
    compare,
    draw,
    new_figure,
    plot_img_attributions,
    visualize,
    visualize_multiple,
)
from tfattr.viz.images import figure_to_array, overlay, png_bytes, render, save, to_uint8
from tfattr.viz.styles import (
    DEFAULT_CMAPS,
    METHODS,
    REGION_METHODS,
    STYLES,
    UNITS,
    Style,
    map_kind,
    resolve_style,
    units_of,
)

__all__ = [
    "DEFAULT_CMAPS",
    "DEPROCESSORS",
    "METHODS",
    "REDUCTIONS",
    "REGION_METHODS",
    "SIGNS",
    "STYLES",
    "UNITS",
    "Style",
    "as_images",
    "as_maps",
    "broadcast_pair",
    "compare",
    "deprocess_caffe",
    "deprocess_none",
    "deprocess_tf",
    "deprocess_torch",
    "deprocess_unit",
    "draw",
    "figure_to_array",
    "get_deprocess",
    "map_kind",
    "new_figure",
    "normalize",
    "outlier_threshold",
    "overlay",
    "plot_img_attributions",
    "png_bytes",
    "reduce_channels",
    "render",
    "resolve_deprocess",
    "resolve_style",
    "save",
    "scale_values",
    "select_sign",
    "to_uint8",
    "units_of",
    "visualize",
    "visualize_multiple",
]
