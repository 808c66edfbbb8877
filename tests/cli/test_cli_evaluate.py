"""`tfattr evaluate` on a small ImageNet-A built offline: strategies, workers, kill and resume.

The dataset is TFDS' real ``imagenet_a`` builder run on an archive of the 8 sample photos whose
classes are among ImageNet-A's 200. Every run must give the same per-image records as the
default strategy: MirroredStrategy over two logical CPUs, two MultiWorkerMirroredStrategy worker
processes on 127.0.0.1 ports, and a run killed with SIGKILL and resumed.
"""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tfattr.cli import main
from tfattr.evaluate import read_records

MOBILENET = "mobilenet_2_5_128_tf.h5"
IMAGENET_ASSETS = pathlib.Path(__file__).resolve().parents[3] / "shared" / "imagenet_assets"
LIMIT = 6
COMMON = ["--methods", "saliency,gradcam", "--metrics", "deletion,insertion", "--steps", "6",
          "--limit", str(LIMIT), "--dataset", "imagenet_a", "--no-download", "--quiet"]  # fmt: skip


def _once(tmp_path_factory, name, build):
    """``build(folder)`` once per test session, also when xdist runs the tests in several processes.

    The first process to take the lock builds; the others wait for its marker and reuse the
    folder (each run of this module costs several CPU-heavy TensorFlow runs).
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, shared by the xdist workers
    folder, done, failed = root / name, root / f"{name}.done", root / f"{name}.failed"
    try:
        os.close(os.open(root / f"{name}.lock", os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        deadline = time.time() + 900
        while not (done.exists() or failed.exists()) and time.time() < deadline:
            time.sleep(0.2)
        if not done.exists():
            pytest.fail(f"building {name} failed in another test process")
        return folder
    try:
        build(folder)
    except BaseException:
        failed.touch()
        raise
    done.touch()
    return folder


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    """TFDS imagenet_a prepared offline from real photos of ImageNet-A classes."""
    if not IMAGENET_ASSETS.is_dir():
        pytest.skip(f"{IMAGENET_ASSETS} is absent")

    def build(path):
        import tensorflow_datasets as tfds

        from tfattr import data

        archive = path / "download"
        wnids = data.imagenet_wnids()
        for photo in sorted((IMAGENET_ASSETS / "sample_images").iterdir()):
            wnid = photo.name.split("_")[0]
            if wnids.index(wnid) in data.IMAGENET_A_CLASSES:
                folder = archive / "imagenet-a" / wnid
                folder.mkdir(parents=True)
                shutil.copy(photo, folder / f"{wnid}_{photo.stem}.jpg")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(
                tfds.download.DownloadManager,
                "download_and_extract",
                lambda self, url: str(archive),
            )
            data.imagenet_a(image_size=8, data_dir=path / "tfds")

    return _once(tmp_path_factory, "imagenet_a", build) / "tfds"


@pytest.fixture(scope="module")
def reference(tfds_dir, tmp_path_factory):
    """The default strategy's run (in the first test process that needs it)."""

    def build(out):
        argv = ["evaluate", "--model", str(IMAGENET_ASSETS / MOBILENET), *COMMON,
                "--data-dir", str(tfds_dir), "--batch-size", "2", "--strategy", "default",
                "--out", str(out), "--save-maps"]  # fmt: skip
        assert main(argv) == 0

    return _once(tmp_path_factory, "reference_run", build)


