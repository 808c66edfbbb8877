"""Occlusion (Zeiler & Fergus 2014): how much the target score drops when a window is hidden."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tfattr.core.engine import Plan, fused
from tfattr.core.explainer import GradientExplainer
from tfattr.core.targets import pick


def _pair_or_triple(value, name):
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    try:
        value = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected (h, w) or (h, w, c) ints, got {value!r}.") from None
    if len(value) not in (2, 3) or min(value) < 1:
        raise ValueError(f"{name}: expected 2 or 3 positive ints (h, w[, c]), got {value!r}.")
    return value


def _broadcast_baseline(value, image_shape):
    """The replacement value as one image, or a ValueError naming the shapes accepted."""
    try:
        array = np.asarray(value, np.float32)
    except (TypeError, ValueError):
        raise TypeError(
            f"baseline: expected a number or an array of numbers, got {type(value).__name__}."
        ) from None
    got = array.shape
    if array.ndim == len(image_shape) + 1 and got[0] == 1:
        array = array[0]  # (1, H, W, C): one image
    try:
        return np.broadcast_to(array, image_shape)
    except ValueError:
        shape = tuple(image_shape)
        raise ValueError(
            f"baseline: got shape {got}, which does not broadcast to one image {shape}; "
            f"expected a scalar, ({shape[-1]},) (one value per channel), {shape} or "
            f"{(1, *shape)}. Occlusion replaces windows with one baseline shared by all images."
        ) from None


class Occlusion(GradientExplainer):
    """Score drop ``F(x) - F(x with a window replaced by baseline)``, averaged per element.

    Windows of ``window`` pixels (all channels, or ``(h, w, c)`` to slide over channels too) are
    placed every ``stride`` pixels, at positions ``0, s, 2s, ...`` up to the last one that still
    overlaps the image (windows at the border are cut off), as Captum. Each element's attribution
    is the mean drop over the windows that cover it. Forward passes only; the occluded copies
    are built on the device inside each compiled chunk, ``batch_size`` at a time.

    Args:
        window: ``(h, w)`` or ``(h, w, c)``; an int means a square. Default (8, 8).
        stride: same form as ``window``, at most the window along each axis (a larger stride
            would leave elements that no window covers). Default (4, 4).
        baseline: the value hidden windows take (a scalar, or a tensor broadcastable to one
            image). Default 0.

    Example:
        >>> attr = tfattr.Occlusion(model, window=(16, 16), stride=(8, 8)).explain(images, 3)

    Reference: Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks",
    ECCV 2014.
    """

    plan_is_attribution = False  # the plan gives window scores, spread over pixels after

    defaults = {"window": (8, 8), "stride": (4, 4), "baseline": 0.0}

    def check_options(self, options):
        window = _pair_or_triple(options["window"], "window")
        stride = _pair_or_triple(options["stride"], "stride")
        if len(window) != len(stride):
            raise ValueError(f"stride: give as many values as window {window}, got {stride}.")
        if any(s > w for s, w in zip(stride, window, strict=True)):
            raise ValueError(
                f"stride: {stride} is larger than the window {window} along an axis, so the "
                f"elements between windows would be covered by none (no attribution). Use a "
                f"stride no larger than the window."
            )

    def geometry(self, image_shape, options):
        """Window, stride, number of positions per axis, and per window axis the ``(size,
        positions)`` 0/1 matrix of which positions' windows cover each index."""
        window = _pair_or_triple(options["window"], "window")
        stride = _pair_or_triple(options["stride"], "stride")
        dims = tuple(image_shape[: len(window)])
        if any(w > d for w, d in zip(window, dims, strict=True)):
            raise ValueError(f"window: {window} is larger than the image {tuple(image_shape)}.")
        counts = tuple(
            math.ceil((d - w) / s) + 1 for d, w, s in zip(dims, window, stride, strict=True)
        )
        covers = []
        for d, w, s, c in zip(dims, window, stride, counts, strict=True):
            index, start = np.arange(d)[:, None], np.arange(c)[None, :] * s
            covers.append(((index >= start) & (index < start + w)).astype(np.float32))
        return window, stride, counts, covers

    def plan(self, x, options):
        """Rows are (window position, image), and one unoccluded row per image at position
        ``positions`` (last): each row's value is its target score, one-hot at its position, so
        the engine returns the ``(N, positions + 1)`` grid of scores, the clean score last. The
        clean forward thus runs in the same compiled chunks as the windows instead of a pass of
        its own."""
        image_shape = tuple(x.shape[1:])
        window, stride, counts, _ = self.geometry(image_shape, options)
        axes = len(window)
        positions = int(np.prod(counts))
        baseline = _broadcast_baseline(options["baseline"], image_shape)
        if not np.all(np.isfinite(baseline)):
            raise ValueError("baseline: contains NaN or infinite values.")

        def corners(position):
            """Each row's window start per window axis ((rows,) int32 each)."""
            starts = []
            for axis in reversed(range(axes)):
                starts.insert(0, position % counts[axis] * stride[axis])
                position = position // counts[axis]
            return starts

        @fused
        def occlude(images, image, position, baseline):
            inside = tf.reshape(position < positions, [-1] + [1] * len(image_shape))
            for axis, start in enumerate(corners(position)):
                span = tf.range(image_shape[axis])[None, :]
                hit = (span >= start[:, None]) & (span < start[:, None] + window[axis])
                shape = [-1] + [1] * len(image_shape)
                shape[axis + 1] = image_shape[axis]
                inside = inside & tf.reshape(hit, shape)
            return tf.where(inside, baseline[None], tf.gather(images, image))

        def build(images, rows, tensors):
            return occlude(rows.source, rows.image, rows.group, tensors["baseline"]), rows.group

        def value(points, targets, position, adapter):
            score = pick(adapter(points), targets)
            return tf.one_hot(position, positions + 1) * score[:, None]

        return Plan(
            points=1,
            groups=positions + 1,
            build=build,
            key=("occlusion", window, stride, image_shape),
            tensors={"baseline": tf.constant(baseline)},
            value=value,
        )

    def spread(self, drops, image_shape, options):
        """Each element's mean drop over the windows covering it, from the ``(N, positions)``
        grid. The windows are boxes, so the sum over the windows covering an element is
        separable: one small product per window axis with its 0/1 cover matrix (a transposed
        convolution with a box of ones computes the same, but some of TF's kernels for it are
        very slow: ``docs/performance.md``)."""
        _, _, counts, covers = self.geometry(image_shape, options)
        summed = tf.reshape(tf.cast(drops, tf.float32), (-1, *counts))
        coverage = 1.0
        for axis, cover in enumerate(covers):  # axis + 1: positions -> indices
            summed = tf.tensordot(summed, cover, axes=[[axis + 1], [1]])  # (new axis last)
            order = list(range(len(covers) + 1))
            summed = tf.transpose(summed, [*order[: axis + 1], len(covers), *order[axis + 1 : -1]])
            shape = [1] * len(image_shape)
            shape[axis] = -1
            coverage = coverage * np.reshape(cover.sum(1), shape)
        mean = summed[..., None] if len(covers) < len(image_shape) else summed
        mean = mean / tf.constant(coverage, tf.float32)
        return tf.broadcast_to(mean, (int(mean.shape[0]), *image_shape))  # (2-D: all channels)

    def attribute(self, x, targets, options):
        if targets is None:
            targets = self.top_classes(x)
        scores = self.engine.run(x, targets, self.plan(x, options))["sum"]
        drops = scores[:, -1:] - scores[:, :-1]
        return self.spread(drops, tuple(x.shape[1:]), options)
