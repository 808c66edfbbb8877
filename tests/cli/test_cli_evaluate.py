"""`tfattr evaluate`: Parquet records, TFRecord maps, merged summaries, strategies, shards,
kill -9 and resume, one run per folder, --no-download.

The demo's shapes CNN on its shapes dataset (masks, labels) keeps every run a few seconds; each
run must give the same per-image records as the default strategy's.
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from tfattr.apps import evaluate
from tfattr.apps.cli import main

LIMIT = 10
METHODS = "saliency,gradcam,integrated_gradients"
COMMON = ["--model", "shapes_cnn", "--dataset", "shapes", "--limit", str(LIMIT),
          "--methods", METHODS, "--metrics", "deletion,pointing_game", "--target", "label",
          "--quiet"]  # fmt: skip


def _argv(out, *extra):
    return ["evaluate", *COMMON, "--out", str(out), *extra]


def _command(out, *extra):
    return [sys.executable, "-m", "tfattr.apps.cli", *_argv(out, *extra)]


def _env():
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    return {**env, "TF_CPP_MIN_LOG_LEVEL": "3"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The default strategy's run: 8 images per batch, 4 records per file, maps saved."""
    out = tmp_path_factory.mktemp("evaluate") / "reference"
    argv = _argv(out, "--batch-size", "8", "--records-per-file", "4", "--save-maps",
                 "--strategy", "default")  # fmt: skip
    assert main(argv) == 0
    return out


def assert_same_records(expected_dir, actual_dir, columns=None):
    expected = evaluate.read_records(expected_dir).to_pylist()
    actual = evaluate.read_records(actual_dir).to_pylist()
    assert [r["index"] for r in actual] == [r["index"] for r in expected] == list(range(LIMIT))
    for want, got in zip(expected, actual, strict=True):
        for key in columns or want:
            if key.endswith("/delta"):  # a float32 difference of scores of size ~10
                assert got[key] == pytest.approx(want[key], abs=2e-5), key
            elif isinstance(want[key], float):
                assert got[key] == pytest.approx(want[key], rel=1e-5, abs=1e-7), key
            else:
                assert got[key] == want[key], key


def test_records_maps_and_summary_read_back_in_one_line(reference):
    table = pq.read_table(reference / "records")  # the one-line read-back of the README
    assert sorted(table.column("index").to_pylist()) == list(range(LIMIT))
    assert {"saliency/deletion_auc", "gradcam/pointing_game", "integrated_gradients/delta"} <= set(
        table.column_names
    )
    # 10 images, 4 per file: 3 files, each with its statistics in the footer.
    parts = sorted((reference / "records").glob("*/part-*.parquet"))
    assert [pq.read_metadata(p).num_rows for p in parts] == [4, 4, 2]
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["images"] == LIMIT and summary["accuracy"]["top1"] >= 0.8
    # The summary merged from footers equals the statistics of the records themselves.
    for column in ("saliency/deletion_auc", "gradcam/pointing_game"):
        method, metric = column.split("/")
        values = np.asarray(table.column(column).to_pylist(), np.float64)
        stats = summary["methods"][method][metric]
        assert stats["n"] == LIMIT
        assert stats["mean"] == pytest.approx(values.mean(), rel=1e-12)
        assert stats["std"] == pytest.approx(values.std(ddof=1), rel=1e-9)
    assert (reference / "summary.csv").read_text().startswith("method,metric,mean,")
    maps = list(evaluate.read_maps(reference).as_numpy_iterator())
    assert sorted(int(m["index"]) for m in maps) == list(range(LIMIT))
    assert maps[0]["gradcam"].shape == (48, 48) and maps[0]["saliency"].dtype == np.float32


def test_maps_are_the_methods_maps(reference):
    """Read-back maps equal a direct explanation of the same images (float16 storage)."""
    import tfattr
    from tfattr import metrics
    from tfattr.apps.demo import shapes
    from tfattr.apps.demo.model import load_spec

    spec = load_spec()
    images, labels, _ = shapes.make_dataset(LIMIT, shapes.TEST_SEED, size=48)
    x = spec.preprocess(images)
    direct = metrics.attribution_maps(
        tfattr.Saliency(spec.model).explain(x, target=np.asarray(labels, np.int32)), x
    )
    saved = {int(m["index"]): m["saliency"] for m in evaluate.read_maps(reference)}
    for i in range(LIMIT):
        np.testing.assert_allclose(saved[i], direct[i], rtol=2e-3, atol=1e-6)


