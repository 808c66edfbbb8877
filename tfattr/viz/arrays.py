"""Array work behind the pictures: shape handling, channel reduction and Captum's normalisation.

Everything here is numpy and draws nothing, so the pixel-level behaviour (which pixels a sign
keeps, where ``outlier_perc`` clips) can be tested without a figure.
"""

from __future__ import annotations

import numpy as np

from tfattr.viz.deprocess import resolve_deprocess

SIGNS = ("all", "positive", "negative", "absolute_value")
"""Values of ``sign=``: which part of a signed map is shown."""
REDUCTIONS = ("sum", "mean", "max_abs", "abs_sum")
"""Values of ``reduce=``: how a map's channels become one value per pixel."""
CLIP_MODES = ("mass", "value")


def to_numpy(value, name: str) -> np.ndarray:
    """A float or integer numpy array from numpy, lists or tf tensors (eager)."""
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    array = np.asarray(value)
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.floating)
        or np.issubdtype(array.dtype, np.integer)
        or array.dtype == np.bool_
    ):
        raise TypeError(f"{name}: expected an array of numbers, got dtype {array.dtype}.")
    return array


def check_finite(array: np.ndarray, name: str) -> None:
    """Refuses NaN/inf with a count: a NaN map would silently draw as a blank or crash later."""
    if np.issubdtype(array.dtype, np.floating):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        if bad:
            raise ValueError(
                f"{name}: {bad} of {array.size} values are NaN or infinite. Attributions with "
                f"NaNs usually come from a model or input that produced them (e.g. a log of 0); "
                f"fix the source, or replace them knowingly with np.nan_to_num before drawing."
            )


def as_images(image, deprocess=None, spec=None, name: str = "image") -> np.ndarray:
    """Displayable images: float32 RGB in [0, 1], shape ``(N, H, W, 3)``.

    ``image`` is ``(H, W)``, ``(H, W, C)`` or ``(N, H, W, C)`` with C in 1, 3 (4: alpha dropped).
    Without a deprocess function it must already be in [0, 1] (float) or [0, 255]; anything else
    (e.g. caffe- or [-1, 1]-preprocessed) is refused with the fix, rather than drawn wrongly.

    Args:
        image: the image(s), numpy or tf, uint8 or float.
        deprocess: how to undo the model's preprocessing: None, ``"caffe"``, ``"tf"``,
            ``"torch"``, ``"unit"``, ``"none"`` or a function (:func:`resolve_deprocess`).
        spec: a :class:`tfattr.models.ModelSpec` whose preprocessing is undone (instead of
            ``deprocess``).
        name: the argument's name in error messages.

    Returns:
        float32 ``(N, H, W, 3)`` in [0, 1].

    Example:
        >>> rgb = tfattr.viz.as_images(photo)                  # uint8 (32, 32, 3)
        >>> rgb.shape, rgb.dtype.name, float(rgb.max()) <= 1.0
        ((1, 32, 32, 3), 'float32', True)
        >>> tfattr.viz.as_images(spec.preprocess(photo), spec=spec).shape   # undoes caffe
        (1, 32, 32, 3)
    """
    array = to_numpy(image, name)
    check_finite(array, name)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3, 4):
        raise ValueError(
            f"{name}: expected (H, W), (H, W, C) or (N, H, W, C) with 1, 3 or 4 channels, got "
            f"shape {tuple(np.shape(image))}."
        )
    array = array[..., :3]
    undo = resolve_deprocess(deprocess, spec)
    if undo is not None:
        rgb = to_numpy(undo(np.repeat(array, 3, -1) if array.shape[-1] == 1 else array), name)
        return _unit_range(rgb, name, after_deprocess=True)
    if array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return _unit_range(array, name, after_deprocess=False)


