"""Reading and resizing images, and image folders as ``tf.data`` pipelines.

Resize policies (``resize=``), all returning uint8 RGB images of exactly ``size``:

- ``"crop"`` (default): the shorter side is scaled to ``size / crop_fraction`` and the centre
  ``size`` is cut out, as in the official ImageNet evaluations (``Resize(256)``,
  ``CenterCrop(224)``: ``crop_fraction = 224 / 256 = 0.875``).
- ``"pad"``: the whole image is scaled to fit and padded with black, as ``tf.image.resize_with_pad``
  in the TensorFlow Integrated Gradients tutorial.
- ``"stretch"``: scaled to ``size`` ignoring the aspect ratio.
"""

from __future__ import annotations

import numbers
import os
import pathlib
import re

import numpy as np
import tensorflow as tf

from tfattr.data.labels import imagenet_wnids, is_wnid

RESIZE_POLICIES = ("crop", "pad", "stretch")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
_LEADING_WNID = re.compile(r"^(n\d{8})(?:[_\-.]|$)")


def as_size(size, name: str = "size") -> tuple[int, int]:
    """``224`` or ``(224, 224)`` as ``(height, width)``."""
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (int(size), int(size))
    if (
        not isinstance(size, tuple | list)
        or len(size) != 2
        or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in size)
        or min(size) < 1
    ):
        raise ValueError(
            f"{name}: expected an int or (height, width) of positive ints, got {size!r}."
        )
    return int(size[0]), int(size[1])


def resize_image(image, size, resize: str = "crop", crop_fraction: float = 0.875) -> tf.Tensor:
    """Resizes an image ``(H, W, C)`` or a batch to ``size`` by a policy (see the module doc).

    Args:
        image: uint8 or float image(s) in [0, 255].
        size: int or ``(height, width)``.
        resize: ``"crop"``, ``"pad"`` or ``"stretch"``.
        crop_fraction: for ``"crop"``, the fraction of the resized shorter side that is kept.

    Returns:
        uint8 image(s) of shape ``(*size, C)``, rounded from bilinear resampling.

    Example:
        >>> small = tfattr.data.resize_image(photo, 128, resize="crop")
    """
    height, width = as_size(size)
    check_resize(resize, crop_fraction)
    image = tf.cast(image, tf.float32)
    if resize == "stretch":
        out = tf.image.resize(image, (height, width), antialias=True)
    elif resize == "pad":
        out = tf.image.resize_with_pad(image, height, width, antialias=True)
    else:
        shape = tf.cast(tf.shape(image)[-3:-1], tf.float32)
        target = tf.constant([height, width], tf.float32)
        # Scale so that the crop box, enlarged by 1 / crop_fraction, just fits the image.
        scale = tf.reduce_max(target / crop_fraction / shape)
        scaled = tf.cast(tf.maximum(tf.round(shape * scale), target), tf.int32)
        out = tf.image.resize(image, scaled, antialias=True)
        top = (scaled[0] - height) // 2
        left = (scaled[1] - width) // 2
        out = out[..., top : top + height, left : left + width, :]
        out = tf.ensure_shape(out, [*out.shape[:-3], height, width, out.shape[-1]])
    return tf.cast(tf.clip_by_value(tf.round(out), 0, 255), tf.uint8)


def check_resize(resize: str, crop_fraction: float) -> None:
    """Raises ValueError for an unknown resize policy or a crop fraction outside (0, 1]."""
    if resize not in RESIZE_POLICIES:
        raise ValueError(f"resize: expected one of {RESIZE_POLICIES}, got {resize!r}.")
    if not isinstance(crop_fraction, numbers.Real) or not 0 < crop_fraction <= 1:
        raise ValueError(f"crop_fraction: expected a number in (0, 1], got {crop_fraction!r}.")


def decode_image(data: tf.Tensor) -> tf.Tensor:
    """Decodes JPEG/PNG/BMP/GIF bytes into a uint8 RGB ``(H, W, 3)`` tensor (graph-safe)."""
    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def load_image(path, size=None, resize: str = "crop", crop_fraction: float = 0.875) -> tf.Tensor:
    """Reads an image file into a uint8 RGB tensor ``(H, W, 3)``, optionally resized.

    Args:
        path: a JPEG, PNG, BMP or GIF file.
        size: None (keep the file's size), an int or ``(height, width)``.
        resize: the resize policy, ``"crop"`` (default), ``"pad"`` or ``"stretch"`` (module doc).
        crop_fraction: for ``"crop"``, the kept fraction of the shorter side.

    Returns:
        A uint8 tensor ``(H, W, 3)``; grayscale and RGBA files are converted to RGB.

    Raises:
        ValueError: the file does not exist or is not a readable image.

    Example:
        >>> image = tfattr.data.load_image("cat.jpg", size=224)
        >>> x = spec.preprocess(image)
    """
    path = pathlib.Path(os.fspath(path))
    if not path.is_file():
        raise ValueError(
            f"path: no image file at {str(path)!r} (it does not exist or is a folder)."
        )
    try:
        image = decode_image(tf.io.read_file(str(path)))
    except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as error:
        raise ValueError(
            f"path: {str(path)!r} is not a readable JPEG, PNG, BMP or GIF image "
            f"({error.message.splitlines()[0]}). Convert it, e.g. with PIL, and try again."
        ) from None
    if size is None:
        return image
    return resize_image(image, size, resize=resize, crop_fraction=crop_fraction)


