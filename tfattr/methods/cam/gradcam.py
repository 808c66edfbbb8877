"""The Grad-CAM family: Grad-CAM, Grad-CAM++ and Guided Grad-CAM."""

from __future__ import annotations

from typing import ClassVar

import tensorflow as tf

from tfattr.core import layers
from tfattr.core.engine import Plan, images_as_points
from tfattr.core.explainer import GradientExplainer
from tfattr.core.inputs import check_choice

INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "gaussian")


def resize_maps(maps: tf.Tensor, size: tuple[int, int], method: str) -> tf.Tensor:
    """``tf.image.resize`` of ``(B, h, w)`` maps to ``size``, as two small matrix products.

    Every ``tf.image.resize`` method is linear and separable (without antialiasing), so resizing
    is ``R_h @ map @ R_w^T`` with ``R`` the resize of an identity matrix: the same numbers (to
    float rounding), cheaper than the resize kernel for the small maps of a CAM
    (``docs/performance.md``).
    """
    maps = tf.cast(maps, tf.float32)  # (as tf.image.resize: float32 also from float16 maps)
    rows = _resize_matrix(int(maps.shape[1]), size[0], method)  # (H, h)
    cols = _resize_matrix(int(maps.shape[2]), size[1], method)  # (W, w)
    return tf.matmul(tf.matmul(rows, maps), cols, transpose_b=True)


def _resize_matrix(n_in: int, n_out: int, method: str) -> tf.Tensor:
    basis = tf.eye(n_in)[None, :, None, :]  # n_in one-pixel-high images, as channels
    return tf.image.resize(basis, (n_out, 1), method=method)[0, :, 0, :]


class GradCAM(GradientExplainer):
    """Grad-CAM: ``ReLU(sum_k alpha_k A^k)`` with ``alpha_k`` the spatial mean of ``dF/dA^k``.

    ``A`` is the output of a convolutional layer (default: the last layer with a 4-D output,
    searched into nested models; the choice is logged), or of a token layer of a Vision
    Transformer, its patch tokens ``(N, tokens, D)`` reshaped to their grid ``(N, h, w, D)``
    with the class token(s) dropped (pytorch-grad-cam's ``reshape_transform``; by default the
    last token layer whose patch tokens reach the score). The map is upsampled to the input size
    (bilinear by default) unless ``upsample=False``. On a conv -> global average pooling -> dense
    network it equals Zhou et al.'s CAM divided by the number of positions.

    Args:
        layer: a layer name (searched at any depth), a path ``"base/conv"``, a layer object, or
            None for the default.
        upsample: resize the map to the input's H x W (default True).
        interpolation: ``tf.image.resize`` method for the upsampling (default ``bilinear``).
        relu: apply the ReLU (default True); False keeps negative evidence.
        reshape: None (a 4-D output as it is, a token layer's tokens to their grid), or a
            function mapping the layer's output to an ``(N, h, w, K)`` map, applied to the
            output and to its gradient (channels last; every CAM method takes it).

    Returns from ``explain``: ``(N, H, W)`` float32 maps (``(N, h, w)`` without upsampling).

    Example:
        >>> cam = tfattr.GradCAM(model, layer="block5_conv3").explain(images, target=281)

    Reference: Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization", ICCV 2017.
    """

    defaults = {
        "layer": None,
        "upsample": True,
        "interpolation": "bilinear",
        "relu": True,
        "reshape": None,
    }
    at_inputs = True

    def check_options(self, options):
        layers.require_layers(self.adapter, type(self).__name__)
        check_choice(options["interpolation"], "interpolation", INTERPOLATIONS)
        for name in ("upsample", "relu"):
            if not isinstance(options[name], bool):
                raise TypeError(f"{name}: expected True or False, got {options[name]!r}.")
        if options["reshape"] is not None and not callable(options["reshape"]):
            raise TypeError(
                f"reshape: expected None or a function (N, ...) -> (N, h, w, K), got "
                f"{type(options['reshape']).__name__}."
            )
        if isinstance(options["layer"], str):
            layers.find_layer(self.model, options["layer"])
        elif options["layer"] is not None and not callable(getattr(options["layer"], "call", None)):
            raise TypeError(
                f"layer: expected a layer name, a path or a layer object, got "
                f"{type(options['layer']).__name__}."
            )

    def layer(self, x, options) -> layers.CamLayer:
        """The layer this call explains, with how its output becomes a feature map."""
        return layers.cam_layer(
            self.adapter, options["layer"], options["reshape"], tuple(x.shape[1:])
        )

    # The CAM base: a variant overrides ``weights`` (Grad-CAM's per-channel weights), or
    # ``combine`` (the map from activations and gradients), or ``cam`` (when it reads options);
    # ``uses_gradients = False`` skips the backward pass (``grads`` is then None).
    uses_gradients: ClassVar[bool] = True

    @staticmethod
    def weights(activations, grads):
        """Per-channel weights ``(B, K)``: the spatial mean of the gradients."""
        return tf.reduce_mean(grads, axis=(1, 2))

    def combine(self, activations, grads):
        """The map ``(B, h, w)`` before ReLU and upsampling: ``sum_k w_k A^k``."""
        return tf.einsum("bhwk,bk->bhw", activations, self.weights(activations, grads))

    def cam(self, activations, grads, options):
        """The map before ReLU and upsampling (``combine``; override to read ``options``)."""
        return self.combine(activations, grads)

    def cam_key(self, options) -> tuple:
        """The options ``cam`` reads beyond the base's, for the compiled step's cache key."""
        return ()

    def finish(self, cam, size, options):
        """ReLU (``relu``) and upsampling to ``size`` (``upsample``) of ``(B, h, w)`` maps."""
        cam = tf.cast(cam, tf.float32)  # (float16 maps of mixed-precision models)
        if options["relu"]:
            cam = tf.nn.relu(cam)
        if options["upsample"]:
            cam = resize_maps(cam, size, options["interpolation"])
        return cam

    def layer_activations(self, x, layer) -> tf.Tensor:
        """The layer's output ``(N, h, w, K)`` for images ``x``, through the engine."""
        name = type(self).__name__

        def value(points, targets, coef, adapter):
            return feature_map(adapter, points, layer, name)

        plan = Plan(
            points=1,
            build=images_as_points,
            key=("cam_activations", layer),
            value=value,
        )
        return self.engine.run(x, None, plan)["sum"]

    def plan(self, x, options):
        layer = self.layer(x, options)
        size = tuple(x.shape[1:3])
        method = type(self).__name__

        def value(points, targets, coef, adapter):
            if not self.uses_gradients:
                activations = feature_map(adapter, points, layer, method)
                return self.finish(self.cam(activations, None, options), size, options)
            activations, grads, scores = layers.layer_gradients(adapter, points, targets, layer)
            check_feature_map(activations, layer, method)
            # (with the target scores: the engine refuses the maps of non-finite scores)
            return self.finish(self.cam(activations, grads, options), size, options), scores

        return Plan(
            points=1,
            build=images_as_points,
            key=(
                type(self).__name__,
                layer,
                options["upsample"],
                options["interpolation"],
                options["relu"],
                *self.cam_key(options),
            ),
            value=value,
        )


