"""Targets beyond class indices: callables that pick one score per image from any model output.

Every explainer's ``explain(inputs, target=...)`` accepts, besides None, a class index or name
and one per image, ``(N, classes)`` one-hot / multi-hot / weight vectors (the weighted sum of
the class scores, Xplique's convention) and a callable ``target(outputs) -> (N,)`` scores
(regression outputs, detection scores, segmentation regions). This module holds the ready-made
callables.

Example:
    >>> labels = np.argmax(segmenter(image[None])[0], axis=-1)         # (H, W) predicted classes
    >>> target = tfattr.targets.region(labels == 2, class_id=2)          # the class-2 region
    >>> cam = tfattr.GradCAM(segmenter, layer="bottleneck").explain(image, target=target)
    >>> saliency = tfattr.Saliency(regressor).explain(images, target=lambda out: out[:, 0])
"""

from __future__ import annotations

from tfattr.core.targets import Region, pick, region

__all__ = ["Region", "pick", "region"]
