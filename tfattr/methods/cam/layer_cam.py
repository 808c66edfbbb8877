"""LayerCAM (Jiang et al. 2021): activations weighted position by position by positive gradients."""

from __future__ import annotations

import tensorflow as tf

from tfattr.methods.cam.gradcam import GradCAM


class LayerCAM(GradCAM):
    """``ReLU(sum_k ReLU(dF/dA^k_ij) A^k_ij)``: Grad-CAM with a weight per position and channel.

    Where Grad-CAM averages each channel's gradient over the map, LayerCAM keeps the positive
    gradient at every position, which stays faithful on shallow layers. Same options as
    :class:`GradCAM` (``layer``, ``upsample``, ``interpolation``, ``relu``). The map is not
    normalised to [0, 1] (tf-keras-vis' ``normalize_cam`` does; Xplique does not); the paper's
    multi-layer fusion is left to the user (maps of several ``layer`` values can be added).

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
        >>> cam = tfattr.LayerCAM(model, layer="block3_conv3").explain(images, target=281)

    Reference: Jiang et al., "LayerCAM: Exploring Hierarchical Class Activation Maps for
    Localization", IEEE Transactions on Image Processing 30, 2021.
    """

    def combine(self, activations, grads):
        """``sum_k ReLU(dF/dA^k_ij) A^k_ij`` at every position."""
        return tf.reduce_sum(tf.nn.relu(grads) * activations, axis=-1)
