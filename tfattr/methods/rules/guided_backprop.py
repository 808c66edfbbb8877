"""Guided Backpropagation (Springenberg et al. 2015)."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core import layers
from tfattr.core.explainer import ActivationRuleExplainer

GUIDED = ("relu", "relu6")


def guided_rule(fn, name):
    """Through a ReLU, pass only positive gradients, and only where the ReLU was active."""
    if name not in GUIDED:
        return None
    return layers.with_gradient(
        fn, lambda x, y, upstream: layers.local_derivative(fn, x, tf.nn.relu(upstream))
    )


class GuidedBackprop(ActivationRuleExplainer):
    """The gradient of the target score with every ReLU passing only positive gradients.

    At each ReLU (``ReLU`` and ``Activation("relu")`` layers, and ``activation="relu"`` fused in
    Conv/Dense layers; ``relu6`` too) the backward pass becomes ``relu(upstream) * 1[x > 0]``
    instead of ``upstream * 1[x > 0]``. ReLUs written as raw ops inside a subclassed model's
    ``call`` cannot be reached and keep their ordinary gradient.

    Args:
        model: the model to explain; ``output``, ``batch_size`` and the other common options
            are those of :class:`~tfattr.core.explainer.Explainer`.

    Example:
        >>> attr = tfattr.GuidedBackprop(model).explain(images, target=281)   # (N, H, W, C)

    Reference: Springenberg et al., "Striving for Simplicity: The All Convolutional Net",
    ICLR 2015 workshop.
    """

    rule = staticmethod(guided_rule)
