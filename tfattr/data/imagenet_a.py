"""ImageNet-A (Hendrycks et al., "Natural Adversarial Examples", CVPR 2021) from TFDS.

TFDS labels each image with its **ImageNet-1k index** (the same order as keras.applications); only
200 of the 1000 classes occur. The official evaluation scores a model by the argmax over those 200
logits only (``logits[:, indices_in_1k]``); :func:`accuracy_200` does that, and
:func:`accuracy_1000` is the stricter argmax over all 1000 classes.

Labels and predictions here are *model output indices*: ImageNet index + ``label_offset`` (1 for
1001-class TF-Hub models whose output 0 is "background"), so they compare directly with
``argmax(model(x))``.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfattr.data.tfds_loader import tfds_dataset

# indices_in_1k of the official evaluation (hendrycks/natural-adv-examples, eval.py): the
# ImageNet-1k indices of the 200 ImageNet-A classes, sorted.
IMAGENET_A_CLASSES = (
    6, 11, 13, 15, 17, 22, 23, 27, 30, 37, 39, 42, 47, 50, 57, 70, 71, 76, 79, 89,
    90, 94, 96, 97, 99, 105, 107, 108, 110, 113, 124, 125, 130, 132, 143, 144, 150, 151, 207, 234,
    235, 254, 277, 283, 287, 291, 295, 298, 301, 306, 307, 308, 309, 310, 311, 313, 314, 315, 317, 319,
    323, 324, 326, 327, 330, 334, 335, 336, 347, 361, 363, 372, 378, 386, 397, 400, 401, 402, 404, 407,
    411, 416, 417, 420, 425, 428, 430, 437, 438, 445, 456, 457, 461, 462, 470, 472, 483, 486, 488, 492,
    496, 514, 516, 528, 530, 539, 542, 543, 549, 552, 557, 561, 562, 569, 572, 573, 575, 579, 589, 606,
    607, 609, 614, 626, 627, 640, 641, 642, 643, 658, 668, 677, 682, 684, 687, 701, 704, 719, 736, 746,
    749, 752, 758, 763, 765, 768, 773, 774, 776, 779, 780, 786, 792, 797, 802, 803, 804, 813, 815, 820,
    823, 831, 833, 835, 839, 845, 847, 850, 859, 862, 870, 879, 880, 888, 890, 897, 900, 907, 913, 924,
    932, 933, 934, 937, 943, 945, 947, 951, 954, 956, 957, 959, 971, 972, 980, 981, 984, 986, 987, 988,
)  # fmt: skip
"""The ImageNet-1k indices of the 200 ImageNet-A classes, sorted."""


def imagenet_a(
    split: str = "test",
    image_size=224,
    *,
    preprocess=None,
    batch_size: int = 32,
    resize: str = "crop",
    crop_fraction: float = 0.875,
    label_offset: int = 0,
    data_dir=None,
    download: bool = True,
) -> tf.data.Dataset:
    """ImageNet-A (TFDS ``imagenet_a``, 7,500 images) as batched ``(images, labels)``.

    Resize policy: by default ``"crop"`` as the official evaluation (shorter side to
    ``image_size / 0.875``, i.e. 256 for 224, then a centre crop); ``resize="pad"`` gives the
    resize-with-pad of the TensorFlow Integrated Gradients tutorial.

    Args:
        split: ``"test"`` (the only split; slicing such as ``"test[:64]"`` works).
        image_size: int or ``(height, width)``, e.g. ``spec.input_size``.
        preprocess: None (uint8 images) or ``spec.preprocess``.
        batch_size: images per batch.
        resize: ``"crop"``, ``"pad"`` or ``"stretch"``.
        crop_fraction: for ``"crop"``, the kept fraction of the shorter side.
        label_offset: added to the ImageNet-1k labels (``spec.label_offset``).
        data_dir: TFDS data folder.
        download: whether TFDS may download (about 680 MB) and prepare the dataset.

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)``, labels int64 model output indices.

    Example:
        >>> ds = tfattr.data.imagenet_a("test[:4]", image_size=spec.input_size,
        ...                             preprocess=spec.preprocess, batch_size=2)
        >>> images, labels = next(iter(ds))
        >>> images.shape, images.dtype.name, labels.dtype.name
        (TensorShape([2, 32, 32, 3]), 'float32', 'int64')
        >>> sorted(tfattr.data.evaluate_imagenet_a(spec.model, ds))
        ['accuracy_1000', 'accuracy_200', 'count']
    """

    return tfds_dataset(
        "imagenet_a",
        split,
        image_size,
        preprocess=preprocess,
        batch_size=batch_size,
        resize=resize,
        crop_fraction=crop_fraction,
        label_offset=label_offset,
        data_dir=data_dir,
        download=download,
    )


def to_model_labels(labels, label_offset: int = 0) -> tf.Tensor:
    """ImageNet-1k labels -> model output indices (``labels + label_offset``), int64.

    Args:
        labels: ImageNet-1k class indices, any shape.
        label_offset: the model output index of ImageNet class 0 (1 for TF-Hub's 1001 classes).

    Returns:
        An int64 tensor of the labels' shape.

    Example:
        >>> tfattr.data.to_model_labels([0, 281], label_offset=1).numpy().tolist()
        [1, 282]
    """
    return tf.cast(labels, tf.int64) + label_offset


def _columns(label_offset: int) -> np.ndarray:
    return np.asarray(IMAGENET_A_CLASSES, np.int64) + label_offset


def restrict_to_imagenet_a(logits, label_offset: int = 0) -> tf.Tensor:
    """The 200 ImageNet-A columns of ``(N, classes)`` logits, in :data:`IMAGENET_A_CLASSES` order.

    Args:
        logits: ``(N, classes)`` model outputs, ``classes >= 1000 + label_offset``.
        label_offset: the model output index of ImageNet class 0.

    Returns:
        A ``(N, 200)`` tensor.

    Example:
        >>> tfattr.data.restrict_to_imagenet_a(np.zeros((2, 1001)), label_offset=1).shape
        TensorShape([2, 200])
    """
    logits = tf.convert_to_tensor(logits)
    _check_logits(logits, label_offset)
    return tf.gather(logits, _columns(label_offset), axis=-1)


def imagenet_a_mask(label_offset: int = 0, num_classes: int | None = None) -> np.ndarray:
    """Boolean mask over model outputs, True at the 200 ImageNet-A classes.

    Args:
        label_offset: the model output index of ImageNet class 0.
        num_classes: mask length (default ``1000 + label_offset``).

    Returns:
        A bool array ``(num_classes,)``; e.g. ``np.where(mask, logits, -np.inf)`` masks logits.

    Example:
        >>> mask = tfattr.data.imagenet_a_mask(label_offset=1)
        >>> mask.shape, int(mask.sum()), bool(mask[0])        # output 0 is "background"
        ((1001,), 200, False)
    """
    mask = np.zeros(num_classes or 1000 + label_offset, bool)
    mask[_columns(label_offset)] = True
    return mask


def predictions_200(logits, label_offset: int = 0) -> tf.Tensor:
    """Model output index of the best of the 200 ImageNet-A classes, int64 ``(N,)``.

    Args:
        logits: ``(N, classes)`` model outputs, ``classes >= 1000 + label_offset``.
        label_offset: the model output index of ImageNet class 0.

    Returns:
        Model output indices (ImageNet index + ``label_offset``), one per row.

    Example:
        >>> logits = np.zeros((1, 1000))
        >>> logits[0, [0, 6]] = [5.0, 1.0]          # class 0 is not an ImageNet-A class; 6 is
        >>> tfattr.data.predictions_200(logits).numpy().tolist()
        [6]
    """
    best = tf.argmax(restrict_to_imagenet_a(logits, label_offset), axis=-1)
    return tf.gather(_columns(label_offset), best)


def predictions_1000(logits, label_offset: int = 0) -> tf.Tensor:
    """Model output index of the best of the 1000 ImageNet classes (background excluded).

    Args:
        logits: ``(N, classes)`` model outputs, ``classes >= 1000 + label_offset``.
        label_offset: the model output index of ImageNet class 0.

    Returns:
        int64 model output indices ``(N,)``.

    Example:
        >>> logits = np.zeros((1, 1000))
        >>> logits[0, [0, 6]] = [5.0, 1.0]
        >>> tfattr.data.predictions_1000(logits).numpy().tolist()
        [0]
    """
    logits = tf.convert_to_tensor(logits)
    _check_logits(logits, label_offset)
    return tf.argmax(logits[:, label_offset : label_offset + 1000], axis=-1) + label_offset


def accuracy_200(logits, labels, label_offset: int = 0) -> float:
    """Official ImageNet-A accuracy: argmax over the 200 classes only.

    Args:
        logits: ``(N, classes)`` model outputs, ``classes >= 1000 + label_offset``.
        labels: ``(N,)`` model output indices (ImageNet index + ``label_offset``), as
            :func:`imagenet_a` yields them with the same ``label_offset``.
        label_offset: the model output index of ImageNet class 0.

    Returns:
        The fraction of images whose 200-way prediction is the label.

    Example:
        >>> logits = np.zeros((2, 1000))
        >>> logits[:, [0, 6]] = [5.0, 1.0]
        >>> tfattr.data.accuracy_200(logits, [6, 0])     # the 200-way argmax is 6 for both
        0.5
    """
    return _accuracy(predictions_200(logits, label_offset), labels)


def accuracy_1000(logits, labels, label_offset: int = 0) -> float:
    """Accuracy with the argmax over all 1000 ImageNet classes.

    Args:
        logits: ``(N, classes)`` model outputs, ``classes >= 1000 + label_offset``.
        labels: ``(N,)`` model output indices (ImageNet index + ``label_offset``).
        label_offset: the model output index of ImageNet class 0.

    Returns:
        The fraction of images whose 1000-way prediction is the label.

    Example:
        >>> logits = np.zeros((2, 1000))
        >>> logits[:, [0, 6]] = [5.0, 1.0]
        >>> tfattr.data.accuracy_1000(logits, [6, 0])    # the 1000-way argmax is 0 for both
        0.5
    """
    return _accuracy(predictions_1000(logits, label_offset), labels)


def evaluate_imagenet_a(model, dataset, label_offset: int = 0) -> dict:
    """200-way and 1000-way accuracy of `model` on an ``(images, labels)`` dataset.

    Args:
        model: a Keras model, SavedModel / ``hub.load`` object or callable returning logits (or
            probabilities: the argmax is the same).
        dataset: ``(images, labels)`` batches, e.g. :func:`imagenet_a` with the same offset.
        label_offset: the model output index of ImageNet class 0 (``spec.label_offset``).

    Returns:
        ``{"accuracy_200": float, "accuracy_1000": float, "count": int}``.

    Example:
        >>> import tensorflow as tf
        >>> dataset = tf.data.Dataset.from_tensor_slices((x, [6, 11])).batch(2)
        >>> result = tfattr.data.evaluate_imagenet_a(model, dataset)
        >>> sorted(result), result["count"]
        (['accuracy_1000', 'accuracy_200', 'count'], 2)
    """
    from tfattr.core.adapter import ModelAdapter

    adapter = ModelAdapter(model, output="raw")
    right_200 = right_1000 = count = 0
    for images, labels in dataset:
        logits = adapter(tf.cast(images, tf.float32))
        labels = tf.cast(labels, tf.int64)
        right_200 += int(
            tf.reduce_sum(tf.cast(predictions_200(logits, label_offset) == labels, tf.int64))
        )
        right_1000 += int(
            tf.reduce_sum(tf.cast(predictions_1000(logits, label_offset) == labels, tf.int64))
        )
        count += int(labels.shape[0])
    if count == 0:
        raise ValueError("dataset: it yielded no images.")
    return {"accuracy_200": right_200 / count, "accuracy_1000": right_1000 / count, "count": count}


def _accuracy(predictions, labels) -> float:
    labels = tf.reshape(tf.cast(labels, tf.int64), [-1])
    if labels.shape[0] != predictions.shape[0]:
        raise ValueError(
            f"labels: expected one label per row of logits ({predictions.shape[0]}), got "
            f"{labels.shape[0]}."
        )
    return float(tf.reduce_mean(tf.cast(predictions == labels, tf.float64)))


def _check_logits(logits: tf.Tensor, label_offset: int) -> None:
    if logits.shape.rank != 2 or logits.shape[-1] < 1000 + label_offset:
        raise ValueError(
            f"logits: expected (N, {1000 + label_offset}) ImageNet scores with label_offset="
            f"{label_offset}, got shape {tuple(logits.shape)}."
        )
