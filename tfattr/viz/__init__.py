"""Pictures of attributions: Captum-style figures, comparison grids, overlays and files.

- :func:`visualize` -- one map, with Captum's methods (``heat_map``, ``blended_heat_map``,
  ``original_image``, ``masked_image``, ``alpha_scaling``) and signs (``all``, ``positive``,
  ``negative``, ``absolute_value``); :func:`visualize_multiple` -- several methods side by side.
- :func:`compare` -- one row per image, one column per attribution method, optionally on one
  shared colour scale.
- :func:`overlay` -- the Grad-CAM jet overlay as a uint8 array (matplotlib colormaps, no OpenCV).
- :func:`plot_img_attributions` -- the four-panel figure of the TF Integrated Gradients tutorial.
- :func:`save` -- a figure or an array to PNG.

Maps: pixel maps ``(H, W, C)``/``(N, H, W, C)`` or CAM maps ``(H, W)``/``(N, H, W)``, numpy or
tf. Channels are reduced to one value per pixel with ``reduce="sum"`` (Captum) or
``reduce="max_abs"`` (saliency as in Simonyan et al.), ``"mean"``, ``"abs_sum"``. Images are shown
as they are when in [0, 1] or [0, 255]; preprocessed images need ``deprocess=`` (``"caffe"``,
``"tf"``, ``"torch"``, ``"unit"`` or a function) or ``spec=<ModelSpec>``.

Example:
    >>> attr = tfattr.IntegratedGradients(model).explain(x, target=3)
    >>> fig, ax = tfattr.viz.visualize(attr, x, method="blended_heat_map", sign="all",
    ...                                deprocess="tf")
    >>> tfattr.viz.save(fig, "ig.png")
"""

from tfattr.viz.arrays import (
    REDUCTIONS,
    SIGNS,
    as_images,
    as_maps,
    normalize,
    outlier_threshold,
    reduce_channels,
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
    DEFAULT_CMAPS,
    METHODS,
    compare,
    draw,
    new_figure,
    plot_img_attributions,
    visualize,
    visualize_multiple,
)
from tfattr.viz.images import figure_to_array, overlay, png_bytes, render, save, to_uint8

__all__ = [
    "DEFAULT_CMAPS",
    "DEPROCESSORS",
    "METHODS",
    "REDUCTIONS",
    "SIGNS",
    "as_images",
    "as_maps",
    "compare",
    "deprocess_caffe",
    "deprocess_none",
    "deprocess_tf",
    "deprocess_torch",
    "deprocess_unit",
    "draw",
    "figure_to_array",
    "get_deprocess",
    "new_figure",
    "normalize",
    "outlier_threshold",
    "overlay",
    "plot_img_attributions",
    "png_bytes",
    "reduce_channels",
    "render",
    "resolve_deprocess",
    "save",
    "select_sign",
    "to_uint8",
    "visualize",
    "visualize_multiple",
]
