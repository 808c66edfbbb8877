"""XRAI (Kapishnikov et al. 2019): regions ranked by the density of their IG attribution."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfattr.core import baselines as base
from tfattr.core.explainer import Explainer
from tfattr.core.inputs import check_choice, check_positive_int
from tfattr.core.optional import require
from tfattr.methods.gradient.integrated_gradients import IntegratedGradients

# PAIR saliency's segmentation settings: Felzenszwalb at six scales on the image resized to
# 224 x 224 with values in [-1, 1], segments dilated by a disk of 5 pixels.
SCALES = (50, 100, 150, 250, 500, 1200)
SIGMA = 0.8
MIN_SIZE = 150
SEGMENTATION_SIZE = (224, 224)
DILATION = 5


class _MinMaxIG(IntegratedGradients):
    """IG averaged over two baselines per image: its minimum and its maximum (PAIR's XRAI)."""

    def baselines(self, x, options):
        low = tf.reduce_min(x, axis=(1, 2, 3), keepdims=True)
        high = tf.reduce_max(x, axis=(1, 2, 3), keepdims=True)
        stack = tf.stack([tf.broadcast_to(low, x.shape), tf.broadcast_to(high, x.shape)], 1)
        return base.Baselines(tf.reshape(stack, (-1, *x.shape[1:])), 2, True)


def felzenszwalb_masks(image: np.ndarray) -> np.ndarray:
    """PAIR's XRAI segments of one image ``(H, W, C)``: boolean masks ``(K, H, W)``."""
    segmentation = require("skimage.segmentation", "XRAI's default segments")
    morphology = require("skimage.morphology", "XRAI's default segments")
    dilation, disk = morphology.dilation, morphology.disk
    resize = require("skimage.transform", "XRAI's default segments").resize

    height, width = image.shape[:2]
    low, high = image.min(), image.max()
    scaled = (image - low) / (high - low) * 2 - 1 if high > low else np.zeros_like(image)
    scaled = resize(scaled, SEGMENTATION_SIZE, order=3, mode="constant", anti_aliasing=True)
    axis = -1 if scaled.ndim == 3 else None
    masks = []
    for scale in SCALES:
        labels = segmentation.felzenszwalb(
            scaled, scale=scale, sigma=SIGMA, min_size=MIN_SIZE, channel_axis=axis
        )
        labels = resize(labels, (height, width), order=0, preserve_range=True, mode="constant")
        labels = labels.astype(np.int64)
        masks.extend(labels == label for label in range(labels.min(), labels.max() + 1))
    footprint = disk(DILATION)
    return np.stack([dilation(mask, footprint) for mask in masks])


def _as_masks(segments, image_index, shape) -> np.ndarray:
    """User segments for one image: labels (H, W) / (N, H, W) or masks (K, H, W) / (N, K, H, W)."""
    array = np.asarray(segments)
    if array.dtype == bool:
        masks = array if array.ndim == 3 else array[image_index]
    else:
        labels = array if array.ndim == 2 else array[image_index]
        masks = np.stack([labels == label for label in np.unique(labels)])
    if masks.shape[1:] != shape:
        raise ValueError(f"segments: masks must be {shape} per image, got {masks.shape[1:]}.")
    return masks


def xrai_map(attr, masks, area_threshold=1.0, min_pixel_diff=50, algorithm="full"):
    """XRAI's greedy region ranking for one image: the map of each added region's gain.

    ``attr`` is ``(H, W)``, ``masks`` ``(K, H, W)`` bool. The gain of a region is the mean of
    ``attr`` over the pixels it adds to the current selection; ``full`` re-ranks the remaining
    regions after every addition, ``fast`` ranks them once. Regions adding fewer than
    ``min_pixel_diff`` pixels are dropped; pixels no region reached take their own mean.
    """
    flat = attr.reshape(-1).astype(np.float64)
    remaining = masks.reshape(len(masks), -1).astype(bool)
    out = np.full(flat.shape, -np.inf)
    current = np.zeros(flat.shape, bool)
    if algorithm == "fast":
        order = np.argsort(-_density(remaining, flat), kind="stable")
        for mask in remaining[order]:
            added = mask & ~current
            if added.sum() < min_pixel_diff or not added.any():
                continue
            out[added] = flat[added].mean()
            current |= mask
    else:
        while current.mean() <= area_threshold:
            added = remaining & ~current
            counts = added.sum(axis=1)
            remaining = remaining[counts >= min_pixel_diff]
            added, counts = added[counts >= min_pixel_diff], counts[counts >= min_pixel_diff]
            if not len(remaining):
                break
            gains = _density(added, flat, counts)
            best = int(np.argmax(gains))  # first of equal gains, as the reference
            out[added[best]] = gains[best]
            current |= remaining[best]
            remaining = np.delete(remaining, best, axis=0)
    missing = out == -np.inf
    if missing.any():
        out[missing] = flat[missing].mean()
    return out.reshape(attr.shape)


def _density(masks, flat, counts=None):
    counts = masks.sum(axis=1) if counts is None else counts
    sums = masks.astype(np.float64) @ flat
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), -np.inf)


