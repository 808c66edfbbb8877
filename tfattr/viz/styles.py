"""How each kind of attribution map is drawn by default, and which maps share units.

Two kinds of maps look right in two different ways, as the field's best-known pictures show:

- **region maps** (Grad-CAM family, Score-CAM, RISE, Occlusion, XRAI, LIME, feature ablation):
  smooth scores of image regions. Drawn as the Keras Grad-CAM example and pytorch-grad-cam's
  ``show_cam_on_image`` draw them: scaled by their own minimum and maximum (so a constant
  offset, as RISE's, does not flood the map), coloured with ``jet`` and blended over the photo.
- **pixel maps** (gradients, Integrated Gradients, DeepLift, LRP, ...): sparse, heavy-tailed
  per-pixel values. Drawn with the top 1 % of magnitudes clipped (as PAIR
  saliency and the TF Integrated Gradients tutorial), signed maps in a diverging colour map and
  magnitudes in a sequential one, over a darkened grey photo with the opacity following the value,
  so a bright object stays readable and zero attribution shows the photo.

``style="captum"`` keeps Captum's ``visualize_image_attr`` look (a single colour over a grey
photo at a fixed opacity); every method, sign and colour map can still be chosen explicitly.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
from matplotlib.colors import LinearSegmentedColormap

METHODS = ("heat_map", "blended_heat_map", "original_image", "masked_image", "alpha_scaling")
"""Picture kinds for ``method=``, as in Captum's ``visualize_image_attr``."""
STYLES = ("auto", "region", "pixel", "captum")
"""Colour styles for ``style=``: ``auto`` picks ``region`` or ``pixel`` from the method."""
SCALINGS = ("outliers", "minmax")
BACKGROUNDS = ("grey", "colour", "dark")

# Captum's default colour maps per sign: red-white-green for signed maps, one hue otherwise.
DIVERGING = LinearSegmentedColormap.from_list("RdWhGn", ["red", "white", "green"])
DEFAULT_CMAPS = {
    "all": DIVERGING,
    "positive": "Greens",
    "negative": "Reds",
    "absolute_value": "Blues",
}
"""The colour map of each ``sign`` (Captum's defaults): diverging for signed maps."""
# Colour maps for a dark background: zero is black (transparent with value opacity), evidence
# for the class glows warm, evidence against it cool.
DARK_DIVERGING = LinearSegmentedColormap.from_list(
    "tfattr_dark_diverging",
    ["#9ff3ff", "#1f8fff", "#0b2a66", "#000000", "#7a1405", "#ff4a1c", "#ffe066"],
)
DARK_POSITIVE = LinearSegmentedColormap.from_list(
    "tfattr_dark_positive", ["#000000", "#7a1405", "#ff4a1c", "#ffe066"]
)
DARK_NEGATIVE = LinearSegmentedColormap.from_list(
    "tfattr_dark_negative", ["#000000", "#0b2a66", "#1f8fff", "#9ff3ff"]
)
PIXEL_CMAPS = {
    "all": DARK_DIVERGING,
    "positive": DARK_POSITIVE,
    "negative": DARK_NEGATIVE,
    "absolute_value": "inferno",
}
REGION_CMAP = "jet"
# Brightness of the grey photo under pixel maps: dark enough for colours to stand out on white.
DARK_BACKGROUND = 0.45

# Registry names of the methods whose maps score regions rather than pixels.
REGION_METHODS = frozenset(
    {
        "gradcam",
        "gradcam_plus_plus",
        "layercam",
        "scorecam",
        "rise",
        "occlusion",
        "xrai",
        "feature_ablation",
        "lime",
        "kernel_shap",
        "activations",
    }
)
"""Registry names of the methods whose maps score regions rather than pixels."""
# Pixel methods whose attributions have the same units, so one colour scale can serve them.
UNITS = {
    **dict.fromkeys(
        (
            "integrated_gradients",
            "input_x_gradient",
            "gradient_shap",
            "deeplift",
            "deeplift_shap",
            "lrp",
            "blur_integrated_gradients",
            "guided_integrated_gradients",
        ),
        "score",
    ),
    **dict.fromkeys(("saliency", "smoothgrad"), "gradient"),
}
"""Pixel methods grouped by the units of their attributions (one colour scale per group)."""
UNIT_LABELS = {
    "score": "score units (attributions add up to a score difference)",
    "gradient": "gradient units (score per unit of input)",
}


