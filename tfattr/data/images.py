"""Reading and resizing images, and image folders as ``tf.data`` pipelines.

Resize policies (``resize=``), all returning uint8 RGB images of exactly ``size``:

- ``"crop"`` (default): the shorter side is scaled to ``size / crop_fraction`` and the centre
  ``size`` is cut out, as in the official ImageNet evaluations (``Resize(256)``,
  ``CenterCrop(224)``: ``crop_fraction = 224 / 256 = 0.875``).
- ``"pad"``: the whole image is scaled to fit and padded with black, as ``tf.image.resize_with_pad``
  in the TensorFlow Integrated Gradients tutorial.
- ``"stretch"``: scaled to ``size`` ignoring the aspect ratio.

Folders (:func:`scan_folder`, :func:`image_folder`):

- every image is decoded once before any work, and each one that cannot be read is named by
  its path with the reason (:class:`BadImagesError`), or, with ``bad_images="skip"``, left out
  and counted (``FolderScan.bad``);
- symbolic links are followed only when they point inside the folder: a link to a file or
  folder outside it, or to the folder itself or one of its parents (``self -> .``,
  ``up -> ..``), is not followed and is listed in ``FolderScan.skipped_links``;
- file names that are not valid UTF-8 work: paths reach TensorFlow as the file system's bytes.
"""

from __future__ import annotations

import dataclasses
import logging
import numbers
import os
import pathlib
import re

import numpy as np
import tensorflow as tf

from tfattr.data.labels import imagenet_wnids, is_wnid

log = logging.getLogger("tfattr")

RESIZE_POLICIES = ("crop", "pad", "stretch")
"""Values of ``resize=``: centre ``crop``, ``pad`` or ``stretch`` to the size."""
BAD_IMAGE_POLICIES = ("raise", "skip")
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
        image = decode_image(tf.io.read_file(os.fsencode(path)))
    except tf.errors.OpError as error:
        raise ValueError(
            f"path: {str(path)!r} is not a readable JPEG, PNG, BMP or GIF image "
            f"({_reason(error)}). Convert it, e.g. with PIL, and try again."
        ) from None
    if size is None:
        return image
    return resize_image(image, size, resize=resize, crop_fraction=crop_fraction)


@dataclasses.dataclass(frozen=True)
class BadImage:
    """An image file that cannot be read, and why (TensorFlow's reason, first line).

    Attributes:
        path: the file.
        reason: why it cannot be read or decoded.

    Example:
        >>> bad = tfattr.data.find_bad_images(["cat.jpg", "broken.jpg"])
        >>> bad[0].path, bool(bad[0].reason)
        ('broken.jpg', True)
    """

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path!r}: {self.reason}"


class BadImagesError(ValueError):
    """Some image files cannot be read; ``bad`` lists them (:class:`BadImage`).

    A ``ValueError``, raised before any work starts, e.g. by :func:`image_folder`.

    Example:
        >>> import pathlib, shutil
        >>> _ = shutil.copy("broken.jpg", "photos/coffee/broken.jpg")
        >>> try:
        ...     tfattr.data.image_folder("photos/", 32)
        ... except tfattr.data.BadImagesError as error:
        ...     print([pathlib.Path(b.path).name for b in error.bad])
        ['broken.jpg']
    """

    def __init__(
        self,
        bad,
        where: str,
        fix: str = "Fix or remove them, or skip them (image_folder(..., bad_images='skip')).",
    ):
        self.bad = tuple(bad)
        shown = "; ".join(str(b) for b in self.bad[:10])
        more = f"; and {len(self.bad) - 10} more" if len(self.bad) > 10 else ""
        super().__init__(
            f"{where}: {len(self.bad)} image file(s) cannot be read: {shown}{more}. {fix}"
        )