def _unit_range(array: np.ndarray, name: str, after_deprocess: bool) -> np.ndarray:
    if array.dtype == np.uint8 or array.dtype == np.bool_:
        return array.astype(np.float32) / (255.0 if array.dtype == np.uint8 else 1.0)
    low, high = float(array.min()), float(array.max())
    if np.issubdtype(array.dtype, np.floating) and low >= 0.0 and high <= 1.0:
        return array.astype(np.float32)
    if low >= 0.0 and high <= 255.0:
        return array.astype(np.float32) / 255.0
    if after_deprocess:
        return np.clip(array.astype(np.float32) / 255.0, 0.0, 1.0)
    raise ValueError(
        f"{name}: values span [{low:.3g}, {high:.3g}], which is neither [0, 1] nor [0, 255]: the "
        f"image looks preprocessed. Pass the raw photo, or say how to undo the preprocessing: "
        f"deprocess='caffe' | 'tf' | 'torch' | 'unit', a function, or spec=<ModelSpec>."
    )


def as_maps(attr, image_shape: tuple | None = None, name: str = "attr") -> tuple[np.ndarray, bool]:
    """Attribution maps as float64 ``(N, H, W, C)`` (CAM maps get C = 1) and ``was_single``.

    Accepts pixel maps ``(H, W, C)`` / ``(N, H, W, C)`` and CAM maps ``(H, W)`` / ``(N, H, W)``.
    A 3-D array is one pixel map when it has the shape of one image, ``image_shape[-3:]`` (pixel
    attributions keep the input's shape), and otherwise a batch of CAMs. Without an image it is a
    pixel map when its last axis is 1, 3 or 4 (a channel count).

    Args:
        attr: the attribution map(s), numpy or tf.
        image_shape: the shape of the image(s) the maps explain, to tell one pixel map from a
            batch of CAMs; None to decide from the last axis.
        name: the argument's name in error messages.

    Returns:
        ``(maps, was_single)``: float64 ``(N, H, W, C)`` maps, and whether one map was given.

    Example:
        >>> maps, single = tfattr.viz.as_maps(cam)             # Grad-CAM: (2, 32, 32)
        >>> maps.shape, single
        ((2, 32, 32, 1), False)
        >>> tfattr.viz.as_maps(attr[0], image_shape=x.shape)[0].shape   # one IG map
        (1, 32, 32, 3)
    """
    array = to_numpy(attr, name)
    check_finite(array, name)
    array = array.astype(np.float64)
    if array.ndim == 2:
        return array[None, ..., None], True
    if array.ndim == 3:
        if image_shape is not None and len(image_shape) >= 3:
            pixel_map = array.shape == tuple(image_shape[-3:])
        else:
            pixel_map = array.shape[-1] in (1, 3, 4)
        return (array[None], True) if pixel_map else (array[..., None], False)
    if array.ndim == 4:
        return array, False
    raise ValueError(
        f"{name}: expected a CAM map (H, W) / (N, H, W) or a pixel map (H, W, C) / (N, H, W, C), "
        f"got shape {array.shape}."
    )


