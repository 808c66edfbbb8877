"""Targets: which score of the model an attribution explains, in one place.

A ``target`` given to ``explain`` resolves to one of three kinds:

- **class ids**, int32 ``(N,)``: the score of image ``i`` is ``scores[i, ids[i]]`` (a gather).
  From None (each image's top class), an int, a class name, or a sequence of N of them.
- **class weights**, float32 ``(N, classes)``: the score is ``sum_c scores[i, c] * w[i, c]``.
  A one-hot row picks one class, a multi-hot row sums the selected classes (Xplique's
  convention), any other finite row is a weighted sum (e.g. a contrast ``[1, -1, 0, ...]``).
- **a callable** ``target(outputs) -> (N,)``, or a sequence of N callables (one per image):
  any scalar function of the model's outputs (a regression output, a detection score, a
  segmentation model's class summed over a region, see :func:`region`). The callables become
  the model adapter's head (:meth:`tfattr.core.adapter.ModelAdapter.with_head`): the adapter
  returns one score column per callable, and the target is column ``0`` (or ``i`` for image
  ``i``), so every method honours them without knowing.

Every method picks its target scores through :func:`pick` (or :func:`pick_each`), which does a
gather for ids and a multiply-and-sum for weights. Rows of a chunk take their image's target
with ``tf.gather(targets, rows.image)``, which works for both shapes.
"""

from __future__ import annotations

import hashlib
import numbers

import numpy as np
import tensorflow as tf


