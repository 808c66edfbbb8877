"""Ablation-CAM (Desai & Ramaswamy 2020): channel weights from the score drop when zeroed."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core import layers
from tfattr.core.engine import Plan
from tfattr.core.targets import pick
from tfattr.methods.cam.gradcam import GradCAM


class AblationCAM(GradCAM):
    """``ReLU(sum_k w_k A^k)`` with ``w_k = (y - y_k) / |y|``; no gradients.

    ``y`` is the target score and ``y_k`` the score with channel ``k`` of the layer's output
    set to zero at every position. The paper divides by ``y``; dividing by ``|y|`` gives the
    same map when the score is positive (the usual case for the explained class) and keeps
    "a drop is evidence for the class" when it is not; a score of exactly 0 gives a zero map.

    The work is one forward pass per image for ``A`` and one per (image, channel) and per image
    for ``y``, run by the engine ``batch_size`` rows at a time, as Occlusion's windows; the
    channel is zeroed by a call override on the layer, so the model itself is never changed.

    Args:
        layer, upsample, interpolation, relu: as :class:`GradCAM`.

    Returns from ``explain``: ``(N, H, W)`` float32 maps (``(N, h, w)`` without upsampling).

    Example:
        >>> cam = tfattr.AblationCAM(model, batch_size=64).explain(images, target=281)

    Reference: Desai & Ramaswamy, "Ablation-CAM: Visual Explanations for Deep Convolutional
    Network via Gradient-free Localization", WACV 2020.
    """

    uses_gradients = False

    def ablation_plan(self, layer, channels: int) -> Plan:
        """Rows (image, channel ``k``) score the image with channel ``k`` zeroed; group
        ``channels`` (the last) is the unablated image. Each row's value is its score, one-hot
        at its group, so the engine returns the ``(N, channels + 1)`` grid of scores."""

        def value(points, targets, channel, adapter):
            keep = 1.0 - tf.one_hot(channel, channels)  # all ones for the unablated row

            def zero_channel(call):
                def run(*args, **kwargs):
                    out = call(*args, **kwargs)
                    # Channels last, any rank: a token layer's channel on every token.
                    shape = [-1] + [1] * (out.shape.rank - 2) + [channels]
                    return out * tf.reshape(tf.cast(keep, out.dtype), shape)

                return run

            scores = adapter(points, overrides={layers.keras_layer(layer): zero_channel})
            score = tf.cast(pick(scores, targets), tf.float32)
            return tf.one_hot(channel, channels + 1) * score[:, None]

        return Plan(
            points=1,
            groups=channels + 1,
            build=lambda images, rows, tensors: (images, rows.group),
            key=("ablation_cam", layer, channels),
            value=value,
        )

    def attribute(self, x, targets, options):
        if targets is None:
            targets = self.top_classes(x)
        layer = self.layer(x, options)
        activations = tf.cast(self.layer_activations(x, layer), tf.float32)  # (N, h, w, K)
        channels = int(activations.shape[-1])
        scores = self.engine.run(x, targets, self.ablation_plan(layer, channels))["sum"]
        clean, ablated = scores[:, -1:], scores[:, :-1]
        weights = tf.math.divide_no_nan(clean - ablated, tf.abs(clean))
        cam = tf.einsum("bhwk,bk->bhw", activations, weights)
        return self.finish(cam, tuple(x.shape[1:3]), options)
