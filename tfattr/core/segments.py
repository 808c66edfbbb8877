"""Feature masks for perturbation methods: superpixels from scikit-image, or the user's segments.

A segmentation is an int32 array ``(N, H, W)`` of labels ``0 .. M_i - 1`` per image (relabelled to
be consecutive) and the count ``M_i`` of each image. Methods switch whole segments on or off on the
device with :func:`compose`; all channels of a pixel belong to its pixel's segment (Captum's
feature masks broadcast over channels the same way).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfattr.core.optional import require

ALGORITHMS = ("slic", "quickshift", "felzenszwalb")


def check(segments, n_segments) -> None:
    """Validates the ``segments`` and ``n_segments`` options (ValueError/TypeError)."""
    if isinstance(segments, str):
        if segments not in ALGORITHMS:
            raise ValueError(
                f"segments: expected one of {ALGORITHMS} or an int array (H, W) / (N, H, W) of "
                f"labels, got {segments!r}."
            )
    else:
        array = np.asarray(segments)
        if array.ndim not in (2, 3) or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(
                f"segments: a feature mask must be an int array (H, W) or (N, H, W), got "
                f"dtype {array.dtype} shape {array.shape}."
            )
    if isinstance(n_segments, bool) or not isinstance(n_segments, int) or n_segments < 1:
        raise ValueError(f"n_segments: expected an int >= 1, got {n_segments!r}.")


def segment(x: tf.Tensor, segments="slic", n_segments: int = 50):
    """Labels ``(N, H, W)`` int32 (consecutive from 0 per image) and counts ``(N,)`` int32.

    Args:
        x: images ``(N, H, W, C)`` in the model's scale.
        segments: ``"slic"``, ``"quickshift"``, ``"felzenszwalb"`` (computed per image on the
            host, on the image rescaled to [0, 1]: segmentation is about the picture, not the
            model's input scale), or an int array ``(H, W)`` shared by all images or
            ``(N, H, W)`` one per image.
        n_segments: the number of superpixels SLIC aims at (ignored otherwise).
    """
    n, height, width = (int(d) for d in x.shape[:3])
    if isinstance(segments, str):
        images = np.asarray(x)
        raw = np.stack([_superpixels(image, segments, n_segments) for image in images])
    else:
        raw = np.asarray(segments)
        if raw.ndim == 2:
            raw = np.broadcast_to(raw, (n, *raw.shape))
        if raw.shape != (n, height, width):
            raise ValueError(
                f"segments: expected labels of shape (H, W) = {(height, width)} or (N, H, W) = "
                f"{(n, height, width)}, got {raw.shape}."
            )
    labels = np.empty((n, height, width), np.int32)
    counts = np.empty((n,), np.int32)
    for i in range(n):
        unique, inverse = np.unique(raw[i], return_inverse=True)
        labels[i] = inverse.reshape(height, width)
        counts[i] = len(unique)
    return labels, counts


def _superpixels(image: np.ndarray, algorithm: str, n_segments: int) -> np.ndarray:
    segmentation = require("skimage.segmentation", f"segments={algorithm!r} (superpixels)")

    low, high = image.min(), image.max()
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    channels = image.shape[-1]
    if channels == 1:
        image, axis = image[..., 0], None
    else:
        axis = -1
    if algorithm == "slic":
        return segmentation.slic(
            image,
            n_segments=n_segments,
            compactness=10.0,
            start_label=0,
            channel_axis=axis,
            convert2lab=channels == 3,
        )
    if algorithm == "quickshift":  # lime_image's defaults; quickshift needs 3 channels
        rgb = np.repeat(image[..., None], 3, -1) if axis is None else image[..., :3]
        return segmentation.quickshift(rgb, kernel_size=4, max_dist=200, ratio=0.2)
    return segmentation.felzenszwalb(image, scale=100, sigma=0.5, min_size=20, channel_axis=axis)


def compose(x_rows, labels_rows, on, baseline):
    """Images with segment ``j`` of row ``b`` kept where ``on[b, j]`` is 1, else the baseline.

    ``on`` is ``(B, M_max)`` float of 0/1; ``labels_rows`` ``(B, H, W)`` int32.
    """
    keep = tf.gather(on, labels_rows, batch_dims=1)[..., None] > 0.5
    # A selection, not b + keep (x - b): kept pixels are exactly x (no rounding).
    return tf.where(keep, x_rows, baseline)


def spread(values, labels) -> tf.Tensor:
    """Per-segment values ``(N, M_max)`` spread to every element: ``(N, H, W, 1)``."""
    return tf.gather(tf.convert_to_tensor(values, tf.float32), labels, batch_dims=1)[..., None]


def baseline_value(baseline, image_shape: tuple) -> tf.Tensor:
    """The value removed segments take: a scalar or a tensor broadcastable to one image,
    returned as ``(1, H, W, C)`` float32."""
    try:
        value = np.broadcast_to(np.asarray(baseline, np.float32), image_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"baseline: expected a number or an array broadcastable to one image {image_shape}, "
            f"got {np.shape(baseline) if not isinstance(baseline, str) else baseline!r}."
        ) from None
    if not np.all(np.isfinite(value)):
        raise ValueError("baseline: contains NaN or infinite values.")
    return tf.constant(value[None])
