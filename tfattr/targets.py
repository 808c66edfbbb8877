"""Targets beyond class indices: callables that pick one score per image from any model output.

Every explainer's ``explain(inputs, target=...)`` accepts, besides None, a class index or name
and one per image, ``(N, classes)`` one-hot / multi-hot / weight vectors (the weighted sum of
the class scores, Xplique's convention) and a callable ``target(outputs) -> (N,)`` scores
(regression outputs, detection scores, segmentation regions). This module holds the ready-made
callables.

Example:
    >>> saliency = tfattr.Saliency(model)
    >>> saliency.explain(images, target=[3, 5]).shape                      # class indices
    TensorShape([2, 32, 32, 3])
    >>> multi_hot = np.zeros((2, 1000), "float32")
    >>> multi_hot[:, [281, 282, 285]] = 1.0                                  # three cat classes
    >>> saliency.explain(images, target=multi_hot).shape                     # their sum
    TensorShape([2, 32, 32, 3])
    >>> saliency.explain(images, target=lambda out: out[:, 3] - out[:, 5]).shape  # a contrast
    TensorShape([2, 32, 32, 3])
"""

from __future__ import annotations

from tfattr.core.targets import Region, pick, region

__all__ = ["Region", "pick", "region"]
