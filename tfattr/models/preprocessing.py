"""Preprocessing: uint8 RGB images (0..255) -> what a model expects, in TensorFlow (tf.data-safe).

The modes are those of ``keras.applications.imagenet_utils.preprocess_input``, plus ``"unit"``
for TF-Hub image models:

- ``"caffe"`` (VGG, ResNet50): RGB -> BGR, minus the ImageNet mean per channel, no scaling.
- ``"tf"`` (Inception v3, MobileNet v1/v2): ``x / 127.5 - 1``, in [-1, 1].
- ``"torch"``: ``(x / 255 - mean) / std`` with the ImageNet mean and std.
- ``"unit"`` (TF-Hub image models, e.g. Inception v1): ``x / 255``, in [0, 1].
- ``"none"``: float32 cast only (models that hold their own preprocessing layers, in 0..255:
  EfficientNet, EfficientNetV2, ConvNeXt, MobileNetV3).
"""

from __future__ import annotations

import tensorflow as tf

# ImageNet statistics as Keras' preprocess_input uses them.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)

MODES = ("caffe", "tf", "torch", "unit", "none")


class Preprocess:
    """A named preprocessing function: ``Preprocess("caffe")(images) -> float32 tensor``.

    Args:
        mode: one of ``"caffe"``, ``"tf"``, ``"torch"``, ``"unit"``, ``"none"`` (module doc).

    Example:
        >>> to_inputs = tfattr.models.Preprocess("tf")          # x / 127.5 - 1
        >>> to_inputs(np.array([0, 255], np.uint8)).numpy().tolist()
        [-1.0, 1.0]
        >>> tfattr.models.Preprocess("caffe")(photo).shape      # BGR, ImageNet means removed
        TensorShape([32, 32, 3])
    """

    def __init__(self, mode: str):
        if mode not in MODES:
            raise ValueError(
                f"preprocess: expected one of {MODES} or a function images -> model inputs, "
                f"got {mode!r}."
            )
        self.mode = mode

    def __call__(self, images) -> tf.Tensor:
        x = tf.cast(images, tf.float32)
        if self.mode == "caffe":
            return x[..., ::-1] - tf.constant(_CAFFE_MEAN_BGR, tf.float32)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            return (x / 255.0 - tf.constant(_TORCH_MEAN)) / tf.constant(_TORCH_STD)
        if self.mode == "unit":
            return x / 255.0
        return x

    @property
    def value_range(self) -> tuple[float, float]:
        """``(low, high)``: the smallest and largest model input (black and white, per channel).

        Example:
            >>> tfattr.models.Preprocess("tf").value_range
            (-1.0, 1.0)
        """

        return value_range(self)

    def __repr__(self) -> str:
        return f"Preprocess({self.mode!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Preprocess) and other.mode == self.mode

    def __hash__(self) -> int:
        return hash(("Preprocess", self.mode))


def as_preprocess(preprocess):
    """A mode name, a :class:`Preprocess` or any callable, as a callable."""
    if isinstance(preprocess, str):
        return Preprocess(preprocess)
    if callable(preprocess):
        return preprocess
    raise TypeError(
        f"preprocess: expected a mode name {MODES} or a function images -> model inputs, "
        f"got {type(preprocess).__name__}."
    )


def value_range(preprocess) -> tuple[float, float]:
    """``(low, high)`` of what `preprocess` makes of black and white images, over all channels.

    The black and white images themselves are ``preprocess(zeros)`` and ``preprocess(255s)``;
    this is their extent, e.g. ``(-1, 1)`` for ``"tf"``, ``(-123.68, 151.061)`` for ``"caffe"``.
    """
    black = as_preprocess(preprocess)(tf.zeros((1, 1, 1, 3), tf.uint8))
    white = as_preprocess(preprocess)(tf.fill((1, 1, 1, 3), tf.constant(255, tf.uint8)))
    both = tf.concat([tf.reshape(black, [-1]), tf.reshape(white, [-1])], 0)
    return float(tf.reduce_min(both)), float(tf.reduce_max(both))
