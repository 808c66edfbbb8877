"""HiResCAM (Draelos & Carin 2020): gradients times activations, position by position."""

from __future__ import annotations

import tensorflow as tf

from tfattr.methods.cam.gradcam import GradCAM


class HiResCAM(GradCAM):
    """``ReLU(sum_k dF/dA^k_ij * A^k_ij)``: Grad-CAM without the spatial averaging of gradients.

    Multiplying each activation by its own gradient (instead of by the channel's mean gradient)
    makes the map a decomposition of the model's computation: for a network whose layer ``A``
    is followed by global average pooling and a dense layer, it equals Zhou et al.'s CAM
    ``sum_k w_kc A^k`` divided by the number of positions ``h * w``; for ``A`` followed by
    flatten and a dense layer, the map without ReLU sums over positions to the target score
    minus the dense bias. Same options as :class:`GradCAM` (``layer``, ``upsample``,
    ``interpolation``, ``relu``).

    Returns from ``explain``: ``(N, H, W)`` float32 maps (``(N, h, w)`` without upsampling).

    Args:
        model: the model to explain; ``output``, ``batch_size`` and the other common options
            are those of :class:`~tfattr.core.explainer.Explainer`.
        layer: the feature map to use: a layer name (also inside nested models), a path
            ``"base/conv"`` or a layer object; None (default) takes the last layer with a 4-D
            output of more than one position (a token model's last token layer, as a grid).
        upsample: resize the map to the input size (default True).
        interpolation: ``tf.image.resize`` method for the upsampling (default ``bilinear``).
        relu: apply the ReLU (default True); False keeps negative evidence.

    Example:
        >>> cam = tfattr.HiResCAM(model, layer="block5_conv3").explain(images, target=281)

    Reference: Draelos & Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations of
    convolutional neural networks", arXiv:2011.08891, 2020.
    """

    def combine(self, activations, grads):
        """``sum_k dF/dA^k_ij A^k_ij`` at every position."""
        return tf.reduce_sum(grads * activations, axis=-1)
