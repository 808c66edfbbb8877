"""Image-classification datasets from TensorFlow Datasets as resized, batched pipelines."""

from __future__ import annotations

import tensorflow as tf

from tfattr.data.images import as_size, batch_and_prefetch, check_resize, resize_image


def tfds_dataset(
    name: str,
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
    shuffle_files: bool = False,
    image_key: str = "image",
    label_key: str = "label",
) -> tf.data.Dataset:
    """A batched, prefetched ``tf.data`` pipeline of ``(images, labels)`` from a TFDS dataset.

    Args:
        name: the TFDS name, e.g. ``"imagenet_a"``, ``"imagenette"``, ``"cifar10"``.
        split: the TFDS split (slicing works: ``"test[:100]"``).
        image_size: int or ``(height, width)`` of the output images.
        preprocess: None (uint8 images) or a function applied per batch (``spec.preprocess``).
        batch_size: images per batch.
        resize: ``"crop"`` (default; shorter side to ``size / crop_fraction``, centre crop),
            ``"pad"`` (resize with pad) or ``"stretch"`` (see :func:`tfattr.data.resize_image`).
        crop_fraction: for ``"crop"``, the kept fraction of the shorter side.
        label_offset: added to every label (1 to match a 1001-class TF-Hub ImageNet model).
        data_dir: TFDS data folder (default ``~/tensorflow_datasets``).
        download: whether TFDS may download and prepare the dataset when it is not prepared.
        shuffle_files: shuffle the TFDS shards (off: a reproducible order).
        image_key: the image feature's name.
        label_key: the label feature's name.

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)``: uint8 ``(B, H, W, 3)`` or preprocessed
        float32, and int64 labels.

    Example:
        >>> ds = tfattr.data.tfds_dataset("imagenette/160px", "validation", 160)
    """
    import tensorflow_datasets as tfds

    size = as_size(image_size, "image_size")
    check_resize(resize, crop_fraction)
    try:
        dataset = tfds.load(
            name, split=split, data_dir=data_dir, download=download, shuffle_files=shuffle_files
        )
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"name: {name!r} is not a TFDS dataset; see tfds.list_builders() for the names."
        ) from None
    keys = dataset.element_spec
    for key, what in ((image_key, "image_key"), (label_key, "label_key")):
        if key not in keys:
            raise ValueError(
                f"{what}: {name!r} has no feature {key!r}; its features: {sorted(keys)}."
            )

    def prepare(example):
        image = example[image_key]
        if image.shape[-1] == 1:
            image = tf.image.grayscale_to_rgb(image)
        image = resize_image(image, size, resize=resize, crop_fraction=crop_fraction)
        return image, tf.cast(example[label_key], tf.int64) + label_offset

    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return batch_and_prefetch(dataset, batch_size, preprocess)