def check_feature_map(activations, layer, method: str) -> None:
    """Raises ValueError unless ``activations`` is a 4-D ``(N, H, W, C)`` feature map."""
    if activations.shape.rank != 4:
        raise ValueError(
            f"layer: {layer.name!r} outputs shape {tuple(activations.shape)}; {method} "
            f"needs a 4-D (N, H, W, C) feature map. Pick a convolutional layer."
        )


def feature_map(adapter, points, layer, method: str) -> tf.Tensor:
    """The layer's output for ``points`` (one forward pass, no gradient)."""
    activations = layers.tapped_output(adapter, points, layer)
    check_feature_map(activations, layer, method)
    return activations


class GradCAMPlusPlus(GradCAM):
    """Grad-CAM++: channel weights from positive gradients, weighted per position.

    ``w_k = sum_ij a_ij^k ReLU(g_ij^k)`` with ``a_ij^k = g^2 / (2 g^2 + sum_ab A_ab^k g^3)``
    (``g = dF/dA``; the closed form of the paper with the exponential of the score, whose
    constant factor is dropped), and 0 where the denominator vanishes. Same options as
    :class:`GradCAM`.

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
        >>> cam = tfattr.GradCAMPlusPlus(model).explain(images, target=281)

    Reference: Chattopadhyay et al., "Grad-CAM++: Improved Visual Explanations for Deep
    Convolutional Networks", WACV 2018.
    """

    @staticmethod
    def weights(activations, grads):
        squared = tf.square(grads)
        denominator = 2.0 * squared + tf.reduce_sum(activations, (1, 2), keepdims=True) * (
            squared * grads
        )
        safe = tf.where(tf.abs(denominator) > 1e-12, denominator, tf.ones_like(denominator))
        alphas = tf.where(tf.abs(denominator) > 1e-12, squared / safe, tf.zeros_like(squared))
        return tf.reduce_sum(alphas * tf.nn.relu(grads), axis=(1, 2))


class GuidedGradCAM(GradCAM):
    """Guided Grad-CAM: Guided Backprop times the upsampled Grad-CAM map, per channel.

    Returns ``(N, H, W, C)`` like the pixel methods. Options as :class:`GradCAM` (the map is
    always upsampled).

    Args:
        model: the model to explain; ``output``, ``batch_size`` and the other common options
            are those of :class:`~tfattr.core.explainer.Explainer`.
        layer: the feature map to use: a layer name (also inside nested models), a path
            ``"base/conv"`` or a layer object; None (default) takes the last layer with a 4-D
            output of more than one position (a token model's last token layer, as a grid).
        interpolation: ``tf.image.resize`` method for the upsampling (default ``bilinear``).
        relu: apply the ReLU to the Grad-CAM factor (default True).

    Example:
        >>> attr = tfattr.GuidedGradCAM(model, layer="block5_conv3").explain(images, target=281)

    Reference: Selvaraju et al., "Grad-CAM", ICCV 2017, section 3.2.
    """

    plan_is_attribution = False  # the map is multiplied by Guided Backprop after

    def __init__(self, model, **kwargs):
        from tfattr.methods.rules.guided_backprop import GuidedBackprop

        super().__init__(model, **kwargs)
        self.guided = GuidedBackprop(
            self.adapter, batch_size=self.engine.batch_size, jit_compile=self.engine.jit_compile
        )

    def attribute(self, x, targets, options):
        if targets is None:
            targets = self.top_classes(x)
        cam = super().attribute(x, targets, {**options, "upsample": True})
        return self.guided.attribute(x, targets, self.guided.options) * cam[..., None]
