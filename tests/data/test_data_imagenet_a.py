"""tfattr.data.imagenet_a: the real TFDS builder offline on a tiny archive, and the accuracy helpers."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tfattr import data

# Three ImageNet-A classes (those of TFDS' own builder test), as (WordNet id, ImageNet index).
CLASSES = {"n01580077": 17, "n01616318": 23, "n07697313": 933}
SIZES = [(40, 60), (50, 30)]  # two photos per class, landscape and portrait


@pytest.fixture(scope="module")
def imagenet_a_archive(tmp_path_factory):
    """A folder laid out as the extracted imagenet-a.tar: imagenet-a/<wnid>/<file>.jpg."""
    root = tmp_path_factory.mktemp("imagenet_a_download")
    rng = np.random.default_rng(0)
    for wnid in CLASSES:
        folder = root / "imagenet-a" / wnid
        folder.mkdir(parents=True)
        for k, (h, w) in enumerate(SIZES):
            pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            tf.io.write_file(str(folder / f"{wnid}_{k}.jpg"), tf.io.encode_jpeg(pixels))
    return root


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory, imagenet_a_archive):
    """TFDS prepares imagenet_a from the archive: the builder's own example code runs."""
    path = tmp_path_factory.mktemp("tfds")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            tfds.download.DownloadManager,
            "download_and_extract",
            lambda self, url: str(imagenet_a_archive),
        )
        data.imagenet_a(image_size=8, data_dir=path)  # download_and_prepare happens here
    return path


def test_indices_of_the_official_evaluation():
    classes = data.IMAGENET_A_CLASSES
    assert len(classes) == 200 and list(classes) == sorted(set(classes))
    assert classes[:5] == (6, 11, 13, 15, 17) and classes[-3:] == (986, 987, 988)
    wnids = data.imagenet_wnids()
    assert {wnids.index(w) for w in CLASSES} == set(CLASSES.values()) <= set(classes)


def test_builder_runs_offline_and_yields_imagenet_labels(tfds_dir):
    dataset = data.imagenet_a(image_size=16, batch_size=4, data_dir=tfds_dir, download=False)
    batches = list(dataset)
    images = tf.concat([b[0] for b in batches], 0)
    labels = tf.concat([b[1] for b in batches], 0).numpy()
    assert [b[0].shape[0] for b in batches] == [4, 2]
    assert images.shape == (6, 16, 16, 3) and images.dtype == tf.uint8
    assert sorted(labels.tolist()) == sorted(list(CLASSES.values()) * 2)

    shifted = data.imagenet_a(
        image_size=(12, 20),
        batch_size=6,
        data_dir=tfds_dir,
        download=False,
        label_offset=1,
        resize="pad",
        preprocess=lambda x: tf.cast(x, tf.float32) / 255.0,
    )
    images, labels = next(iter(shifted))
    assert images.shape == (6, 12, 20, 3) and images.dtype == tf.float32
    assert sorted(labels.numpy().tolist()) == sorted([v + 1 for v in CLASSES.values()] * 2)


# Four images with designed ImageNet scores (1000 columns):
#   0: best overall 0 (not an ImageNet-A class), best A class 6 = label   -> 200-way right only
#   1: best overall 11 = label                                             -> both right
#   2: best overall 13, label 15                                           -> both wrong
#   3: best overall 1 (not A), best A class 22, label 23                   -> both wrong
LABELS = np.array([6, 11, 15, 23])


def _logits():
    logits = np.zeros((4, 1000), np.float32)
    for row, (top, best_a) in enumerate([(0, 6), (11, 11), (13, 13), (1, 22)]):
        logits[row, best_a] = 5.0
        logits[row, top] = 9.0
    return logits


def test_accuracy_200_and_1000():
    logits = _logits()
    assert data.accuracy_200(logits, LABELS) == 0.5
    assert data.accuracy_1000(logits, LABELS) == 0.25
    assert data.predictions_200(logits).numpy().tolist() == [6, 11, 13, 22]
    assert data.predictions_1000(logits).numpy().tolist() == [0, 11, 13, 1]
    assert data.restrict_to_imagenet_a(logits).shape == (4, 200)
    mask = data.imagenet_a_mask()
    assert mask.sum() == 200 and np.flatnonzero(mask).tolist() == list(data.IMAGENET_A_CLASSES)
    assert np.flatnonzero(data.imagenet_a_mask(1))[0] == 7


def test_accuracy_with_the_background_offset():
    # A 1001-class model: output 0 is background (scored highest; it must never be predicted).
    logits = np.concatenate([np.full((4, 1), 100.0, np.float32), _logits()], axis=1)
    labels = data.to_model_labels(LABELS, 1)
    assert labels.numpy().tolist() == [7, 12, 16, 24]
    assert data.accuracy_200(logits, labels, label_offset=1) == 0.5
    assert data.accuracy_1000(logits, labels, label_offset=1) == 0.25
    assert data.predictions_1000(logits, 1).numpy().tolist() == [1, 12, 14, 2]
    with pytest.raises(ValueError, match=r"logits: expected \(N, 1001\)"):
        data.accuracy_200(_logits(), labels, label_offset=1)
    with pytest.raises(ValueError, match="one label per row"):
        data.accuracy_200(logits, labels[:3], label_offset=1)


def test_evaluate_a_fake_model_over_a_dataset():
    table = tf.constant(np.concatenate([np.full((4, 1), 100.0, np.float32), _logits()], axis=1))

    def fake_model(images):  # image k (a constant k) -> row k of the designed logits
        return tf.gather(table, tf.cast(images[:, 0, 0, 0], tf.int32))

    images = np.arange(4, dtype=np.float32)[:, None, None, None] * np.ones((4, 2, 2, 3), np.float32)
    dataset = tf.data.Dataset.from_tensor_slices((images, LABELS + 1)).batch(3)
    result = data.evaluate_imagenet_a(fake_model, dataset, label_offset=1)
    assert result == {"accuracy_200": 0.5, "accuracy_1000": 0.25, "count": 4}