def pick(scores: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Each row's target score: ``(B, ..., classes)`` scores -> ``(B, ...)``.

    Args:
        scores: model scores, the classes on the last axis, one leading row per target.
        targets: int32 ``(B,)`` class ids or float32 ``(B, classes)`` class weights.

    Returns:
        ``scores[b, ..., targets[b]]`` for ids, ``sum_c scores[b, ..., c] * targets[b, c]`` for
        weights (classes of weight 0 do not take part, so a NaN or infinite score of an
        unselected class does not spoil the sum, as with ids).

    Example:
        >>> scores = np.array([[1.0, 2.0, 3.0]], "float32")
        >>> tfattr.targets.pick(scores, np.array([2], "int32")).numpy()
        array([3.], dtype=float32)
        >>> tfattr.targets.pick(scores, np.array([[0.0, 1.0, 1.0]], "float32")).numpy()
        array([5.], dtype=float32)
    """
    scores, targets = tf.convert_to_tensor(scores), tf.convert_to_tensor(targets)
    rank = scores.shape.rank
    if targets.shape.rank == 1:  # class ids: a gather, as fast as before weights existed
        return tf.gather(scores, targets, axis=rank - 1, batch_dims=1)
    weights = tf.cast(targets, scores.dtype)
    if rank > 2:
        weights = tf.reshape(weights, [-1] + [1] * (rank - 2) + [weights.shape[-1]])
    return tf.reduce_sum(tf.where(weights != 0, scores * weights, tf.zeros_like(scores)), -1)


def pick_each(scores: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Every image's target score in every row of shared scores: ``(K, classes)`` -> ``(K, N)``.

    For scores that all images share (e.g. of K baselines common to the N images).
    """
    if targets.shape.rank == 1:
        return tf.gather(scores, targets, axis=1)
    weights = tf.cast(targets, scores.dtype)[None]  # (1, N, classes)
    products = scores[:, None, :] * weights
    return tf.reduce_sum(tf.where(weights != 0, products, tf.zeros_like(products)), -1)


def top(scores: tf.Tensor) -> tf.Tensor:
    """Each row's top class, int32 ``(B,)``."""
    return tf.argmax(scores, axis=-1, output_type=tf.int32)


# --- Resolution ---------------------------------------------------------------------------------


def head_of(target, n: int | None = None, name: str = "target") -> tuple | None:
    """The callables of a callable target (a tuple of 1, or of N: one per image), else None.

    Raises:
        ValueError: a sequence of callables whose length is not the number of images ``n``.
        TypeError: a sequence mixing callables and other values.
    """
    if _is_callable_target(target):
        return (target,)
    if isinstance(target, list | tuple) and target and any(map(_is_callable_target, target)):
        if not all(map(_is_callable_target, target)):
            raise TypeError(
                f"{name}: a sequence of targets mixes callables and other values "
                f"({[type(t).__name__ for t in target]}); give one kind: N callables (one per "
                f"image) or N class indices."
            )
        if n is not None and len(target) != n:
            raise ValueError(
                f"{name}: got {len(target)} callables for {n} images; give one callable per "
                f"image, or a single callable for all of them."
            )
        return tuple(target)
    return None


def _is_callable_target(value) -> bool:
    return callable(value) and not isinstance(value, tf.Tensor | tf.Variable | np.ndarray)


def resolve(
    target, n: int, num_classes: int, name: str = "target", weights: bool = True
) -> tf.Tensor | None:
    """Checks ``target`` and returns class ids, class weights, or None for "the top class".

    Args:
        target: None, an int, a sequence / 1-D array / tensor of N ints, or an ``(N, classes)``
            array / tensor of one-hot, multi-hot or real weights. Class names are resolved
            before (by the explainer's ModelSpec); callables by the adapter's head.
        n: the number of images.
        num_classes: the number of classes (score columns) of the model.
        name: the argument's name, for error messages.
        weights: whether ``(N, classes)`` weights are accepted (False: class ids only).

    Returns:
        None, int32 ``(N,)`` ids in ``[0, num_classes)``, or float32 ``(N, num_classes)``
        finite weights with a non-zero entry in every row.

    Raises:
        TypeError: a class name without a ModelSpec, a bool, a callable where none is accepted,
            or values that are not numbers.
        ValueError: a wrong shape, an out-of-range class index, non-finite weights or a row of
            zeros.
    """
    if target is None:
        return None
    if isinstance(target, str):
        raise TypeError(
            f"{name}: got the class name {target!r}; give a class index, or look the name up "
            f"with the model spec's class names (tfattr.models.load(...).class_id(name))."
        )
    if isinstance(target, bool | np.bool_):
        raise TypeError(f"{name}: expected a class index (int), got the bool {target!r}.")
    if head_of(target) is not None:
        raise TypeError(
            f"{name}: a callable target is accepted by an explainer's explain(); here give "
            f"class indices{'' if not weights else f' or (N, {num_classes}) class weights'}."
        )
    if isinstance(target, tf.Tensor) and target.dtype == tf.int32 and target.shape == (n,):
        ids, ready = np.asarray(target), target  # checked on its host view, passed on as it is
    elif isinstance(target, numbers.Integral):
        ids, ready = np.full((n,), int(target), np.int64), None
    else:
        array = np.asarray(target)  # (a tensor's host view, not a copy)
        if array.ndim == 2 and weights:
            return _weights(array, target, n, num_classes, name)
        if array.ndim == 0 and np.issubdtype(array.dtype, np.integer):
            array = np.full((n,), int(array), np.int64)
        if not np.issubdtype(array.dtype, np.integer) or array.dtype == np.bool_:
            raise TypeError(
                f"{name}: expected None, an int or a sequence of ints (class indices)"
                + (", (N, classes) one-hot or weight vectors, or a callable" if weights else "")
                + f"; got {type(target).__name__} of dtype {array.dtype} and shape "
                f"{array.shape}."
            )
        if array.ndim != 1 or array.shape[0] != n:
            raise ValueError(
                f"{name}: expected one class index per image ({n}), got shape {array.shape}. "
                f"Pass an int to explain the same class for every image"
                + (f", or ({n}, {num_classes}) one-hot / weight vectors." if weights else ".")
            )
        ids, ready = array.astype(np.int64), None
    bad = ids[(ids < 0) | (ids >= num_classes)]
    if bad.size:
        raise ValueError(
            f"{name}: class index {int(bad[0])} is out of range; the model has {num_classes} "
            f"classes, so targets must be in [0, {num_classes - 1}]."
        )
    return ready if ready is not None else tf.constant(ids, tf.int32)


def _weights(array: np.ndarray, target, n: int, num_classes: int, name: str) -> tf.Tensor:
    """Checks ``(N, classes)`` one-hot / multi-hot / weight vectors; float32 tensor."""
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_
    ):
        raise TypeError(
            f"{name}: expected (N, classes) one-hot or weight vectors of numbers, got dtype "
            f"{array.dtype}."
        )
    if np.issubdtype(array.dtype, np.complexfloating):
        raise TypeError(f"{name}: expected real weights, got dtype {array.dtype}.")
    if array.shape != (n, num_classes):
        raise ValueError(
            f"{name}: one-hot / weight vectors must have shape (images, classes) = ({n}, "
            f"{num_classes}), got {array.shape}. Build them with "
            f"tf.one_hot(class_ids, {num_classes}) (or sum rows of it for multi-hot)."
        )
    weights = array.astype(np.float32)
    finite = np.isfinite(weights)
    if not finite.all():
        row = int(np.flatnonzero(~finite.all(axis=1))[0])
        raise ValueError(
            f"{name}: the weight vector of image {row} holds NaN or infinite values; give "
            f"finite weights."
        )
    empty = ~(weights != 0).any(axis=1)
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise ValueError(
            f"{name}: the one-hot / weight vector of image {row} is all zeros, so it selects "
            f"no score; give at least one non-zero weight per image (or None for the top class)."
        )
    if isinstance(target, tf.Tensor) and target.dtype == tf.float32:
        return target
    return tf.constant(weights)


# --- Callable targets -------------------------------------------------------------------------


