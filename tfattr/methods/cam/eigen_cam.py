"""Eigen-CAM (Muhammad & Yeasin 2020) and EigenGrad-CAM: first principal component of a map."""

from __future__ import annotations

import tensorflow as tf

from tfattr.methods.cam.gradcam import GradCAM


def principal_component_map(values: tf.Tensor, center: bool = True) -> tf.Tensor:
    """Projection of each position's channel vector on the first principal component.

    ``values`` ``(B, h, w, K)`` is read as ``h * w`` observations of ``K`` channels; with
    ``center`` each channel's mean over positions is removed first. The map is ``M v_1`` with
    ``v_1`` the first right singular vector of that ``(h * w, K)`` matrix ``M``, whose sign
    (arbitrary in an SVD) is chosen so that its entries sum to a positive number, which is the
    same as the map correlating positively with the channel sum of ``M``.

    Returns:
        ``(B, h, w)`` maps.
    """
    shape = values.shape
    values = tf.cast(values, tf.float32)  # (no float16 SVD kernel; float16 would be too coarse)
    matrix = tf.reshape(values, (-1, shape[1] * shape[2], shape[3]))
    if center:
        matrix = matrix - tf.reduce_mean(matrix, axis=1, keepdims=True)
    _, _, v = tf.linalg.svd(matrix, full_matrices=False)
    first = v[..., 0]  # (B, K)
    sign = tf.where(tf.reduce_sum(first, axis=-1, keepdims=True) < 0, -1.0, 1.0)
    projection = tf.linalg.matvec(matrix, first * tf.cast(sign, first.dtype))
    return tf.reshape(projection, (-1, shape[1], shape[2]))


class EigenCAM(GradCAM):
    """The layer's activations projected on their first principal component, then ReLU.

    Gradient-free and **class-agnostic**: the map depends on the image only, so every target
    gives the same map (``target`` is still checked). Sign convention: the component is
    oriented so that the map correlates positively with the sum of the channels, i.e. strongly
    activated regions are positive (an SVD leaves the sign arbitrary). ``center=True`` (the
    default, as pytorch-grad-cam) subtracts each channel's spatial mean before the SVD; without
    it the first component mostly follows the mean activation. Other options as
    :class:`GradCAM` (``layer``, ``upsample``, ``interpolation``, ``relu``).

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
        center: subtract each channel's spatial mean before the SVD (default True).

    Example:
        >>> cam = tfattr.EigenCAM(model, layer="block5_conv3").explain(images)

    Reference: Muhammad & Yeasin, "Eigen-CAM: Class Activation Map using Principal
    Components", IJCNN 2020.
    """

    defaults = {**GradCAM.defaults, "center": True}
    uses_gradients = False

    def check_options(self, options):
        super().check_options(options)
        if not isinstance(options["center"], bool):
            raise TypeError(f"center: expected True or False, got {options['center']!r}.")

    def cam_key(self, options):
        return (options["center"],)

    def cam(self, activations, grads, options):
        return principal_component_map(activations, options["center"])


class EigenGradCAM(EigenCAM):
    """First principal component of ``A * dF/dA`` (activations times gradients), then ReLU.

    Eigen-CAM on HiResCAM's element-wise products: class-discriminative, unlike
    :class:`EigenCAM`. Same sign convention and options as :class:`EigenCAM`.

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
        center: subtract each channel's spatial mean before the SVD (default True).

    Example:
        >>> cam = tfattr.EigenGradCAM(model).explain(images, target=281)

    Reference: Gildenblat and contributors, pytorch-grad-cam (``EigenGradCAM``), 2021, after
    Muhammad & Yeasin, "Eigen-CAM", IJCNN 2020.
    """

    uses_gradients = True

    def cam(self, activations, grads, options):
        return principal_component_map(activations * grads, options["center"])
