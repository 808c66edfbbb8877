"""Element-wise Grad-CAM (pytorch-grad-cam's ``GradCAMElementWise``)."""

from __future__ import annotations

import tensorflow as tf

from tfattr.methods.cam.gradcam import GradCAM


class GradCAMElementWise(GradCAM):
    """``ReLU(sum_k ReLU(dF/dA^k_ij * A^k_ij))``: HiResCAM with each product clipped at 0.

    Only the positions and channels whose activation pushes the target score up (gradient and
    activation of the same sign) count; negative products cannot cancel them. LayerCAM
    (``ReLU(gradient) * A``) gives the same map when ``A >= 0`` (a layer after a ReLU); they
    differ where activations are negative. Same options as :class:`GradCAM`.

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
        >>> cam = tfattr.GradCAMElementWise(model).explain(images, target=281)

    Reference: Gildenblat and contributors, pytorch-grad-cam (``GradCAMElementWise``), 2021;
    the element-wise product is HiResCAM's (Draelos & Carin, arXiv:2011.08891, 2020).
    """

    def combine(self, activations, grads):
        """``sum_k ReLU(dF/dA^k_ij A^k_ij)`` at every position."""
        return tf.reduce_sum(tf.nn.relu(grads * activations), axis=-1)