def resize_maps(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of ``(N, h, w, C)`` maps to ``size`` (e.g. a CAM at layer resolution)."""
    if maps.shape[1:3] == tuple(size):
        return maps
    import tensorflow as tf  # only needed for this case; keeps plain drawing light

    return tf.image.resize(maps, size, method="bilinear").numpy().astype(np.float64)


def reduce_channels(maps: np.ndarray, reduce: str = "sum") -> np.ndarray:
    """One value per pixel, ``(N, H, W, C) -> (N, H, W)``.

    Args:
        maps: attribution maps (CAM maps have C = 1).
        reduce: ``"sum"`` (Captum's ``visualize_image_attr``; keeps the sign), ``"mean"``,
            ``"max_abs"`` (max over channels of ``|a|``: the saliency maps of Simonyan et al.
            and the classic tutorials) or ``"abs_sum"`` (sum of ``|a|``: the TF IG tutorial's
            attribution mask).

    Returns:
        ``(N, H, W)`` float64.

    Example:
        >>> maps = np.asarray(attr, np.float64)                # IG: (2, 32, 32, 3)
        >>> tfattr.viz.reduce_channels(maps, "max_abs").shape
        (2, 32, 32)
        >>> bool((tfattr.viz.reduce_channels(maps, "abs_sum") >= 0).all())
        True
    """
    if reduce == "sum":
        return maps.sum(axis=-1)
    if reduce == "mean":
        return maps.mean(axis=-1)
    if reduce == "max_abs":
        return np.abs(maps).max(axis=-1)
    if reduce == "abs_sum":
        return np.abs(maps).sum(axis=-1)
    raise ValueError(f"reduce: expected one of {REDUCTIONS}, got {reduce!r}.")


def select_sign(values: np.ndarray, sign: str) -> np.ndarray:
    """The part of a map that ``sign`` shows, as the values drawn.

    ``all`` keeps the signed values; ``positive`` keeps ``max(a, 0)``; ``negative`` keeps the
    magnitude ``max(-a, 0)`` (drawn with a red map, as Captum); ``absolute_value`` gives ``|a|``.

    Args:
        values: a reduced map, any shape.
        sign: one of ``SIGNS``: ``"all"``, ``"positive"``, ``"negative"``, ``"absolute_value"``.

    Returns:
        An array of the same shape (non-negative except for ``"all"``).

    Example:
        >>> tfattr.viz.select_sign(np.array([-2.0, 0.5]), "negative").tolist()
        [2.0, 0.0]
    """
    if sign == "all":
        return values
    if sign == "positive":
        return np.maximum(values, 0.0)
    if sign == "negative":
        return np.maximum(-values, 0.0)
    if sign == "absolute_value":
        return np.abs(values)
    raise ValueError(f"sign: expected one of {SIGNS}, got {sign!r}.")


def outlier_threshold(values: np.ndarray, outlier_perc: float = 2, clip: str = "mass") -> float:
    """The value that maps to full colour; larger values are clipped to it.

    Args:
        values: magnitudes (non-negative), any shape.
        outlier_perc: percentage treated as outliers, in [0, 100).
        clip: ``"mass"`` (Captum's rule: the smallest value such that the values up to it carry
            ``100 - outlier_perc`` % of the total attribution mass) or ``"value"`` (the plain
            ``100 - outlier_perc`` percentile of the values, as PAIR saliency's
            ``VisualizeImageGrayscale``).

    Returns:
        The threshold; 0.0 when all values are zero (the caller draws a blank map).

    Example:
        >>> values = np.abs(np.asarray(attr)).sum(-1)
        >>> threshold = tfattr.viz.outlier_threshold(values, outlier_perc=2)
        >>> bool(0 < threshold <= values.max())          # the top 2 % of the mass is clipped
        True
    """
    if not 0 <= outlier_perc < 100:
        raise ValueError(f"outlier_perc: expected a number in [0, 100), got {outlier_perc!r}.")
    flat = np.sort(np.abs(np.asarray(values, np.float64)).ravel())
    if flat.size == 0 or flat[-1] == 0.0:
        return 0.0
    if clip == "value":
        return float(np.percentile(flat, 100 - outlier_perc))
    if clip != "mass":
        raise ValueError(f"clip: expected one of {CLIP_MODES}, got {clip!r}.")
    cumulative = np.cumsum(flat)
    # Same expression order as Captum's _cumulative_sum_threshold, so thresholds match bit for bit.
    index = np.searchsorted(cumulative, cumulative[-1] * 0.01 * (100 - outlier_perc))
    return float(flat[min(index, flat.size - 1)])


def normalize(
    values: np.ndarray,
    sign: str = "absolute_value",
    outlier_perc: float = 2,
    clip: str = "mass",
    scale: float | None = None,
) -> tuple[np.ndarray, float]:
    """Captum's normalisation of a reduced map: sign selection, then division by a threshold.

    Args:
        values: reduced maps, e.g. ``(H, W)`` or ``(N, H, W)``.
        sign: see :func:`select_sign`.
        outlier_perc: see :func:`outlier_threshold`.
        clip: see :func:`outlier_threshold`.
        scale: use this threshold instead of computing one (a colour scale shared across panels).

    Returns:
        ``(normalised, scale)``: values in [-1, 1] (``all``) or [0, 1] (other signs), and the
        threshold used. A map with nothing to show (scale 0) normalises to zeros, never NaN.

    Example:
        >>> values = np.asarray(attr).sum(-1)                  # IG summed over channels
        >>> norm, scale = tfattr.viz.normalize(values, sign="positive", outlier_perc=2)
        >>> norm.shape, float(norm.min()) >= 0.0, float(norm.max()) <= 1.0
        ((2, 32, 32), True, True)
    """
    shown = select_sign(np.asarray(values, np.float64), sign)
    if scale is None:
        scale = outlier_threshold(shown, outlier_perc, clip)
    if scale <= 0:
        return np.zeros_like(shown), 0.0
    low = -1.0 if sign == "all" else 0.0
    return np.clip(shown / scale, low, 1.0), float(scale)


def scale_values(
    values: np.ndarray,
    sign: str = "absolute_value",
    scaling: str = "outliers",
    outlier_perc: float = 2,
    clip: str = "mass",
    scale: float | None = None,
) -> tuple[np.ndarray, float]:
    """A reduced map scaled for colouring, by outlier clipping or by its own range.

    Args:
        values: reduced maps, e.g. ``(H, W)``.
        sign: see :func:`select_sign`.
        scaling: ``"outliers"`` (:func:`normalize`: divide by the clip threshold; ``all`` gives
            [-1, 1]) or ``"minmax"`` (``(v - min) / (max - min)`` of the sign's values, in
            [0, 1]: a constant offset, e.g. RISE's, drops out).
        outlier_perc, clip: see :func:`outlier_threshold` (``"outliers"`` only).
        scale: a fixed threshold instead of this map's (``"outliers"`` only; a shared scale).

    Returns:
        ``(scaled, scale)``: the scaled values, and the threshold (``"outliers"``) or the range
        ``max - min`` (``"minmax"``); 0.0 when the map has nothing to show.

    Example:
        >>> values = np.asarray(attr).sum(-1)              # IG summed over channels
        >>> scaled, span = tfattr.viz.scale_values(values, sign="all", scaling="minmax")
        >>> scaled.shape, float(scaled.min()), float(scaled.max())
        ((2, 32, 32), 0.0, 1.0)

    """
    if scaling == "outliers":
        return normalize(values, sign, outlier_perc, clip, scale)
    if scaling != "minmax":
        raise ValueError(f"scaling: expected 'outliers' or 'minmax', got {scaling!r}.")
    shown = select_sign(np.asarray(values, np.float64), sign)
    if shown.size == 0:
        return shown, 0.0
    low, high = float(shown.min()), float(shown.max())
    span = high - low
    if span <= 0:
        return np.zeros_like(shown), 0.0
    return (shown - low) / span, span


def broadcast_pair(images: np.ndarray, maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs N images with N maps; one image is repeated for N maps.

    Args:
        images: ``(N, H, W, 3)`` or ``(1, H, W, 3)`` images (:func:`as_images`).
        maps: ``(N, H, W, C)`` maps (:func:`as_maps`).

    Returns:
        ``(images, maps)`` with as many images as maps.

    Example:
        >>> one_image, two_maps = np.zeros((1, 32, 32, 3)), np.zeros((2, 32, 32, 1))
        >>> rgb, maps = tfattr.viz.broadcast_pair(one_image, two_maps)
        >>> rgb.shape
        (2, 32, 32, 3)
    """

    if images.shape[0] == maps.shape[0]:
        return images, maps
    if images.shape[0] == 1:
        return np.repeat(images, maps.shape[0], axis=0), maps
    raise ValueError(
        f"attr and image: {maps.shape[0]} maps for {images.shape[0]} images; give one map per "
        f"image (or a single image for several maps)."
    )


def check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {tuple(choices)}, got {value!r}.")
    return value