@dataclasses.dataclass(frozen=True)
class Style:
    """Every choice behind one drawn map (see :func:`resolve_style`).

    Attributes:
        kind: ``"region"``, ``"pixel"`` or ``"captum"``.
        method: a Captum method (``heat_map``, ``blended_heat_map``, ...).
        sign: a Captum sign (``all``, ``positive``, ``negative``, ``absolute_value``).
        outlier_perc: percentage clipped to full colour (``scaling="outliers"``).
        clip: ``"mass"`` (Captum) or ``"value"`` (percentile of the magnitudes).
        cmap: colour map (name or object).
        alpha: opacity of the heat map (the largest opacity when ``opacity="value"``).
        scaling: ``"outliers"`` (divide by the clip threshold) or ``"minmax"`` (own range).
        background: photo under a blended map: ``"grey"``, ``"colour"`` or ``"dark"``.
        opacity: ``"constant"`` (``alpha`` everywhere) or ``"value"`` (``alpha x min(1, 2 |v|)``
            of the scaled value ``v``: full from half of full colour up).

    Example:
        >>> style = tfattr.viz.resolve_style("region")
        >>> style.kind, style.method, style.scaling
        ('region', 'blended_heat_map', 'minmax')
        >>> fig, ax = tfattr.viz.visualize(cam[0], photo, style=style)
    """

    kind: str
    method: str
    sign: str
    outlier_perc: float
    clip: str
    cmap: Any
    alpha: float
    scaling: str
    background: str
    opacity: str


def method_key(name) -> str | None:
    """The registry name of a method given as a registry name, alias or class name, or None.

    ``"Grad-CAM"``, ``"gradcam"``, ``"GradCAM"`` -> ``"gradcam"``; ``"IG"``,
    ``"Integrated Gradients"`` -> ``"integrated_gradients"``; unknown names -> None.
    """
    from tfattr import registry

    if name is None:
        return None
    text = str(name).strip()
    try:
        return registry.resolve(text.replace(" ", "_")).name
    except ValueError:
        pass
    squeezed = re.sub(r"[^a-z0-9]", "", text.lower())
    for entry in registry.METHODS.values():
        if squeezed in (entry.name.replace("_", ""), entry.class_name.lower()):
            return entry.name
    alias = {k.replace("_", ""): v for k, v in registry.ALIASES.items()}.get(squeezed)
    return alias


def map_kind(maps: np.ndarray | None = None, name=None, had_channels: bool = True) -> str:
    """``"region"`` or ``"pixel"`` for one method's maps.

    A known method name decides; otherwise a map without a channel axis (a CAM) or with the
    same value in every channel (a region score spread over the channels, as Occlusion and LIME
    return) is a region map, anything else a pixel map.

    Args:
        maps: the maps ``(N, H, W, C)`` (C = 1 for CAM maps), or None.
        name: the method's name as the user gave it (optional).
        had_channels: whether the user's array had a channel axis.

    Returns:
        ``"region"`` (drawn as a jet heat map over the photo) or ``"pixel"``.

    Example:
        >>> tfattr.viz.map_kind(name="Grad-CAM"), tfattr.viz.map_kind(name="IG")
        ('region', 'pixel')
        >>> tfattr.viz.map_kind(np.asarray(attr))             # unnamed: from the values
        'pixel'
    """
    key = method_key(name)
    if key is not None:
        return "region" if key in REGION_METHODS else "pixel"
    if not had_channels:
        return "region"
    if maps is not None and maps.shape[-1] > 1 and np.all(maps == maps[..., :1]):
        return "region"
    return "pixel"