def test_mirrored_over_two_logical_cpus_matches_default(reference, tmp_path):
    out = tmp_path / "mirrored"
    command = _command(out, "--batch-size", "8", "--records-per-file", "4", "--save-maps",
                       "--strategy", "mirrored", "--cpu-devices", "2")  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    columns = ["label", "prediction", "probability", "top5", "target", "saliency/deletion_auc",
               "saliency/pointing_game", "gradcam/deletion_auc", "gradcam/pointing_game"]  # fmt: skip
    assert_same_records(reference, out, columns)
    want = {int(m["index"]): m for m in evaluate.read_maps(reference)}
    for got in evaluate.read_maps(out):
        for name in ("saliency", "gradcam"):
            np.testing.assert_allclose(got[name], want[int(got["index"])][name], rtol=1e-6)


def test_mirrored_integrated_gradients_match_default(reference, tmp_path):
    out = tmp_path / "mirrored_ig"
    command = _command(out, "--batch-size", "8", "--strategy", "mirrored", "--cpu-devices", "2")
    result = subprocess.run(command, capture_output=True, text=True, env=_env(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_same_records(reference, out, ["integrated_gradients/delta"])


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_worker_processes_read_their_blocks_and_match_default(reference, tmp_path):
    out = tmp_path / "multiworker"
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    processes = []
    for index in range(2):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
        command = _command(out, "--batch-size", "8", "--strategy", "multiworker")
        env = {**_env(), "TF_CONFIG": json.dumps(config)}
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True, env=env))  # fmt: skip
    for process in processes:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
    blocks = sorted(p.name for p in (out / "records").iterdir())
    assert blocks == ["shard-00000-of-00002", "shard-00001-of-00002"]
    first = pq.read_table(out / "records" / "shard-00000-of-00002").column("index").to_pylist()
    assert sorted(first) == [0, 1, 2, 3, 4]  # worker 0's block: the first half
    columns = ["label", "prediction", "probability", "target", "saliency/deletion_auc",
               "gradcam/deletion_auc"]  # fmt: skip
    assert_same_records(reference, out, columns)
    assert json.loads((out / "summary.json").read_text())["images"] == LIMIT


def test_killed_run_resumes_to_exactly_the_records(reference, tmp_path, capsys):
    out = tmp_path / "killed"
    extra = ["--batch-size", "1", "--records-per-file", "1"]
    process = subprocess.Popen(_command(out, *extra), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=_env())  # fmt: skip
    deadline = time.time() + 300
    parts = "records/*/part-*.parquet"
    while time.time() < deadline and len(list(out.glob(parts))) < 2:
        assert process.poll() is None, process.stderr.read()[-3000:]
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = len(list(out.glob(parts)))
    assert 2 <= done < LIMIT, "the run finished before it could be killed"

    assert main(_argv(out, *extra)) == 2 and "--resume" in capsys.readouterr().err
    assert main(_argv(out, *extra, "--resume")) == 0
    assert len(list(out.glob(parts))) == LIMIT
    assert not [p for p in out.rglob("*.parquet") if p.name.startswith(".")]
    assert_same_records(reference, out)  # no lost, no duplicated record (read_records checks)
    assert json.loads((out / "summary.json").read_text())["images"] == LIMIT


def test_another_run_into_the_folder_is_refused_before_any_work(reference, capsys, monkeypatch):
    import tfattr.apps.cli

    def no_work(*args, **kwargs):
        raise AssertionError("the model was loaded before the folder was checked")

    monkeypatch.setattr(tfattr.apps.cli, "load_model", no_work)
    before = sorted(p.name for p in reference.rglob("*"))
    assert main(_argv(reference, "--batch-size", "8", "--steps", "7", "--resume")) == 2
    error = capsys.readouterr().err
    assert "holds another run" in error and "steps" in error and "choose another --out" in error
    assert sorted(p.name for p in reference.rglob("*")) == before


def test_an_identical_job_of_a_shard_being_computed_is_refused(reference, capsys, monkeypatch):
    config = evaluate.RunConfig(model="shapes_cnn", weights="imagenet", dataset="shapes",
                                methods=METHODS.split(","), metrics=["deletion", "pointing_game"],
                                target="label", limit=LIMIT, batch_size=8, save_maps=True)  # fmt: skip
    holder = evaluate.RunFolder(reference, config, (0, 1), resume=True)
    try:
        assert main(_argv(reference, "--batch-size", "8", "--save-maps", "--resume")) == 2
        assert "is being computed by process" in capsys.readouterr().err
    finally:
        holder.release()


def test_shard_jobs_join_one_run_and_the_summary_merges_them(reference, tmp_path):
    out = tmp_path / "sharded"
    for shard in ("1/3", "0/3", "2/3"):
        assert main(_argv(out, "--batch-size", "8", "--shard", shard)) == 0
    assert sorted(p.name for p in (out / "records").iterdir()) == [
        f"shard-0000{i}-of-00003" for i in range(3)
    ]
    assert_same_records(reference, out)
    merged = json.loads((out / "summary.json").read_text())
    whole = json.loads((reference / "summary.json").read_text())
    assert merged["images"] == LIMIT and merged["accuracy"] == whole["accuracy"]
    for method in METHODS.split(","):
        for metric in ("deletion_auc", "pointing_game"):
            got, want = merged["methods"][method][metric], whole["methods"][method][metric]
            assert got["mean"] == pytest.approx(want["mean"], rel=1e-6)
            assert got["ci95"] == pytest.approx(want["ci95"], rel=1e-6)


