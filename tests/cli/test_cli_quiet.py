"""The command line without --verbose: no TensorFlow start-up lines; progress on long steps."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
STARTUP_MARKERS = ("I0000", "E0000", "W0000", "oneDNN", "cuda", "cuInit", "absl::InitializeLog")


def _photos(folder, count=2):
    from PIL import Image

    from tfattr.apps.demo import shapes

    display, _, _ = shapes.make_dataset(count, shapes.TEST_SEED)
    folder.mkdir()
    for i, image in enumerate(display):
        Image.fromarray(np.asarray(image, np.uint8)).save(folder / f"shape_{i}.png")
    return folder


def _run(args, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "tfattr.apps.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )


@pytest.mark.slow
def test_explain_prints_no_tensorflow_startup_lines_and_one_progress_line_per_step(tmp_path):
    photos = _photos(tmp_path / "photos")
    args = [
        "explain", str(photos), "--model", "shapes_cnn", "--methods", "saliency,gradcam",
        "--batch-size", "1", "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    done = _run(args, tmp_path)
    assert done.returncode == 0, done.stderr
    leaked = [line for line in done.stderr.splitlines() if any(m in line for m in STARTUP_MARKERS)]
    assert leaked == [], leaked
    # Not a terminal: one plain line per finished step (2 methods x 2 images), no bar.
    steps = [line for line in done.stderr.splitlines() if line.startswith("explain:")]
    assert [s.split(" (")[0] for s in steps] == [
        "explain: saliency 1/4 img",
        "explain: saliency 2/4 img",
        "explain: gradcam 3/4 img",
        "explain: gradcam 4/4 img",
    ]
    assert "\r" not in done.stderr

    quiet = _run([*args, "--quiet"], tmp_path)
    assert quiet.returncode == 0 and quiet.stderr.strip() == "", quiet.stderr