def _image_files(folder: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def folder_labels(path) -> tuple[list[str], list[int], list[str]]:
    """Files, labels and class names of an image folder (layouts: see :func:`image_folder`).

    Args:
        path: the folder.

    Returns:
        ``(files, labels, class_names)``: sorted file paths, their labels (ImageNet-1k indices
        for WordNet-id classes, else positions in ``class_names``; -1 when unknown), and the
        class folder names (or WordNet ids of a flat folder).

    Example:
        >>> files, labels, classes = tfattr.data.folder_labels("photos/")
    """
    root = pathlib.Path(os.fspath(path))
    if not root.is_dir():
        raise ValueError(f"path: {str(root)!r} is not a folder of images.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and _image_files(p))
    if class_dirs:
        files = [(f, d.name) for d in class_dirs for f in _image_files(d)]
        classes = [d.name for d in class_dirs]
    else:
        files = [(f, _leading_wnid(f.name)) for f in _image_files(root)]
        classes = sorted({c for _, c in files if c is not None})
        if any(c is None for _, c in files):
            files = [(f, None) for f, _ in files]
            classes = []
    if not files:
        raise ValueError(
            f"path: no images ({', '.join(IMAGE_SUFFIXES)}) in {str(root)!r} or its class folders."
        )
    if classes and all(is_wnid(c) for c in classes):
        # ImageNet-style folders: labels are ImageNet-1k indices, not positions in this folder.
        index = {w: i for i, w in enumerate(imagenet_wnids())}
        unknown = [c for c in classes if c not in index]
        if unknown:
            raise ValueError(
                f"path: {unknown[:5]} look like WordNet ids but are not ImageNet-1k classes."
            )
        labels = [index[c] for _, c in files]
    else:
        position = {c: i for i, c in enumerate(classes)}
        labels = [position[c] if c is not None else -1 for _, c in files]
    return [str(f) for f, _ in files], labels, classes


def _leading_wnid(name: str) -> str | None:
    match = _LEADING_WNID.match(name)
    return match.group(1) if match else None


def image_folder(
    path,
    image_size=224,
    *,
    preprocess=None,
    batch_size: int = 32,
    resize: str = "crop",
    crop_fraction: float = 0.875,
    label_offset: int = 0,
) -> tf.data.Dataset:
    """A batched ``tf.data`` pipeline of ``(images, labels)`` from a folder of images.

    Layouts: ``<path>/<class>/<image>`` (labels are the positions of the class folders in sorted
    order), ImageNet-style ``<path>/<wnid>/<image>`` (labels are ImageNet-1k indices), or a flat
    folder whose files start with a WordNet id (``n01440764_tench.JPEG``: ImageNet indices too);
    any other flat folder gets label -1. :func:`folder_labels` lists the files, labels and class
    names without reading any image.

    Args:
        path: the folder.
        image_size: int or ``(height, width)``.
        preprocess: None (yield uint8 images) or a function applied to each resized uint8 batch,
            e.g. ``spec.preprocess``.
        batch_size: images per batch.
        resize: resize policy, ``"crop"``, ``"pad"`` or ``"stretch"`` (see :func:`resize_image`).
        crop_fraction: for ``"crop"``, the kept fraction of the shorter side.
        label_offset: added to ImageNet labels (``spec.label_offset``: 1 for 1001-class models).

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)`` batches, labels int64, in file order.

    Example:
        >>> ds = tfattr.data.image_folder("photos/", 128, preprocess=spec.preprocess)
        >>> images, labels = next(iter(ds))
    """
    files, labels, classes = folder_labels(path)
    imagenet = bool(classes) and all(is_wnid(c) for c in classes)
    labels = np.asarray(labels, np.int64)
    if imagenet:
        labels = labels + label_offset
    size = as_size(image_size, "image_size")
    check_resize(resize, crop_fraction)

    def read(file, label):
        image = decode_image(tf.io.read_file(file))
        return resize_image(image, size, resize=resize, crop_fraction=crop_fraction), label

    dataset = tf.data.Dataset.from_tensor_slices((files, labels))
    dataset = dataset.map(read, num_parallel_calls=tf.data.AUTOTUNE)
    return batch_and_prefetch(dataset, batch_size, preprocess)


def batch_and_prefetch(dataset: tf.data.Dataset, batch_size: int, preprocess) -> tf.data.Dataset:
    """Batches ``(image, label)`` pairs, applies `preprocess` per batch, and prefetches."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}.")
    if preprocess is not None and not callable(preprocess):
        raise TypeError(
            f"preprocess: expected None or a function uint8 images -> model inputs (e.g. "
            f"spec.preprocess), got {type(preprocess).__name__}."
        )
    dataset = dataset.batch(int(batch_size))
    if preprocess is not None:
        dataset = dataset.map(lambda x, y: (preprocess(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