def test_no_download_fails_at_once_naming_the_fix(tmp_path, capsys):
    out = tmp_path / "offline"
    tick = time.perf_counter()
    code = main(["evaluate", "--model", "shapes_cnn", "--dataset", "tfds:mnist",
                 "--data-dir", str(tmp_path / "tfds"), "--no-download", "--methods", "saliency",
                 "--out", str(out), "--quiet"])  # fmt: skip
    elapsed = time.perf_counter() - tick
    error = capsys.readouterr().err
    assert code == 2 and elapsed < 60
    assert "not prepared" in error and "tfds build mnist" in error and "--no-download" in error
    assert not (out / "run.json").exists()  # a failed start leaves no claim behind


def test_mask_metrics_need_masks(tmp_path, capsys):
    import tensorflow as tf

    (tmp_path / "photos").mkdir()
    image = tf.io.encode_png(np.zeros((8, 8, 3), np.uint8)).numpy()
    (tmp_path / "photos" / "a.png").write_bytes(image)
    folder = f"folder:{tmp_path / 'photos'}"
    argv = ["evaluate", "--model", "shapes_cnn", "--dataset", folder,
            "--metrics", "pointing_game", "--out", str(tmp_path / "x"), "--quiet"]  # fmt: skip
    assert main(argv) == 2
    assert "need ground-truth masks" in capsys.readouterr().err


def test_road_metric_gives_both_orders_per_method(tmp_path):
    """--metrics road records ROAD's most- and least-relevant-first AUCs for every method, equal
    to tfattr.metrics.road on the same maps."""
    out = tmp_path / "road"
    argv = ["evaluate", "--model", "shapes_cnn", "--dataset", "shapes", "--limit", "3",
            "--methods", "saliency", "--metrics", "road", "--target", "label", "--quiet",
            "--out", str(out), "--save-maps"]  # fmt: skip
    assert main(argv) == 0
    records = evaluate.read_records(out).to_pylist()
    assert len(records) == 3
    for record in records:
        morf, lerf = record["saliency/road_morf_auc"], record["saliency/road_lerf_auc"]
        assert 0.0 <= morf <= 1.0 and 0.0 <= lerf <= 1.0
    assert (
        np.mean([r["saliency/road_lerf_auc"] for r in records])
        >= np.mean([r["saliency/road_morf_auc"] for r in records]) - 0.05
    )  # removing the least relevant pixels first keeps the score higher


def test_unreadable_images_of_a_folder_are_named_before_any_work(tmp_path, capsys):
    """A folder with a broken JPEG and a text file posing as an image: the run stops before
    computing anything, naming both files and their reasons."""
    import tensorflow as tf

    from tfattr.apps.demo import shapes

    images, _, _ = shapes.make_dataset(3)
    folder = tmp_path / "photos" / "cross"
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        tf.io.write_file(str(folder / f"ok{i}.png"), tf.io.encode_png(image))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
    (folder / "notes.png").write_text("not an image")
    out = tmp_path / "out"
    argv = ["evaluate", "--model", "shapes_cnn", "--dataset", f"folder:{tmp_path / 'photos'}",
            "--methods", "saliency", "--metrics", "none", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "broken.jpg" in err and "notes.png" in err and "Nothing was computed" in err
    assert "--skip-bad" in err and "function_node" not in err
    assert not list(out.glob("records/**/*.parquet"))

    # --skip-bad: the readable images are computed, the others listed and counted.
    skipping = tmp_path / "skipping"
    argv[argv.index(str(out))] = str(skipping)
    assert main([*argv, "--skip-bad"]) == 0
    records = evaluate.read_records(skipping).to_pylist()
    assert sorted(r["name"] for r in records) == [f"cross/ok{i}.png" for i in range(3)]
    summary = json.loads((skipping / "summary.json").read_text())
    assert summary["images"] == 3 and summary["skipped_images"]["count"] == 2
    skipped = sorted(pathlib.Path(f["path"]).name for f in summary["skipped_images"]["files"])
    assert skipped == ["broken.jpg", "notes.png"]


def test_an_unusable_out_folder_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "taken").write_text("a file")
    argv = ["evaluate", *COMMON, "--out", str(tmp_path / "taken" / "run")]
    assert main(argv) == 2
    assert "is under the file" in capsys.readouterr().err