def _command(model, tfds_dir, out, *extra):
    return [sys.executable, "-m", "tfattr.cli", "evaluate", "--model", str(model), *COMMON,
            "--data-dir", str(tfds_dir), "--out", str(out), *extra]  # fmt: skip


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    return {**env, "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def assert_same_records(expected_dir, actual_dir):
    expected, actual = read_records(expected_dir), read_records(actual_dir)
    assert [r["index"] for r in actual] == [r["index"] for r in expected] == list(range(LIMIT))
    for want, got in zip(expected, actual, strict=True):
        for key in ("label", "prediction", "prediction_200", "prediction_1000", "target"):
            assert got[key] == want[key]
        assert got["probability"] == pytest.approx(want["probability"], rel=1e-6)
        assert got["metrics"].keys() == want["metrics"].keys()
        for method, values in want["metrics"].items():
            for name, value in values.items():
                assert got["metrics"][method][name] == pytest.approx(value, rel=1e-5, abs=1e-7)


def test_default_run_writes_records_and_summary(reference):
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["images"] == LIMIT
    assert {"top1", "accuracy_200", "accuracy_1000"} <= set(summary["accuracy"])
    # ImageNet-A's 200-way accuracy can only be higher than the 1000-way one.
    assert summary["accuracy"]["accuracy_200"] >= summary["accuracy"]["accuracy_1000"]
    for method in ("saliency", "gradcam"):
        stats = summary["methods"][method]["deletion_auc"]
        assert stats["n"] == LIMIT and stats["ci95"][0] <= stats["mean"] <= stats["ci95"][1]
    assert summary["throughput"]["images_per_second"] > 0
    header = (reference / "summary.csv").read_text().splitlines()[0]
    assert header == "method,metric,mean,ci95_low,ci95_high,std,n"
    assert "*,accuracy_200," in (reference / "summary.csv").read_text()
    assert (reference / "summary.png").stat().st_size > 1000
    maps = np.load(next((reference / "maps").glob("*/batch-000000.npz")))
    assert maps["saliency"].shape == (2, 128, 128) and list(maps["indices"]) == [0, 1]
    assert len(list((reference / "records").glob("*/batch-*.json"))) == LIMIT // 2


def test_mirrored_over_two_logical_cpus_matches_default(
    reference, tfds_dir, tmp_path, imagenet_assets
):
    out = tmp_path / "mirrored"
    command = _command(imagenet_assets / MOBILENET, tfds_dir, out, "--batch-size", "2",
                       "--strategy", "mirrored", "--cpu-devices", "2")  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    batch = json.loads(next((out / "records").glob("*/batch-000000.json")).read_text())
    assert len(batch["devices"]) == 2 and batch["devices"][1].endswith("CPU:1")
    assert_same_records(reference, out)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_worker_processes_match_default(reference, tfds_dir, tmp_path, imagenet_assets):
    out = tmp_path / "multiworker"
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        command = _command(imagenet_assets / MOBILENET, tfds_dir, out, "--batch-size", "2",
                           "--strategy", "multiworker")  # fmt: skip
        processes.append(
            subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=_env(TF_CONFIG=json.dumps(config)),
            )
        )
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
    shards = sorted(p.name for p in (out / "records").iterdir())
    assert shards == ["shard-0000-of-0002", "shard-0001-of-0002"]
    assert_same_records(reference, out)
    assert json.loads((out / "summary.json").read_text())["images"] == LIMIT


def test_killed_run_resumes_to_exactly_the_records(
    reference, tfds_dir, tmp_path, imagenet_assets, capsys
):
    out = tmp_path / "killed"
    command = _command(imagenet_assets / MOBILENET, tfds_dir, out, "--batch-size", "1")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=_env())  # fmt: skip
    deadline = time.time() + 240
    while time.time() < deadline and len(list(out.glob("records/*/batch-*.json"))) < 2:
        assert process.poll() is None, process.stderr.read()[-3000:]
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = len(list(out.glob("records/*/batch-*.json")))
    assert 2 <= done < LIMIT, "the run finished before it could be killed"

    # The rest in this process: only the killed run needed a process of its own.
    argv = command[command.index("evaluate") :]
    assert main(argv) == 2 and "--resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0
    assert len(list(out.glob("records/*/batch-*.json"))) == LIMIT
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp") and p.stat().st_size]
    assert_same_records(reference, out)

    # Other settings in the same folder are refused.
    assert main([*argv, "--resume", "--steps", "7"]) == 2
    assert "other settings (steps)" in capsys.readouterr().err


def test_shards_and_mask_metrics_on_shapes(tmp_path, capsys):
    out = tmp_path / "shapes"
    base = ["evaluate", "--model", "shapes_cnn", "--dataset", "shapes", "--limit", "12",
            "--methods", "saliency,gradcam", "--metrics", "pointing_game,mass_in_mask",
            "--target", "label", "--batch-size", "4", "--out", str(out), "--quiet"]  # fmt: skip
    assert main([*base, "--shard", "0/2"]) == 0
    assert main([*base, "--shard", "1/2"]) == 0
    records = read_records(out)
    assert [r["index"] for r in records] == list(range(12))
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accuracy"]["top1"] >= 0.9
    for method in ("saliency", "gradcam"):
        assert summary["methods"][method]["pointing_game"]["mean"] >= 0.5