@dataclasses.dataclass(frozen=True)
class FolderScan:
    """What :func:`scan_folder` found: readable files with their labels, and what it left out.

    Example:
        >>> scan = tfattr.data.scan_folder("photos/")          # photos/cat/, photos/coffee/
        >>> scan.class_names, scan.labels, scan.bad
        (('cat', 'coffee'), (0, 1), ())

    Attributes:
        root: the folder.
        files: readable image files, sorted (as ``str``; undecodable bytes of non-UTF-8 names
            as surrogate escapes, ``os.fsencode`` gives the bytes back).
        labels: their labels (see :func:`folder_labels`).
        class_names: the class folder names (or WordNet ids of a flat folder).
        bad: unreadable images (:class:`BadImage`), not in ``files``.
        skipped_links: symbolic links not followed (they point outside the folder, or to the
            folder itself or a parent of it), not in ``files``.
    """

    root: str
    files: tuple[str, ...]
    labels: tuple[int, ...]
    class_names: tuple[str, ...]
    bad: tuple[BadImage, ...] = ()
    skipped_links: tuple[str, ...] = ()


def _reason(error: tf.errors.OpError) -> str:
    """TensorFlow's message without its graph internals (``{{function_node ...}}``, ``[Op:...]``)."""
    text = re.sub(r"\{\{[^}]*\}\}", "", error.message or type(error).__name__)
    text = re.sub(r"\s*\[Op:[^\]]*\]", "", text).strip()
    first = (text.splitlines() or [type(error).__name__])[0]
    return re.sub(r"\s*name:\s*$", "", first).strip()  # (eager ops end with "name: <op>")


def _inside(path: pathlib.Path, root: pathlib.Path, allow_root: bool = False) -> bool:
    """Whether a link's target lies inside ``root`` (the resolved folder)."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link or a loop
        return False
    return target.is_relative_to(root) and (allow_root or target != root)


def _entries(folder: pathlib.Path, root: pathlib.Path, skipped: list) -> list[pathlib.Path]:
    """The folder's entries, sorted, without symbolic links that leave ``root``."""
    kept = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() and not _inside(entry, root):
            skipped.append(str(entry))
            continue
        kept.append(entry)
    return kept


def _image_files(folder: pathlib.Path, root: pathlib.Path, skipped: list) -> list[pathlib.Path]:
    return [
        p
        for p in _entries(folder, root, skipped)
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    ]


