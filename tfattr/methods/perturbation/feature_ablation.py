"""Feature ablation over segments: the score drop when each segment is replaced by a baseline."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core import segments as seg
from tfattr.core.engine import Plan
from tfattr.core.explainer import Explainer
from tfattr.core.targets import pick, top


class FeatureAblation(Explainer):
    """``F(x) - F(x with segment j replaced by the baseline)``, given to every element of j.

    As Captum's ``FeatureAblation`` with a feature mask: each feature (here a superpixel, or a
    label of the user's ``segments``) is ablated alone and the whole drop goes to each of its
    elements (no division by the segment's size; all channels of a pixel share it). Forward
    passes only: one per segment, built on the device ``batch_size`` at a time.

    Args:
        segments: ``"slic"`` (default), ``"quickshift"``, ``"felzenszwalb"`` (scikit-image, per
            image) or an int array of labels ``(H, W)`` / ``(N, H, W)``; see
            :func:`tfattr.core.segments.segment`.
        n_segments: superpixels SLIC aims at. Default 50.
        baseline: value of ablated segments, a number or an array broadcastable to one image.
            Default 0.

    Returns from ``explain``: ``(N, H, W, C)`` float32.

    Example:
        >>> attr = tfattr.FeatureAblation(model, segments=labels).explain(images, target=3)

    Reference: Captum's ``FeatureAblation`` (Kokhlikyan et al., "Captum: A unified and generic
    model interpretability library for PyTorch", 2020); the "occlusion of features" idea of
    Zeiler & Fergus, ECCV 2014.
    """

    defaults = {"segments": "slic", "n_segments": 50, "baseline": 0.0}

    def check_options(self, options):
        seg.check(options["segments"], options["n_segments"])

    def attribute(self, x, targets, options):
        scores = self.engine.scores(x)
        if targets is None:
            targets = top(scores)
        labels, counts = seg.segment(x, options["segments"], options["n_segments"])
        baseline = seg.baseline_value(options["baseline"], tuple(x.shape[1:]))
        features = int(counts.max())

        def build(images, rows, tensors):
            labels_rows = tf.gather(tensors["labels"], rows.image)
            # Depth from a tensor, so that another segment count does not retrace the step.
            ablate = tf.one_hot(rows.point, tensors["features"])
            points = seg.compose(images, labels_rows, 1.0 - ablate, tensors["baseline"])
            hit = tf.cast(labels_rows == rows.point[:, None, None], tf.float32)[..., None]
            # Rows past an image's last segment hit no pixel: they contribute nothing.
            return points, (hit, tf.gather(tensors["clean"], rows.image))

        def value(points, row_targets, coef, adapter):
            hit, clean = coef
            drop = clean - pick(adapter(points), row_targets)
            return tf.broadcast_to(drop[:, None, None, None] * hit, tf.shape(points))

        plan = Plan(
            points=features,
            build=build,
            key=("feature_ablation",),
            tensors={
                "labels": labels,
                "features": tf.constant(features, tf.int32),
                "baseline": baseline,
                "clean": pick(scores, targets),
            },
            value=value,
        )
        return self.engine.run(x, targets, plan)["sum"]
