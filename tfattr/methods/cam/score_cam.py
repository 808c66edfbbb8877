"""Score-CAM (Wang et al. 2020): channel weights from the scores of activation-masked inputs."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core.engine import Plan
from tfattr.core.inputs import check_positive_int
from tfattr.core.targets import pick
from tfattr.methods.cam.gradcam import GradCAM, resize_maps


class ScoreCAM(GradCAM):
    """``ReLU(sum_k w_k A^k)`` with ``w_k = softmax(F(x * H^k))[target]``; no gradients.

    ``H^k`` is channel ``k`` of the layer's output ``A``, upsampled to the input size
    (``interpolation``) and min-max normalised to [0, 1] per image (an all-constant channel
    gives 0). Conventions are tf-keras-vis' ``Scorecam``: the weight is the softmax
    probability of the target for the masked input (``softmax=False`` uses the explainer's
    ``output`` as it is), there is no baseline-score subtraction, the map combines the
    layer-resolution activations and is then upsampled, and it is not normalised to [0, 1].
    ``max_channels=N`` is Faster Score-CAM (tf-keras-vis' ``max_N``): only the N channels with
    the largest spatial standard deviation of ``A^k`` are scored, the others weigh 0.

    The work is one forward pass per image for ``A`` and one per (image, channel), run by the
    engine ``batch_size`` rows at a time; each masked input is built on the device.

    Args:
        layer: as :class:`GradCAM` (default: the last layer with a 4-D output).
        upsample, interpolation, relu: as :class:`GradCAM`.
        max_channels: None (every channel, default) or the number of channels to score.
        softmax: apply a softmax to the class scores of masked inputs (default True; a
            callable target's score is used as it is).

    Returns from ``explain``: ``(N, H, W)`` float32 maps (``(N, h, w)`` without upsampling).

    Example:
        >>> cam = tfattr.ScoreCAM(model, max_channels=64).explain(images, target=281)

    References: Wang et al., "Score-CAM: Score-Weighted Visual Explanations for Convolutional
    Neural Networks", CVPR workshops 2020; Faster Score-CAM from tf-keras-vis.
    """

    defaults = {**GradCAM.defaults, "max_channels": None, "softmax": True}

    def check_options(self, options):
        super().check_options(options)
        if options["max_channels"] is not None:
            check_positive_int(options["max_channels"], "max_channels")
        if not isinstance(options["softmax"], bool):
            raise TypeError(f"softmax: expected True or False, got {options['softmax']!r}.")

    def attribute(self, x, targets, options):
        if targets is None:
            targets = self.top_classes(x)
        layer = self.layer(x, options)
        activations = self.layer_activations(x, layer)
        channels = int(activations.shape[-1])
        count = min(options["max_channels"] or channels, channels)
        if count < channels:
            spread = tf.math.reduce_std(activations, axis=(1, 2))
            picked = tf.math.top_k(spread, count).indices
        else:
            picked = tf.broadcast_to(tf.range(channels)[None], (int(x.shape[0]), channels))
        size = tuple(x.shape[1:3])
        method, softmax = options["interpolation"], options["softmax"]

        def build(images, rows, tensors):
            channel = tf.gather_nd(tensors["picked"], tf.stack([rows.image, rows.point], axis=1))
            image_maps = tf.gather(tensors["activations"], rows.image)  # (B, h, w, K)
            a = tf.gather(image_maps, channel, axis=3, batch_dims=1)  # (B, h, w)
            h = resize_maps(a, size, method)[..., None]
            low = tf.reduce_min(h, axis=(1, 2, 3), keepdims=True)
            high = tf.reduce_max(h, axis=(1, 2, 3), keepdims=True)
            h = tf.math.divide_no_nan(h - low, high - low)
            return images * h, a

        def value(points, row_targets, a, adapter):
            scores = adapter(points)
            if softmax and adapter.head is None:  # (a callable target's score is no class logit)
                scores = tf.nn.softmax(scores, axis=-1)
            weight = pick(scores, row_targets)
            return weight[:, None, None] * a

        plan = Plan(
            points=count,
            build=build,
            key=("score_cam", method, softmax),
            tensors={"activations": activations, "picked": tf.cast(picked, tf.int32)},
            value=value,
        )
        cam = self.engine.run(x, targets, plan)["sum"]
        if options["relu"]:
            cam = tf.nn.relu(cam)
        if options["upsample"]:
            cam = resize_maps(cam, size, options["interpolation"])
        return cam