def find_bad_images(files) -> list[BadImage]:
    """The files among ``files`` that cannot be read and decoded, with the reason.

    Every file is read and decoded once, in parallel (a ``tf.data`` pass that drops failures);
    only the failures are read again, one by one, for their reasons.

    Args:
        files: paths (``str``, ``bytes`` or ``os.PathLike``).

    Returns:
        A list of :class:`BadImage`, in the order of ``files``.

    Example:
        >>> bad = tfattr.data.images.find_bad_images(["a.jpg", "broken.jpg"])
        >>> [b.path for b in bad]
        ['broken.jpg']
    """
    files = [os.fspath(f) for f in files]
    if not files:
        return []
    encoded = [f if isinstance(f, bytes) else os.fsencode(f) for f in files]

    def check(index, path):
        return index, tf.shape(decode_image(tf.io.read_file(path)))[0]

    dataset = tf.data.Dataset.from_tensor_slices((tf.range(len(files)), encoded))
    dataset = dataset.map(check, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    readable = np.zeros(len(files), bool)
    for indices, _ in dataset.batch(1024):
        readable[indices.numpy()] = True
    bad = []
    for i in np.flatnonzero(~readable):
        try:
            decode_image(tf.io.read_file(encoded[i]))
            reason = "could not be read (it may have changed since)"
        except tf.errors.OpError as error:
            reason = _reason(error)
        name = files[i] if isinstance(files[i], str) else os.fsdecode(files[i])
        bad.append(BadImage(name, reason))
    return bad


def scan_folder(path, *, check: bool = True) -> FolderScan:
    """Lists an image folder's files and labels, and finds the unreadable images.

    Layouts and labels as :func:`image_folder`; symbolic links as the module doc says.

    Args:
        path: the folder.
        check: decode every image to find the unreadable ones (``FolderScan.bad``); False
            lists the files only.

    Returns:
        A :class:`FolderScan`; its ``files`` exclude the bad images and skipped links.

    Raises:
        ValueError: not a folder, no images, or WordNet-id folders that are not ImageNet-1k.

    Example:
        >>> import pathlib, shutil
        >>> _ = shutil.copy("broken.jpg", "photos/coffee/broken.jpg")
        >>> scan = tfattr.data.scan_folder("photos/")
        >>> len(scan.files), [pathlib.Path(b.path).name for b in scan.bad]
        (2, ['broken.jpg'])
    """

    root = pathlib.Path(os.fspath(path))
    if not root.is_dir():
        raise ValueError(f"path: {str(root)!r} is not a folder of images.")
    real, skipped = root.resolve(), []
    class_dirs = [
        p for p in _entries(root, real, skipped) if p.is_dir() and _image_files(p, real, [])
    ]
    if class_dirs:
        files = [(f, d.name) for d in class_dirs for f in _image_files(d, real, skipped)]
        classes = [d.name for d in class_dirs]
    else:
        files = [(f, _leading_wnid(f.name)) for f in _image_files(root, real, skipped)]
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
    names = [str(f) for f, _ in files]
    if skipped:
        log.warning(
            "%s: %d symbolic link(s) not followed (they point outside the folder, or to it): %s",
            root,
            len(skipped),
            ", ".join(repr(s) for s in skipped[:5]),
        )
    bad = find_bad_images(names) if check else []
    unreadable = {b.path for b in bad}
    kept = [i for i, name in enumerate(names) if name not in unreadable]
    return FolderScan(
        root=str(root),
        files=tuple(names[i] for i in kept),
        labels=tuple(labels[i] for i in kept),
        class_names=tuple(classes),
        bad=tuple(bad),
        skipped_links=tuple(skipped),
    )


def folder_labels(path) -> tuple[list[str], list[int], list[str]]:
    """Files, labels and class names of an image folder (layouts: see :func:`image_folder`).

    No image is read (see :func:`scan_folder` for the unreadable ones).

    Args:
        path: the folder.

    Returns:
        ``(files, labels, class_names)``: sorted file paths, their labels (ImageNet-1k indices
        for WordNet-id classes, else positions in ``class_names``; -1 when unknown), and the
        class folder names (or WordNet ids of a flat folder).

    Example:
        >>> files, labels, classes = tfattr.data.folder_labels("photos/")
    """
    scan = scan_folder(path, check=False)
    return list(scan.files), list(scan.labels), list(scan.class_names)


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
    bad_images: str = "raise",
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
        bad_images: what to do with files that cannot be read (every image is decoded once
            before the dataset is built): ``"raise"`` (default) a :class:`BadImagesError`
            naming each file and why, before any work; ``"skip"``: leave them out, with a
            warning that counts and names them. ``path`` may also be a :class:`FolderScan`
            from :func:`scan_folder` (its ``files``, already checked, are used as they are).

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)`` batches, labels int64, in file order.

    Raises:
        BadImagesError: unreadable images with ``bad_images="raise"``.

    Example:
        >>> ds = tfattr.data.image_folder("photos/", 128, preprocess=spec.preprocess)
        >>> images, labels = next(iter(ds))
    """
    if bad_images not in BAD_IMAGE_POLICIES:
        raise ValueError(f"bad_images: expected one of {BAD_IMAGE_POLICIES}, got {bad_images!r}.")
    scan = path if isinstance(path, FolderScan) else scan_folder(path)
    if scan.bad and bad_images == "raise":
        raise BadImagesError(scan.bad, f"path {scan.root!r}")
    if scan.bad:
        log.warning(
            "%s: skipped %d unreadable image(s): %s",
            scan.root,
            len(scan.bad),
            "; ".join(str(b) for b in scan.bad[:5]),
        )
    if not scan.files:
        raise ValueError(f"path: no readable images in {scan.root!r}.")
    files = [os.fsencode(f) for f in scan.files]  # (bytes: non-UTF-8 names reach TF intact)
    labels, classes = scan.labels, scan.class_names
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
