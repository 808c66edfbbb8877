"""The Apache Beam pipeline on the DirectRunner gives the single-machine run's records."""

import json

import numpy as np
import pytest

beam = pytest.importorskip(
    "apache_beam", reason="Apache Beam is not installed (pip install 'tfattr[beam]')"
)

from tfattr.apps import evaluate  # noqa: E402
from tfattr.apps.cli import main  # noqa: E402

LIMIT = 10
COMMON = ["--model", "shapes_cnn", "--dataset", "shapes", "--limit", str(LIMIT),
          "--methods", "saliency,gradcam,integrated_gradients",
          "--metrics", "deletion,pointing_game", "--target", "label", "--batch-size", "4",
          "--save-maps", "--quiet"]  # fmt: skip


def test_direct_runner_matches_the_single_machine_run(tmp_path, monkeypatch):
    from tfattr.apps import beam as tfattr_beam

    local, piped = tmp_path / "local", tmp_path / "beam"
    assert main(["evaluate", *COMMON, "--out", str(local)]) == 0
    monkeypatch.setattr(tfattr_beam, "BLOCK_SIZE", 3)  # several blocks, read by several bundles
    assert tfattr_beam.main([*COMMON, "--out", str(piped), "--", "--runner=DirectRunner"]) == 0

    want = evaluate.read_records(local).to_pylist()
    got = evaluate.read_records(piped).to_pylist()
    assert [r["index"] for r in got] == list(range(LIMIT))
    assert got == want  # the same code on the same images: identical values
    maps = {int(m["index"]): m for m in evaluate.read_maps(local)}
    for m in evaluate.read_maps(piped):
        for name in ("saliency", "gradcam", "integrated_gradients"):
            np.testing.assert_array_equal(m[name], maps[int(m["index"])][name])
    a = json.loads((local / "summary.json").read_text())
    b = json.loads((piped / "summary.json").read_text())
    assert a["images"] == b["images"] == LIMIT and a["accuracy"] == b["accuracy"]
    for method, values in a["methods"].items():
        for metric, stats in values.items():
            if isinstance(stats, dict):
                assert b["methods"][method][metric]["mean"] == pytest.approx(stats["mean"])


def test_a_beam_run_into_a_folder_with_records_is_refused(tmp_path, capsys):
    out = tmp_path / "beam"
    assert main(["evaluate", *COMMON, "--out", str(out)]) == 0
    assert main(["evaluate", *COMMON, "--out", str(out), "--runner", "beam"]) == 2
    assert "already holds records" in capsys.readouterr().err