def units_of(name) -> str | None:
    """The units key of a method's attributions (``"score"``, ``"gradient"``), or None.

    Maps of the same units can share one colour scale (:func:`compare` with ``shared_scale``).

    Args:
        name: a method's registry name, alias or class name.

    Returns:
        ``"score"`` (attributions add up to a score difference), ``"gradient"``, or None.

    Example:
        >>> tfattr.viz.units_of("IntegratedGradients"), tfattr.viz.units_of("Saliency")
        ('score', 'gradient')
    """
    return UNITS.get(method_key(name) or "")


def resolve_style(
    style: str = "auto",
    kind: str = "pixel",
    signed: bool = True,
    has_image: bool = True,
    **chosen,
) -> Style:
    """The drawing choices for a map: the style's defaults, overridden by what was chosen.

    Args:
        style: ``"auto"`` (the map's ``kind``), ``"region"``, ``"pixel"`` or ``"captum"``.
        kind: ``"region"`` or ``"pixel"`` (from :func:`map_kind`), used when ``style="auto"``.
        signed: whether the map has negative values (pixel maps: diverging colours).
        has_image: whether there is a photo to draw on (else the default method is a heat map).
        **chosen: explicit ``method``, ``sign``, ``outlier_perc``, ``clip``, ``cmap``, ``alpha``,
            ``scaling``, ``background``, ``opacity``; None values take the style's default.

    Returns:
        A :class:`Style`.

    Example:
        >>> style = tfattr.viz.resolve_style("auto", kind="pixel", signed=False, sign="positive")
        >>> style.kind, style.sign, style.background
        ('pixel', 'positive', 'dark')
    """

    if style not in STYLES:
        raise ValueError(f"style: expected one of {STYLES}, got {style!r}.")
    resolved = kind if style == "auto" else style
    if resolved not in ("region", "pixel", "captum"):
        raise ValueError(f"kind: expected 'region' or 'pixel', got {kind!r}.")
    given = {k: v for k, v in chosen.items() if v is not None}
    if resolved == "captum":
        sign = given.get("sign", "absolute_value")
        base = {
            "method": "heat_map",
            "outlier_perc": 2,
            "clip": "mass",
            "cmap": DEFAULT_CMAPS.get(sign),
            "alpha": 0.5,
            "scaling": "outliers",
            "background": "grey",
            "opacity": "constant",
        }
    elif resolved == "region":
        # All values, min to max: a constant offset of either sign (RISE) drops out.
        sign = given.get("sign", "all")
        base = {
            "method": "blended_heat_map" if has_image else "heat_map",
            "outlier_perc": 0,
            "clip": "value",
            "cmap": REGION_CMAP,
            "alpha": 0.5,
            "scaling": "minmax",
            "background": "colour",
            "opacity": "constant",
        }
    else:
        sign = given.get("sign", "all" if signed else "absolute_value")
        base = {
            "method": "blended_heat_map" if has_image else "heat_map",
            "outlier_perc": 1,
            "clip": "value",
            "cmap": PIXEL_CMAPS.get(sign),
            "alpha": 1.0,
            "scaling": "outliers",
            "background": "dark",
            "opacity": "value",
        }
    base.update(given)
    base["sign"] = sign
    for field, choices in (("scaling", SCALINGS), ("background", BACKGROUNDS)):
        if base[field] not in choices:
            raise ValueError(f"{field}: expected one of {choices}, got {base[field]!r}.")
    if base["opacity"] not in ("constant", "value"):
        raise ValueError(f"opacity: expected 'constant' or 'value', got {base['opacity']!r}.")
    if not 0.0 <= float(base["alpha"]) <= 1.0:
        raise ValueError(f"alpha: expected a number in [0, 1], got {base['alpha']!r}.")
    return Style(kind=resolved, **base)
