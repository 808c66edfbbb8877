"""The IG accuracy benchmark, once on a tiny model, so that it does not rot."""

import importlib
import json
import pathlib
import sys

BENCHMARKS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks"


def test_bench_ig_accuracy_runs(tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        bench = importlib.import_module("bench_ig_accuracy")
        bench.main(
            ["--model", "cnn", "--size", "16", "--images", "2", "--tolerances", "0.05",
             "--max-fixed", "65", "--repeats", "1", "--out", str(tmp_path)]
        )  # fmt: skip
    finally:
        sys.path.remove(str(BENCHMARKS))
    (path,) = tmp_path.glob("ig-accuracy-*.json")
    row = json.loads(path.read_text())["models"][0]["rows"][0]
    assert row["auto_all_met"] and len(row["auto_steps_per_image"]) == 2
    assert row["auto_evaluations_per_image"] >= 9
    assert "auto_seconds" in row
