"""XGrad-CAM (Fu et al. 2020): Grad-CAM with activation-weighted gradients."""

from __future__ import annotations

import tensorflow as tf

from tfattr.methods.cam.gradcam import GradCAM


class XGradCAM(GradCAM):
    """``ReLU(sum_k w_k A^k)`` with ``w_k = sum_ij A^k_ij dF/dA^k_ij / sum_ij A^k_ij``.

    Each channel's gradients are averaged with the channel's own activations as weights (Grad-CAM
    averages them uniformly), the choice that the paper derives from its sensitivity and
    conservation axioms. A channel whose activations sum to 0 gets weight 0. Same options as
    :class:`GradCAM`.

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
        >>> cam = tfattr.XGradCAM(model).explain(images, target=281)

    Reference: Fu et al., "Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation
    of CNNs", BMVC 2020.
    """

    @staticmethod
    def weights(activations, grads):
        """``(B, K)``: ``sum(A * dF/dA) / sum(A)`` over positions, per channel."""
        return tf.math.divide_no_nan(
            tf.reduce_sum(activations * grads, axis=(1, 2)),
            tf.reduce_sum(activations, axis=(1, 2)),
        )
