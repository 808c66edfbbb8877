"""Output folders are checked before any work: under a file, not writable, no space."""

import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from tfattr.apps import cli
from tfattr.core import outputs
from tfattr.core.outputs import check_output_dir


def test_a_usable_folder_is_created_and_returned(tmp_path):
    folder = check_output_dir(tmp_path / "a" / "b")
    assert folder.is_dir() and list(folder.iterdir()) == []  # the probe file is gone


def test_a_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "report.html").write_text("x")
    with pytest.raises(
        ValueError, match=r"out: '.*report.html/maps' is under the file '.*report.html'"
    ):
        check_output_dir(tmp_path / "report.html" / "maps")
    with pytest.raises(ValueError, match=r"out: '.*report.html' is a file, not a folder"):
        check_output_dir(tmp_path / "report.html")


def test_a_folder_that_cannot_be_written_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        writable = os.access(locked, os.W_OK)  # (root writes anyway: then a read-only place)
        target = locked if not writable else "/proc/tfattr-out"
        with pytest.raises(ValueError, match="--out: cannot (write in|create the folder)"):
            check_output_dir(target, name="--out")
    finally:
        locked.chmod(0o755)


def test_too_little_space_is_refused(tmp_path, monkeypatch):
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda path: usage._replace(free=5 << 20))
    with pytest.raises(ValueError, match=r"has 5.0 MiB free, but the outputs need about 16.0 MiB"):
        check_output_dir(tmp_path)
    check_output_dir(tmp_path, needed_bytes=1 << 20)


def test_explain_checks_its_output_before_loading_the_model(tmp_path, capsys, monkeypatch):
    image = tmp_path / "cat.png"
    image.write_bytes(tf.io.encode_png(np.zeros((8, 8, 3), np.uint8)).numpy())
    (tmp_path / "taken").write_text("a file")
    monkeypatch.setattr(cli, "load_model", lambda *a, **k: pytest.fail("model loaded first"))
    code = cli.main(["explain", str(image), "--out", str(tmp_path / "taken" / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--out:" in err and "is under the file" in err