class Region:
    """A segmentation model's class score summed over a region: a callable target.

    ``region(outputs) = sum over pixels (h, w) of mask[h, w] * outputs[:, h, w, class_id]`` for
    outputs ``(N, H, W, classes)`` (pytorch-grad-cam's ``SemanticSegmentationTarget``). Build
    it with :func:`region`. Two regions with the same mask and class are equal, so explaining
    with a fresh but equal region reuses the compiled steps.

    Args:
        mask: ``(H, W)`` (or ``(H, W, 1)``) bools or weights, not all zero.
        class_id: the class channel of the outputs.

    Example:
        >>> region = tfattr.targets.Region(masks[0], class_id=1)
        >>> region(np.ones((2, 32, 32, 3), "float32")).numpy()       # pixels in the region
        array([512., 512.], dtype=float32)
    """

    def __init__(self, mask, class_id: int):
        if isinstance(class_id, bool) or not isinstance(class_id, numbers.Integral | np.integer):
            raise TypeError(f"class_id: expected an int (a class index), got {class_id!r}.")
        mask = np.asarray(mask)
        if mask.dtype == object or not (
            np.issubdtype(mask.dtype, np.number) or mask.dtype == np.bool_
        ):
            raise TypeError(f"mask: expected an array of bools or numbers, got dtype {mask.dtype}.")
        if mask.ndim == 3 and mask.shape[-1] == 1:
            mask = mask[..., 0]
        if mask.ndim != 2:
            raise ValueError(
                f"mask: expected one (H, W) mask of the region, got shape {mask.shape}. For a "
                f"region per image give a list of targets, one region(mask_i, class) each."
            )
        mask = mask.astype(np.float32)
        if not np.isfinite(mask).all():
            raise ValueError("mask: holds NaN or infinite values.")
        if not mask.any():
            raise ValueError(
                f"mask: the region is empty (all {mask.size} values are 0), so its score is 0 "
                f"whatever the image; select at least one pixel."
            )
        self.mask = mask
        self.class_id = int(class_id)
        self._key = (self.class_id, mask.shape, hashlib.sha1(mask.tobytes()).hexdigest())

    def __call__(self, outputs) -> tf.Tensor:
        outputs = tf.convert_to_tensor(outputs)
        height, width = self.mask.shape
        if outputs.shape.rank != 4 or tuple(outputs.shape[1:3]) != (height, width):
            raise ValueError(
                f"target: region(mask, {self.class_id}) needs segmentation outputs (N, {height}, "
                f"{width}, classes) matching the mask's (H, W) = ({height}, {width}); the model "
                f"returns {tuple(outputs.shape)}. Resize the mask to the output's size."
            )
        classes = int(outputs.shape[-1])
        if not 0 <= self.class_id < classes:
            raise ValueError(
                f"target: region class {self.class_id} is out of range; the model's outputs "
                f"have {classes} classes, so it must be in [0, {classes - 1}]."
            )
        mask = tf.constant(self.mask, outputs.dtype)
        return tf.reduce_sum(outputs[..., self.class_id] * mask, axis=[1, 2])

    def __eq__(self, other):
        return isinstance(other, Region) and other._key == self._key

    def __hash__(self):
        return hash(self._key)

    def __repr__(self):
        return f"region(mask of {int((self.mask != 0).sum())} pixels, class_id={self.class_id})"


def region(mask, class_id: int) -> Region:
    """A target that explains a segmentation model's class ``class_id`` summed over a region.

    For a model whose outputs are ``(N, H, W, classes)`` (per-pixel logits, or probabilities
    with ``output="probabilities"``), the explained score is
    ``sum_{h, w} mask[h, w] * outputs[:, h, w, class_id]``: "why are these pixels of this
    class". Pass it as ``target=`` to any explainer's ``explain``; a list of regions, one per
    image, explains a different region in each image.

    Args:
        mask: ``(H, W)`` bools or weights at the model's output resolution, e.g.
            ``predicted == class_id`` for the pixels the model assigns to the class.
        class_id: the class channel to explain.

    Returns:
        A :class:`Region`, a callable ``outputs -> (N,)`` scores.

    Example:
        >>> import keras
        >>> segmenter = keras.Sequential([
        ...     keras.Input((32, 32, 3)),
        ...     keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="features"),
        ...     keras.layers.Conv2D(3, 1),                        # per-pixel logits of 3 classes
        ... ])
        >>> target = tfattr.targets.region(masks[0], class_id=1)  # (32, 32) pixels of class 1
        >>> tfattr.GradCAM(segmenter, layer="features").explain(images, target=target).shape
        TensorShape([2, 32, 32])
        >>> one_each = [tfattr.targets.region(m, class_id=1) for m in masks]  # one per image
        >>> tfattr.Saliency(segmenter).explain(images, target=one_each).shape
        TensorShape([2, 32, 32, 3])
    """
    return Region(mask, class_id)
