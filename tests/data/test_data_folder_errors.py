"""Image folders: bad files named by path, skipped and counted on request, symlinks contained,
non-UTF-8 names read."""

import logging
import os
import pathlib

import numpy as np
import pytest
import tensorflow as tf

from tfattr import data
from tfattr.data.images import BadImagesError, find_bad_images, scan_folder


def _write(path, value=100, size=(12, 10)):
    pixels = np.full((*size, 3), value, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tf.io.encode_png(pixels).numpy())
    return path


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "photos"
    _write(root / "cats" / "a.png", 10)
    _write(root / "cats" / "b.png", 20)
    _write(root / "dogs" / "c.png", 30)
    (root / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "dogs" / "notes.png").write_text("hello")
    return root


def test_bad_files_are_named_before_any_work(folder):
    with pytest.raises(BadImagesError) as error:
        data.image_folder(folder, 8)
    message = str(error.value)
    assert "2 image file(s) cannot be read" in message
    assert str(folder / "dogs" / "broken.jpg") in message
    assert str(folder / "dogs" / "notes.png") in message
    assert "function_node" not in message and "[Op:" not in message
    assert "bad_images='skip'" in message
    assert sorted(b.path for b in error.value.bad) == [
        str(folder / "dogs" / "broken.jpg"),
        str(folder / "dogs" / "notes.png"),
    ]
    reasons = {pathlib.Path(b.path).name: b.reason for b in error.value.bad}
    assert reasons["notes.png"].startswith("Unknown image file format")
    assert all(r and not r.endswith("name:") for r in reasons.values())
    assert isinstance(error.value, ValueError)


def test_skip_leaves_them_out_and_counts_them(folder, caplog):
    with caplog.at_level(logging.WARNING, logger="tfattr"):
        ds = data.image_folder(folder, 8, bad_images="skip")
    assert "skipped 2 unreadable image(s)" in caplog.text and "broken.jpg" in caplog.text
    images, labels = next(iter(ds))
    assert images.shape == (3, 8, 8, 3)
    np.testing.assert_array_equal(labels.numpy(), [0, 0, 1])
    np.testing.assert_array_equal(images.numpy()[:, 0, 0, 0], [10, 20, 30])
    scan = scan_folder(folder)
    assert len(scan.bad) == 2 and len(scan.files) == 3 and scan.labels == (0, 0, 1)
    # A scan already made is used as it is (no second pass over the images).
    again = data.image_folder(scan, 8, bad_images="skip")
    np.testing.assert_array_equal(next(iter(again))[1].numpy(), [0, 0, 1])
    with pytest.raises(ValueError, match="bad_images: expected one of"):
        data.image_folder(folder, 8, bad_images="ignore")


def test_find_bad_images_reports_each_reason(tmp_path):
    good = _write(tmp_path / "good.png")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    missing = tmp_path / "missing.png"
    bad = find_bad_images([good, empty, missing])
    assert [b.path for b in bad] == [str(empty), str(missing)]
    assert all("function_node" not in b.reason for b in bad)
    assert find_bad_images([]) == []


def test_symlinks_outside_the_folder_are_not_followed(tmp_path, caplog):
    outside = _write(tmp_path / "outside" / "x.png", 200)
    root = tmp_path / "data"
    _write(root / "cats" / "a.png", 10)
    _write(root / "dogs" / "b.png", 20)
    (root / "self").symlink_to(".")
    (root / "up").symlink_to("..")
    (root / "cats" / "escape.png").symlink_to(outside)
    (root / "alias").symlink_to(root / "dogs")  # inside the folder: followed
    (root / "cats" / "inner.png").symlink_to(root / "dogs" / "b.png")
    with caplog.at_level(logging.WARNING, logger="tfattr"):
        scan = scan_folder(root)
    assert scan.class_names == ("alias", "cats", "dogs")
    assert sorted(scan.skipped_links) == sorted(
        [str(root / "self"), str(root / "up"), str(root / "cats" / "escape.png")]
    )
    assert "symbolic link(s) not followed" in caplog.text
    inside = root.resolve()
    assert all(pathlib.Path(f).resolve().is_relative_to(inside) for f in scan.files)
    assert len(scan.files) == 4  # alias/b, cats/a, cats/inner (to dogs/b), dogs/b
    images, _ = next(iter(data.image_folder(root, 8)))
    assert 200 not in images.numpy()[:, 0, 0, 0]


def test_non_utf8_names_are_read(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    name = os.fsdecode(b"caf\xe9_latin1.png")  # not valid UTF-8
    _write(root / name, 77)
    _write(root / "plain.png", 5)
    images, labels = next(iter(data.image_folder(root, 8)))
    assert sorted(images.numpy()[:, 0, 0, 0].tolist()) == [5, 77]
    np.testing.assert_array_equal(labels.numpy(), [-1, -1])
    assert data.load_image(root / name).numpy()[0, 0, 0] == 77
    (root / os.fsdecode(b"bad\xff.png")).write_text("x")
    with pytest.raises(BadImagesError, match=r"bad\\udcff\.png"):
        data.image_folder(root, 8)


def test_folder_labels_reads_no_image(folder):
    files, labels, classes = data.folder_labels(folder)  # bad files are listed, not decoded
    assert len(files) == 5 and classes == ["cats", "dogs"]
    assert labels == [0, 0, 1, 1, 1]
