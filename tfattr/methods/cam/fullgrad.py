"""FullGrad (Srinivas & Fleuret 2019): input-gradients and the bias-gradients of every layer."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core import layers
from tfattr.core.engine import Plan, images_as_points
from tfattr.core.explainer import GradientExplainer
from tfattr.core.inputs import check_choice
from tfattr.core.overrides import with_activation
from tfattr.core.targets import pick, top
from tfattr.methods.cam.gradcam import INTERPOLATIONS, resize_maps

BATCH_NORMS = ("BatchNormalization", "SyncBatchNormalization")


def effective_bias(layer):
    """A function returning the bias a layer adds to its output's last axis, or None.

    Conv and Dense layers: their ``bias``. Batch normalisation (affine at inference):
    ``beta - moving_mean * gamma / sqrt(moving_variance + epsilon)``.
    """
    if type(layer).__name__ in BATCH_NORMS:

        def batch_norm_bias():
            mean = tf.convert_to_tensor(layer.moving_mean)
            scale = tf.math.rsqrt(tf.convert_to_tensor(layer.moving_variance) + layer.epsilon)
            if getattr(layer, "gamma", None) is not None:
                scale = scale * tf.convert_to_tensor(layer.gamma)
            beta = layer.beta if getattr(layer, "beta", None) is not None else 0.0
            return beta - mean * scale

        return batch_norm_bias
    if getattr(layer, "use_bias", False) and getattr(layer, "bias", None) is not None:
        return lambda: tf.convert_to_tensor(layer.bias)
    return None


def bias_axis(layer) -> int:
    """The output axis a layer's bias runs along (batch normalisation's ``axis``, else -1)."""
    axis = getattr(layer, "axis", -1) if type(layer).__name__ in BATCH_NORMS else -1
    return int(axis[0] if isinstance(axis, list | tuple) else axis)


def bias_layers(adapter) -> list[tuple[str, object, object, bool]]:
    """``(path, layer, bias function, fused)`` of every layer with a bias, in model order.

    ``fused``: the layer applies a fused ``activation=`` after adding its bias, so its output
    before the activation is tapped instead of its output.
    """
    found = []
    for path, layer in layers.walk(adapter.model):
        if layers.is_container(layer) or layer in adapter.overrides:
            continue
        bias = effective_bias(layer)
        if bias is None:
            continue
        fused = type(layer).__name__ not in BATCH_NORMS and layers.activation_name(layer)
        found.append((path, layer, bias, bool(fused)))
    return found


def _identity(x):
    return x


def _tap_before_activation(layer, store: list, tape: tf.GradientTape):
    """Override recording the layer's output before its fused activation (where the bias is
    added), run by a twin of the layer without activation; the layer itself is not changed."""

    def override(call):
        linear = with_activation(layer, _identity)

        def run(*args, **kwargs):
            z = linear(*args, **kwargs)
            tape.watch(z)
            store.append(z)
            return layer.activation(z)

        return run

    return override


def full_gradients(adapter, points, targets, biased):
    """The full-gradient decomposition of each row's target score.

    Returns:
        ``(input_term, bias_terms)``: ``dF/dx * x`` ``(B, H, W, C)``, and per call of each
        layer with a bias ``(path, dF/dz * b)`` with ``z`` the layer's output before its
        activation (shape of the output: ``(B, h, w, K)`` for conv layers, ``(B, K)`` for dense
        ones). For a piecewise-linear network (ReLU, max pooling) all of whose biases are in
        these layers, the sum of every term equals the target score (completeness).
    """
    stores = [[] for _ in biased]
    with tf.GradientTape() as tape:
        tape.watch(points)
        overrides = {
            layer: _tap_before_activation(layer, store, tape)
            if fused
            else layers.capture(store, tape)
            for (_, layer, _, fused), store in zip(biased, stores, strict=True)
        }
        scores = adapter(points, overrides=overrides)
        if targets is None:
            targets = top(scores)
        picked = pick(scores, targets)
    outputs = [out for store in stores for out in store]
    grads = tape.gradient(picked, [points, *outputs])
    input_term = tf.cast(grads[0] * points, tf.float32)
    bias_terms, index = [], 1
    for (path, layer, bias, _), store in zip(biased, stores, strict=True):
        for out in store:
            grad = grads[index] if grads[index] is not None else tf.zeros_like(out)
            index += 1
            shape = [1] * out.shape.rank
            shape[bias_axis(layer)] = -1
            grad = tf.cast(grad, tf.float32)  # (float16 in mixed-precision models)
            bias_terms.append((path, grad * tf.reshape(tf.cast(bias(), tf.float32), shape)))
    return input_term, bias_terms


def _post_process(term: tf.Tensor) -> tf.Tensor:
    """The paper's psi: absolute value, rescaled to [0, 1] per image over all its elements."""
    term = tf.abs(term)
    axes = list(range(1, term.shape.rank))
    term = term - tf.reduce_min(term, axis=axes, keepdims=True)
    return term / (tf.reduce_max(term, axis=axes, keepdims=True) + 1e-6)


