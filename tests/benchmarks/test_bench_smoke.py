"""The hand-run benchmarks, once each on a tiny model, so that they do not rot.

Timings mean nothing at this size; these tests check that every script's core runs end to end
(floors, alternating timers, sync counter, memory probe, peer alignment and plot) against the
current tfattr API. The peers' own environments are never touched here.
"""

import argparse
import importlib
import json
import pathlib
import sys

import numpy as np
import pytest

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"
TINY = ["--size", "32", "--images", "2", "--steps", "4", "--repeats", "1"]


@pytest.fixture(scope="module")
def bench():
    """The benchmark modules (the folder is scripts, not a package)."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield {name: importlib.import_module(name) for name in
               ("_common", "bench_ig", "bench_methods", "bench_occlusion_edit",
                "compare_peers")}  # fmt: skip
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_bench_ig_runs(bench, capsys):
    medians = bench["bench_ig"].main([*TINY, "--batch-size", "4"])
    assert set(medians) == {"floor", "tfattr"}
    assert "ratio tfattr / floor" in capsys.readouterr().out


def test_bench_methods_every_method_with_checks(bench, tmp_path):
    out = tmp_path / "rows.json"
    rows = bench["bench_methods"].main(
        [
            *TINY,
            "--samples",
            "3",
            "--window",
            "8",
            "--stride",
            "8",
            "--batch-size",
            "4",
            "--checks",
            "--json",
            str(out),
        ]  # fmt: skip
    )
    assert [r["method"] for r in rows] == [
        "IntegratedGradients", "SmoothGrad", "Occlusion", "GradCAM", "DeepLift", "Saliency"
    ]  # fmt: skip
    for row in rows:
        assert row["floor_s"] > 0 and row["tfattr_s"] > 0
        checks = row["checks"]
        if "small" in checks:  # no host round-trip per chunk: reads do not grow with the work
            assert checks["small"]["syncs"] == checks["large"]["syncs"], row
    assert json.loads(out.read_text())["rows"][0]["method"] == "IntegratedGradients"
    pooled = bench["bench_methods"].main(["summarize", str(out), str(out)])
    assert [p["method"] for p in pooled] == [r["method"] for r in rows]
    for summary, row in zip(pooled, rows, strict=True):  # 1 round per run, pooled twice
        assert summary["rounds"] == 2 and summary["per_run"] == [row["ratio"]] * 2
        assert summary["ratio"] == pytest.approx(row["ratio"])


def test_bench_occlusion_edit_builds_the_same_rows_both_ways(bench):
    result = bench["bench_occlusion_edit"].main(
        ["--size", "32", "--images", "2", "--window", "8", "--stride", "4", "--batch-size", "6",
         "--repeats", "1", "--calls", "1"]
    )  # fmt: skip
    assert result["max_difference"] == 0.0
    assert result["build whole rows"] > 0 and result["edit in place"] > 0


def test_sync_counter_counts_host_reads(bench):
    import tensorflow as tf

    t = tf.constant([1.0, 2.0])
    with bench["_common"].SyncCounter() as syncs:
        t.numpy()
        float(t[0])
        np.asarray(t)
    assert syncs.count == 3


def test_compare_peers_core_without_peers(bench, tmp_path):
    """tfattr and the floor through the driver; each alignment fed tfattr's own output."""
    cp = bench["compare_peers"]
    args = cp.parser().parse_args(
        [*TINY, "--models", "cnn", "--samples", "3", "--window", "8", "--batch-size", "4"]
    )
    rows = cp.compare(args, workers={}, workdir=tmp_path)
    assert {(r["method"], r["library"]) for r in rows} == {
        (m, lib) for m in cp.METHODS for lib in ("tfattr", "floor")
    }
    model = bench["_common"].build("cnn", 32)
    x = bench["_common"].images(2, 32)
    targets = np.zeros(2, np.int32)
    ns = argparse.Namespace(**vars(args), model_name="cnn")
    for method, peers in cp.ROWS.items():
        for peer, _ in peers:
            ref = cp.reference(method, peer, x, model, targets, ns)
            out, ref2 = cp.align(method, peer, ref.copy(), ref, x, ns)
            assert out.shape == ref2.shape
            if (method, peer) in (("ig", "xplique"), ("occlusion", "xplique")):
                assert cp.agreement(out, ref2)["rel_err"] == 0  # same convention as tfattr
    cp.plot(rows, tmp_path / "peers.png", "smoke")
    assert (tmp_path / "peers.png").stat().st_size > 0
