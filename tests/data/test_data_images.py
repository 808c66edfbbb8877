"""tfattr.data: image files, resize policies, image folders, TFDS errors, ImageNet class names."""

import logging

import numpy as np
import pytest
import tensorflow as tf

from tfattr import data


def _write(path, pixels, kind="jpeg"):
    encoded = tf.io.encode_jpeg(pixels, quality=100) if kind == "jpeg" else tf.io.encode_png(pixels)
    tf.io.write_file(str(path), encoded)
    return path


def _gradient(h, w):
    """An image whose red channel is the column index and green the row index."""
    rows, cols = np.mgrid[0:h, 0:w]
    return np.stack([cols, rows, np.zeros_like(rows)], -1).astype(np.uint8)


def test_load_image_png_jpeg_grayscale(tmp_path):
    pixels = _gradient(20, 30)
    png = data.load_image(_write(tmp_path / "a.png", pixels, "png"))
    assert png.dtype == tf.uint8 and png.shape == (20, 30, 3)
    np.testing.assert_array_equal(png, pixels)
    jpeg = data.load_image(_write(tmp_path / "a.jpg", pixels), size=10)
    assert jpeg.shape == (10, 10, 3) and jpeg.dtype == tf.uint8
    gray = data.load_image(_write(tmp_path / "g.png", pixels[..., :1], "png"), size=(6, 8))
    assert gray.shape == (6, 8, 3)


def test_load_image_errors(tmp_path):
    with pytest.raises(ValueError, match="no image file at .*missing.jpg"):
        data.load_image(tmp_path / "missing.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"this is not an image")
    with pytest.raises(ValueError, match="not a readable JPEG, PNG"):
        data.load_image(tmp_path / "broken.jpg")
    with pytest.raises(ValueError, match="size"):
        data.load_image(_write(tmp_path / "ok.png", _gradient(4, 4), "png"), size=(0, 3))
    with pytest.raises(ValueError, match="resize: expected one of"):
        data.load_image(tmp_path / "ok.png", size=4, resize="squash")


def test_resize_policies():
    image = _gradient(40, 80)  # landscape 2:1; red = column, green = row
    crop = data.resize_image(image, 16, resize="crop", crop_fraction=0.5)
    # Shorter side 40 -> 16 / 0.5 = 32 (scale 0.8), centre 16 x 16 of 32 x 64: columns 24..40 of
    # the 64, i.e. original columns 30..50.
    assert crop.shape == (16, 16, 3)
    assert 28 <= int(crop[8, 0, 0]) <= 32 and 48 <= int(crop[8, -1, 0]) <= 52
    full = data.resize_image(image, 16, resize="crop", crop_fraction=1.0)
    assert 18 <= int(full[8, 0, 0]) <= 22  # the whole height kept: columns 20..60
    pad = data.resize_image(image, 16, resize="pad")
    assert pad.shape == (16, 16, 3)
    assert int(tf.reduce_max(pad[:4])) == 0 and int(tf.reduce_max(pad[-4:])) == 0  # black bars
    assert int(pad[8, -1, 0]) > 70  # the whole width is kept
    stretch = data.resize_image(image, (10, 10), resize="stretch")
    assert int(stretch[5, -1, 0]) > 70 and int(stretch[-1, 5, 1]) > 30
    batch = data.resize_image(np.stack([image, image]), 8)
    assert batch.shape == (2, 8, 8, 3)


def test_image_folder_layouts(tmp_path):
    pixels = _gradient(12, 12)
    imagenet = tmp_path / "imagenet"
    for wnid in ("n01440764", "n02123045"):  # tench (0), tabby (281)
        (imagenet / wnid).mkdir(parents=True)
        for k in range(2):
            _write(imagenet / wnid / f"{k}.jpg", pixels)
    images, labels = next(iter(data.image_folder(imagenet, 8, batch_size=10)))
    assert images.shape == (4, 8, 8, 3) and labels.numpy().tolist() == [0, 0, 281, 281]
    _, shifted = next(iter(data.image_folder(imagenet, 8, label_offset=1)))
    assert shifted.numpy().tolist() == [1, 1, 282, 282]

    own = tmp_path / "own"
    for name in ("dog", "cat"):
        (own / name).mkdir(parents=True)
        _write(own / name / "x.png", pixels, "png")
    _, labels = next(iter(data.image_folder(own, 8, label_offset=1)))
    assert labels.numpy().tolist() == [0, 1]  # sorted folder positions, no offset
    assert data.folder_labels(own)[1:] == ([0, 1], ["cat", "dog"])

    flat = tmp_path / "flat"
    flat.mkdir()
    _write(flat / "n02123045_tabby.JPEG", pixels)
    _write(flat / "n01440764_tench.JPEG", pixels)
    x, labels = next(iter(data.image_folder(flat, 8, preprocess=lambda b: tf.cast(b, tf.float32))))
    assert labels.numpy().tolist() == [0, 281] and x.dtype == tf.float32
    _write(flat / "holiday.jpg", pixels)
    _, labels = next(iter(data.image_folder(flat, 8)))
    assert labels.numpy().tolist() == [-1, -1, -1]  # not all files carry a WordNet id

    with pytest.raises(ValueError, match="not a folder"):
        data.image_folder(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        data.image_folder(tmp_path / "empty")
    with pytest.raises(ValueError, match="batch_size"):
        data.image_folder(own, 8, batch_size=0)
    with pytest.raises(TypeError, match="preprocess"):
        data.image_folder(own, 8, preprocess="caffe")


def test_unknown_tfds_name():
    with pytest.raises(ValueError, match="not a TFDS dataset"):
        data.tfds_dataset("no_such_dataset_xyz", data_dir="/nonexistent")


def test_class_names_from_the_keras_cache(tmp_path, monkeypatch, imagenet_assets):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "imagenet_class_index.json").write_bytes(
        (imagenet_assets / "imagenet_class_index.json").read_bytes()
    )
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    names = data.imagenet_class_names()
    assert len(names) == 1000 and names[0] == "tench" and names[281] == "tabby"
    # The same order as the TF-Hub label file (background first, then 1000 classes).
    hub = (imagenet_assets / "ImageNetLabels.txt").read_text().splitlines()
    assert hub[1:3] == ["tench", "goldfish"] and names[1] == "goldfish"


def test_class_names_ship_with_tfattr(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # no Keras cache, no network
    names = data.imagenet_class_names(download=False)
    assert (names[0], names[281], len(names)) == ("tench", "tabby", 1000)


def test_class_names_offline_fall_back_to_wordnet_ids(tmp_path, monkeypatch, caplog):
    from tfattr.data import labels

    monkeypatch.setattr(labels, "_packaged_class_index", lambda: None)  # a broken install
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert data.imagenet_class_names(download=False) == data.imagenet_wnids()
    with caplog.at_level(logging.WARNING, logger="tfattr"):
        names = data.imagenet_class_names()  # tries the network, which the tests block
    assert names[0] == "n01440764" and len(names) == 1000
    assert "using WordNet ids" in caplog.text
    # A file that is not Keras' class index is ignored, not trusted.
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "imagenet_class_index.json").write_text('{"0": ["x", "y"]}')
    assert data.imagenet_class_names(download=False)[0] == "n01440764"