class FullGrad(GradientExplainer):
    """``psi(dF/dx * x) + sum over conv layers of psi(dF/dz * b)``, summed over channels.

    The full-gradient decomposition splits the target score of a ReLU network exactly into the
    input-gradient term ``dF/dx * x`` and one bias-gradient term ``dF/dz * b`` per layer with a
    bias ``b`` (``z`` is the layer's output before its activation; batch normalisation counts
    with its inference-time bias ``beta - mean * gamma / sqrt(var + eps)``). The saliency map
    applies ``psi`` (absolute value, then rescaled to [0, 1] per image over all channels and
    positions, as the authors' code) to the input term and to every spatial bias term, resizes
    the latter to the input size and sums everything over channels. Dense layers' bias terms
    have no position and enter only the decomposition (:meth:`decompose`). pytorch-grad-cam
    rescales each channel separately instead; the paper's rescaling is kept here.

    There is no ``layer`` option: every layer with a bias is used (for a fused ``activation=``,
    its output before the activation). The model must expose its layers. Completeness needs a
    piecewise-linear network through the origin (ReLU, leaky ReLU, max and average pooling):
    other nonlinearities (sigmoid, swish, ReLU6's clipping) carry implicit biases of their own,
    which no layer's bias term counts, so the terms then sum close to, not exactly to, F(x).

    Args:
        interpolation: ``tf.image.resize`` method used to bring the bias maps to the input size
            (default ``bilinear``; the authors' code uses bilinear with aligned corners).

    Returns from ``explain``: ``(N, H, W)`` float32 maps at the input resolution.

    Example:
        >>> saliency = tfattr.FullGrad(model).explain(images, target=281)
        >>> input_term, bias_terms = tfattr.FullGrad(model).decompose(images, target=281)

    Reference: Srinivas & Fleuret, "Full-Gradient Representation for Neural Network
    Visualization", NeurIPS 2019.
    """

    defaults = {"interpolation": "bilinear"}
    at_inputs = True

    def check_options(self, options):
        layers.require_layers(self.adapter, type(self).__name__)
        check_choice(options["interpolation"], "interpolation", INTERPOLATIONS)

    def plan(self, x, options):
        biased = bias_layers(self.adapter)
        size, method = tuple(x.shape[1:3]), options["interpolation"]

        def value(points, targets, coef, adapter):
            input_term, bias_terms = full_gradients(adapter, points, targets, biased)
            cam = tf.reduce_sum(_post_process(input_term), axis=-1)
            for _, term in bias_terms:
                if term.shape.rank == 4:
                    spatial = tf.reduce_sum(_post_process(term), axis=-1)
                    cam = cam + resize_maps(spatial, size, method)
            return cam

        return Plan(
            points=1,
            build=images_as_points,
            key=("FullGrad", method, tuple(layer for _, layer, _, _ in biased)),
            value=value,
        )

    def decompose(self, inputs, target=None):
        """The full-gradient decomposition, before any post-processing.

        Args:
            inputs: one image or a batch, as for :meth:`explain`.
            target: as for :meth:`explain` (None: each image's top class).

        Returns:
            ``(input_term, bias_terms)``: ``dF/dx * x`` (the input's shape) and a list of
            ``(layer path, dF/dz * b)`` per call of each layer with a bias. For a ReLU network
            all of whose biases are in those layers, ``sum(input_term) + sum of every bias
            term`` equals the target score ``F(x)``, per image.
        """
        explainer, x, single, targets = self.prepare(inputs, target)
        if targets is None:
            targets = explainer.top_classes(x)
        adapter = explainer.adapter
        input_term, bias_terms = full_gradients(adapter, x, targets, bias_layers(adapter))
        if single:
            return input_term[0], [(path, term[0]) for path, term in bias_terms]
        return input_term, bias_terms
