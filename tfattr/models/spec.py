"""``ModelSpec``: a loaded model with everything needed to feed and read it."""

from __future__ import annotations

import dataclasses
import functools
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from tfattr.data.labels import find_class, imagenet_class_names, imagenet_wnids


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """A model and how to use it: preprocessing, input size, classes and the default CAM layer.

    Class ids are the model's output indices. ImageNet models with 1001 outputs (TF-Hub
    classification models) have ``label_offset=1``: output 0 is "background" and ImageNet-1k class
    ``i`` is output ``i + 1``.

    Attributes:
        name: the preset name, TF-Hub handle or path the model was loaded from.
        model: the model (Keras 3 model, or a ``hub.load`` / SavedModel object when opaque).
        preprocess: maps uint8 RGB images ``(..., H, W, 3)`` in 0..255 to the model's inputs.
        input_size: ``(height, width)`` the model takes.
        num_classes: number of model outputs.
        label_offset: model output index of ImageNet-1k class 0 (0 or 1); 0 for non-ImageNet models.
        cam_layer: name of the default Grad-CAM layer, or None (opaque models).
        opaque: whether the model exposes no layers (only pure-gradient methods apply).
        imagenet: whether the outputs are the ImageNet-1k classes (after the offset).
        names: explicit class names, one per output (otherwise ImageNet's, looked up lazily);
            read them through :attr:`class_names`.

    Example:
        >>> model.save("my_model.keras")                # or load("mobilenet_v2") and others
        >>> spec = tfattr.models.load("my_model.keras", preprocess="caffe")
        >>> spec.input_size, spec.num_classes, spec.cam_layer
        ((32, 32), 1000, 'block5_conv3')
        >>> x = spec.preprocess(tfattr.data.load_image("cat.jpg", spec.input_size))
        >>> attr = tfattr.Saliency(spec.model).explain(x, target=spec.class_id("tabby"))
        >>> attr.shape
        TensorShape([32, 32, 3])
    """

    name: str
    model: Any
    preprocess: Callable[[Any], Any]
    input_size: tuple[int, int]
    num_classes: int
    label_offset: int = 0
    cam_layer: str | None = None
    opaque: bool = False
    imagenet: bool = True
    names: tuple[str, ...] | None = dataclasses.field(default=None, repr=False)

    @property
    def value_range(self) -> tuple[float, float]:
        """``(low, high)`` of the model's inputs: the preprocessed black and white images.

        Example:
            >>> tfattr.models.load("mobilenet", weights=None).value_range
            (-1.0, 1.0)
        """
        from tfattr.models.preprocessing import value_range

        return value_range(self.preprocess)

    def black_and_white(self):
        """The black and white ``(1, H, W, 3)`` images in the model's input scale (baselines).

        Returns:
            ``(black, white)``: float32 tensors ``(1, H, W, 3)``, the preprocessed uint8 0 and
            255 images.

        Example:
            >>> black, white = spec.black_and_white()           # caffe preprocessing
            >>> black.shape, [round(float(v), 2) for v in black[0, 0, 0]]   # minus the BGR means
            (TensorShape([1, 32, 32, 3]), [-103.94, -116.78, -123.68])
        """
        import tensorflow as tf

        shape = (1, *self.input_size, 3)
        black = self.preprocess(tf.zeros(shape, tf.uint8))
        return black, self.preprocess(tf.fill(shape, tf.constant(255, tf.uint8)))

    @functools.cached_property
    def class_names(self) -> tuple[str, ...] | None:
        """One name per model output (``"background"`` first for 1001-class models), or None.

        ImageNet names come from :func:`tfattr.data.imagenet_class_names` (WordNet ids offline);
        they are looked up on first use, so loading a model never touches the network.
        """
        if self.names is not None:
            return tuple(self.names)
        if not self.imagenet:
            return None
        return ("background",) * self.label_offset + imagenet_class_names()

    def class_id(self, target) -> int:
        """The model output index of a class given by name, WordNet id or index.

        Args:
            target: a class name (``"tabby"``, case and ``_``/space insensitive), an ImageNet
                WordNet id (``"n02123045"``), or an int model output index (returned checked).

        Returns:
            The model output index (ImageNet index + ``label_offset``).

        Example:
            >>> spec.class_id("tabby"), spec.class_id("n02123045"), spec.class_id(281)
            (281, 281, 281)
        """
        if isinstance(target, numbers.Integral) and not isinstance(target, bool):
            if not 0 <= int(target) < self.num_classes:
                raise ValueError(
                    f"target: class index {int(target)} is out of range [0, {self.num_classes - 1}]."
                )
            return int(target)
        if not isinstance(target, str):
            raise TypeError(f"target: expected a class name or index, got {type(target).__name__}.")
        names = self.class_names
        if names is None:
            raise ValueError(
                f"target: {target!r} given by name, but the model {self.name!r} has no class "
                f"names; give an index, or load it with class_names=[...]."
            )
        wnids = ("background",) * self.label_offset + imagenet_wnids() if self.imagenet else None
        return find_class(target, names, wnids)

    def class_ids(self, targets) -> list[int]:
        """:meth:`class_id` of each target: ``spec.class_ids(["tabby", "n01440764", 3])``.

        Args:
            targets: one target or a sequence of them, each as :meth:`class_id` takes.

        Returns:
            A list of model output indices.

        Example:
            >>> spec.class_ids(["tabby", "n01440764", 3])
            [281, 0, 3]
        """
        if isinstance(targets, str | numbers.Integral):
            targets = [targets]
        return [self.class_id(t) for t in targets]

    def to_model_ids(self, imagenet_labels):
        """ImageNet-1k indices -> model output indices (adds ``label_offset``).

        Args:
            imagenet_labels: ImageNet-1k class indices (int or array-like).

        Returns:
            A numpy array of model output indices.

        Example:
            >>> import dataclasses
            >>> hub_like = dataclasses.replace(spec, label_offset=1)   # 1001 outputs
            >>> hub_like.to_model_ids([0, 281]).tolist()
            [1, 282]
        """
        return np.asarray(imagenet_labels) + self.label_offset

    def to_imagenet(self, model_ids):
        """Model output indices -> ImageNet-1k indices (-1 for "background").

        Args:
            model_ids: model output indices (int or array-like).

        Returns:
            A numpy array of ImageNet-1k indices, -1 where the output is "background".

        Example:
            >>> import dataclasses
            >>> hub_like = dataclasses.replace(spec, label_offset=1)   # 1001 outputs
            >>> hub_like.to_imagenet([0, 282]).tolist()
            [-1, 281]
        """
        ids = np.asarray(model_ids) - self.label_offset
        return np.where(ids < 0, -1, ids)

    def decode(self, scores, top: int = 5) -> list[list[tuple[int, str, float]]]:
        """The `top` classes of each row of `scores` as ``(model id, name, score)``, best first.

        Args:
            scores: ``(N, num_classes)`` model outputs (logits or probabilities).
            top: how many classes per image.

        Returns:
            One list of ``(id, name, score)`` per image (names are ids as strings if unknown).

        Example:
            >>> scores = np.zeros((1, 1000))
            >>> scores[0, [281, 285]] = [0.7, 0.2]
            >>> [(i, name) for i, name, _ in spec.decode(scores, top=2)[0]]
            [(281, 'tabby'), (285, 'Egyptian_cat')]
        """

        scores = np.asarray(scores)
        if scores.ndim != 2 or scores.shape[1] != self.num_classes:
            raise ValueError(f"scores: expected shape (N, {self.num_classes}), got {scores.shape}.")
        names = self.class_names or tuple(str(i) for i in range(self.num_classes))
        order = np.argsort(-scores, axis=1)[:, :top]
        return [
            [(int(i), names[i], float(row[i])) for i in ids]
            for row, ids in zip(scores, order, strict=True)
        ]