class XRAI(Explainer):
    """Ranks image regions by their density of Integrated Gradients attribution.

    Integrated Gradients is computed against two baselines per image, its minimum and its
    maximum value (PAIR saliency's defaults), averaged, and reduced over channels by the
    maximum. Candidate regions are Felzenszwalb segments at six scales (PAIR's settings: the
    image resized to 224 x 224 and scaled to [-1, 1], segments dilated by 5 pixels), or the
    user's ``segments``. Regions are then added greedily, each time the one whose new pixels
    have the highest mean attribution; every pixel gets the gain of the region that added it,
    so sorting the map's values gives the regions' order. IG runs through the engine; the
    segmentation and the greedy selection run on the host per image, vectorised over regions.

    Args:
        steps: IG gradient evaluations per baseline. Default 100 (PAIR's XRAI).
        segments: None (Felzenszwalb, as above), or labels ``(H, W)`` / ``(N, H, W)`` ints, or
            boolean masks ``(K, H, W)`` / ``(N, K, H, W)`` (may overlap).
        area_threshold: stop ranking once this share of the image is covered. Default 1.0.
        min_pixel_diff: regions adding fewer new pixels are dropped. Default 50 (PAIR's; use
            a few pixels on small images).
        algorithm: ``"full"`` (default) or ``"fast"`` (rank once, ignoring overlaps).

    Returns from ``explain``: ``(N, H, W)`` float32 maps.

    Example:
        >>> regions = tfattr.XRAI(model).explain(images, target=3)
        >>> top = regions >= np.percentile(regions, 90)   # the most salient 10 %

    Reference: Kapishnikov et al., "XRAI: Better Attributions Through Regions", ICCV 2019.
    """

    defaults = {
        "steps": 100,
        "segments": None,
        "area_threshold": 1.0,
        "min_pixel_diff": 50,
        "algorithm": "full",
    }

    def __init__(self, model, **kwargs):
        super().__init__(model, **kwargs)
        self.integrated_gradients = _MinMaxIG(self.adapter)
        self.integrated_gradients.engine = self.engine  # one engine: shared cache and batch size

    def check_options(self, options):
        check_positive_int(options["steps"], "steps")
        check_positive_int(options["min_pixel_diff"], "min_pixel_diff", minimum=0)
        check_choice(options["algorithm"], "algorithm", ("full", "fast"))
        area = options["area_threshold"]
        if isinstance(area, bool) or not isinstance(area, int | float) or not 0 < area <= 1:
            raise ValueError(f"area_threshold: expected a number in (0, 1], got {area!r}.")

    def attribute(self, x, targets, options):
        if targets is None:
            targets = self.top_classes(x)
        ig = self.integrated_gradients
        attr = ig.attribute(x, targets, {**ig.options, "steps": options["steps"]})
        attr = tf.reduce_max(attr, axis=-1).numpy()
        images = x.numpy()
        maps = []
        for i, image in enumerate(images):
            if options["segments"] is None:
                masks = felzenszwalb_masks(image)
            else:
                masks = _as_masks(options["segments"], i, image.shape[:2])
            maps.append(
                xrai_map(
                    attr[i],
                    masks,
                    options["area_threshold"],
                    options["min_pixel_diff"],
                    options["algorithm"],
                )
            )
        return tf.constant(np.stack(maps), tf.float32)
