"""Reading one share of a dataset without decoding the rest: contiguous blocks of examples.

A dataset of ``total`` examples is cut into ``count`` contiguous blocks (:func:`share`); a job,
a worker or a Beam bundle reads only its block, and a resumed job only the part of its block
that is not done. Nothing outside the block is decoded:

- image folders: the sorted file list is sliced before any file is opened;
- TFDS: the split is sliced (``"test[120:240]"``), which TFDS turns into file instructions
  that skip the other records, and images are decoded here after slicing
  (``tfds.decode.SkipDecoding``).

Every pipeline yields ``(index, image, label)``: the example's position in the whole dataset
(int64), a uint8 ``(H, W, 3)`` image resized by :func:`tfattr.data.resize_image`, and the int64
label in the model's output indices (-1 when unknown).

Example:
    >>> files = FolderSource("photos/", label_offset=0)
    >>> ds = files.dataset(share(len(files), 1, 4), size=(224, 224))   # block 1 of 4
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np
import tensorflow as tf

from tfattr.data.images import (
    BadImage,
    decode_image,
    find_bad_images,
    folder_labels,
    is_wnid,
    resize_image,
)


def share(total: int, index: int, count: int) -> range:
    """Block ``index`` of ``count`` contiguous blocks of ``range(total)`` (sizes differ by <= 1).

    Example:
        >>> share(10, 1, 4)
        range(3, 5)
    """
    if not 0 <= index < count:
        raise ValueError(f"share: expected 0 <= index < count, got index {index} of {count}")
    return range(total * index // count, total * (index + 1) // count)


def decode(data: tf.Tensor) -> tf.Tensor:
    """Decodes one encoded image (the one place where a share's images are decoded)."""
    return decode_image(data)


def _prepare(data, size, resize: str, crop_fraction: float):
    image = decode(data)
    return resize_image(image, size, resize=resize, crop_fraction=crop_fraction)


class FolderSource:
    """An image folder (layouts of :func:`tfattr.data.image_folder`) read by blocks.

    Args:
        path: the folder.
        label_offset: added to ImageNet labels (``spec.label_offset``).
    """

    def __init__(self, path, label_offset: int = 0):
        self.root = pathlib.Path(os.fspath(path))
        files, labels, classes = folder_labels(self.root)
        labels = np.asarray(labels, np.int64)
        if classes and all(is_wnid(c) for c in classes):
            labels = np.where(labels >= 0, labels + label_offset, labels)
        self.files, self.labels = files, labels
        self.names = [str(pathlib.Path(f).relative_to(self.root)) for f in files]

    def __len__(self) -> int:
        return len(self.files)

    def unreadable(self, block: range) -> list[tuple[int, BadImage]]:
        """``(index, BadImage)`` of every file of ``block`` that cannot be read and decoded
        (each file is decoded once, in parallel), to be found before any work."""
        bad = find_bad_images(self.files[block.start : block.stop])
        positions = {f: block.start + i for i, f in enumerate(self.files[block.start : block.stop])}
        return [(positions[b.path], b) for b in bad]

    def dataset(self, block, size, resize="crop", crop_fraction=0.875) -> tf.data.Dataset:
        """``(index, image, label)`` of the examples in ``block`` (a range or a sequence of
        indices), files opened in parallel."""
        indices = np.asarray(list(block), np.int64)
        ds = tf.data.Dataset.from_tensor_slices(
            (
                indices,
                np.asarray(self.files, dtype=object)[indices].astype(str),
                self.labels[indices],
            )
        )
        return ds.map(
            lambda i, file, label: (
                i,
                _prepare(tf.io.read_file(file), size, resize, crop_fraction),
                label,
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )


@dataclasses.dataclass
class TfdsSource:
    """A TFDS split read by blocks (split slicing), prepared first unless ``download`` is off.

    Args:
        name: the TFDS name, e.g. ``"imagenet_a"``.
        split: the split, e.g. ``"test"``.
        label_offset: added to the labels.
        data_dir: TFDS data folder.
        download: whether TFDS may download and prepare the dataset. When False and the data
            are not prepared, :class:`ValueError` is raised at once, naming the fix.

    Raises:
        ValueError: an unknown dataset, split or feature, or unprepared data without download.
    """

    name: str
    split: str = "test"
    label_offset: int = 0
    data_dir: str | None = None
    download: bool = True
    image_key: str = "image"
    label_key: str = "label"

    def __post_init__(self):
        import tensorflow_datasets as tfds

        try:
            self.builder = tfds.builder(self.name, data_dir=self.data_dir)
        except tfds.core.registered.DatasetNotFoundError:
            raise ValueError(
                f"{self.name!r} is not a TFDS dataset; see tfds.list_builders() for the names"
            ) from None
        prepared = tf.io.gfile.exists(os.path.join(self.builder.data_dir, "dataset_info.json"))
        if not prepared:
            if not self.download:
                where = self.data_dir or "~/tensorflow_datasets"
                raise ValueError(
                    f"TFDS {self.name!r} is not prepared in {where} and downloads are off "
                    f"(--no-download). Prepare it once where the network is reachable "
                    f"(`tfds build {self.name} --data_dir {where}`), point --data-dir at a "
                    f"folder that holds it, or drop --no-download"
                )
            self.builder.download_and_prepare()
        splits = self.builder.info.splits
        if self.split not in splits:
            raise ValueError(f"split {self.split!r} of {self.name!r}: choose from {list(splits)}")
        features = self.builder.info.features
        for key in (self.image_key, self.label_key):
            if key not in features:
                raise ValueError(f"{self.name!r} has no feature {key!r}; it has {list(features)}")
        self.total = splits[self.split].num_examples
        self.names = None

    def __len__(self) -> int:
        return self.total

    def dataset(self, block: range, size, resize="crop", crop_fraction=0.875) -> tf.data.Dataset:
        """``(index, image, label)`` of the examples in ``block``; only they are decoded."""
        import tensorflow_datasets as tfds

        ds = self.builder.as_dataset(
            split=f"{self.split}[{block.start}:{block.stop}]",
            decoders={self.image_key: tfds.decode.SkipDecoding()},
            shuffle_files=False,
            read_config=tfds.ReadConfig(interleave_cycle_length=1),  # the split's order
        )
        image_key, label_key, offset = self.image_key, self.label_key, self.label_offset
        return ds.enumerate(block.start).map(
            lambda i, example: (
                i,
                _prepare(example[image_key], size, resize, crop_fraction),
                tf.cast(example[label_key], tf.int64) + offset,
            ),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
