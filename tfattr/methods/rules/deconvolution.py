"""Deconvolution (Zeiler & Fergus 2014), as a gradient rule on every ReLU."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core import layers
from tfattr.core.explainer import ActivationRuleExplainer

RECTIFIERS = ("relu", "relu6")


def deconvolution_rule(fn, name):
    """Through a ReLU, pass ``relu(upstream)`` whatever the ReLU's input was (Captum's rule)."""
    if name not in RECTIFIERS:
        return None
    return layers.with_gradient(fn, lambda x, y, upstream: tf.nn.relu(upstream))


class Deconvolution(ActivationRuleExplainer):
    """The "deconvnet" signal: backpropagation where every ReLU rectifies the upstream signal.

    At each ReLU (``ReLU``/``Activation("relu")`` layers and ``activation="relu"`` fused into
    Conv/Dense layers; ``relu6`` too) the backward pass is ``relu(upstream)``: the forward
    pass's switch ``1[x > 0]`` is *not* applied (that is Guided Backprop's difference). This is
    Captum's definition of ``Deconvolution``; max-pooling keeps its ordinary gradient, which
    routes the signal through the forward pass's argmax (the paper's "switches"). ReLUs written
    as raw ops inside a subclassed model's ``call`` cannot be reached.

    Returns from ``explain``: ``(N, H, W, C)`` float32.

    Args:
        model: the model to explain; ``output``, ``batch_size`` and the other common options
            are those of :class:`~tfattr.core.explainer.Explainer`.

    Example:
        >>> attr = tfattr.Deconvolution(model).explain(images, target=281)

    Reference: Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks",
    ECCV 2014.
    """

    rule = staticmethod(deconvolution_rule)
