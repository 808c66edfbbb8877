"""tfattr.apps.report: a self-contained HTML page and a JSON summary."""

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

import tfattr
from tfattr.apps import report as tfreport

SIZE = 8


def _data(n=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, SIZE, SIZE, 3)).astype("float32")  # "tf" preprocessing
    attrs = {
        "IG": rng.normal(size=(n, SIZE, SIZE, 3)),
        "CAM": np.maximum(0, rng.normal(size=(n, 2, 2))),  # layer resolution
    }
    attrs["CAM"][1] = 0.0  # an all-zero map must not break the report
    scores = rng.normal(size=(n, 5))
    return x, attrs, scores


def test_write_report_html_and_json(tmp_path):
    x, attrs, scores = _data()
    names = ["cat", "dog", "bird", "fish", "frog"]
    paths = tfreport.write_report(
        tmp_path / "out",
        x,
        attrs,
        predictions=scores,
        labels=[int(scores[0].argmax()), 0, 1],
        names=["a.jpg", "b.jpg", "c.jpg"],
        class_names=names,
        deprocess="tf",
        title="Test <report>",
        metadata={"model": "tiny"},
    )
    summary = json.loads(paths["json"].read_text())
    assert summary["format"] == tfreport.FORMAT and summary["count"] == 3
    assert summary["methods"] == ["IG", "CAM"] and summary["metadata"] == {"model": "tiny"}
    first = summary["images"][0]
    top = int(scores[0].argmax())
    assert first["name"] == "a.jpg" and first["target"] == top and first["correct"] is True
    assert first["prediction"]["top"][0] == {
        "class": top,
        "name": names[top],
        "score": pytest.approx(scores[0, top]),
    }
    assert len(first["prediction"]["top"]) == 3
    assert first["attributions"]["IG"]["sum"] == pytest.approx(attrs["IG"][0].sum())
    assert first["attributions"]["CAM"]["shape"] == [2, 2]
    assert summary["images"][1]["attributions"]["CAM"]["all_zero"] is True
    assert summary["images"][1]["attributions"]["CAM"]["scale"] == 0.0

    page = paths["html"].read_text()
    assert "Test &lt;report&gt;" in page and "src='http" not in page  # escaped, self-contained
    pictures = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page)
    assert len(pictures) == 3 * (1 + 2)  # image + one panel per method, per row
    decoded = Image.open(io.BytesIO(base64.b64decode(pictures[0])))
    assert decoded.size == (SIZE, SIZE)
    # The first picture is the deprocessed image, pixel for pixel.
    expected = np.rint((x[0] + 1) * 127.5).astype(np.uint8)
    np.testing.assert_array_equal(np.asarray(decoded.convert("RGB")), expected)
    assert "nothing to show" in page


def test_report_streams_batches_and_checks_inputs(tmp_path):
    x, attrs, scores = _data(4)
    report = tfreport.Report(
        method="heat_map", sign="all", class_names=lambda c: f"class {c}", deprocess="tf"
    )
    report.add(x[:2], {k: v[:2] for k, v in attrs.items()}, predictions=scores[:2].argmax(1))
    report.add(x[2:], {k: v[2:] for k, v in attrs.items()}, targets=1, display=(x[2:] + 1) / 2)
    assert len(report) == 4
    summary = report.to_dict()
    assert [e["name"] for e in summary["images"]] == [f"image {i}" for i in range(1, 5)]
    assert summary["images"][0]["prediction"]["top"][0]["score"] is None
    assert summary["images"][3]["target"] == 1 and summary["images"][3]["target_name"] == "class 1"
    json.dumps(summary)  # serialisable
    with pytest.raises(ValueError, match="same methods"):
        report.add(x[:1], {"IG": attrs["IG"][:1]})
    with pytest.raises(ValueError, match="maps for"):
        tfreport.Report(deprocess="tf").add(x[:2], {"IG": attrs["IG"][:3]})
    with pytest.raises(ValueError, match="nothing to write"):
        tfreport.Report().write(tmp_path)
    with pytest.raises(ValueError, match="looks preprocessed"):
        tfreport.Report().add(x[:1], {"IG": attrs["IG"][:1]})


def test_explain_to_report_with_real_explainers(tmp_path):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((SIZE, SIZE, 3)), keras.layers.Flatten(), keras.layers.Dense(4)]
    )
    photos = np.random.default_rng(0).uniform(0, 1, (3, SIZE, SIZE, 3)).astype("float32")
    calls = []
    report = tfreport.explain_to_report(
        {"Saliency": tfattr.Saliency(model), "IG": tfattr.IntegratedGradients(model, steps=4)},
        photos,
        batch_size=2,
        progress=lambda done, total: calls.append((done, total)),
        title="tiny",
    )
    assert calls == [(2, 3), (3, 3)]
    summary = report.to_dict()
    logits = model(photos).numpy()
    assert [e["target"] for e in summary["images"]] == list(logits.argmax(1))
    ig = tfattr.IntegratedGradients(model, steps=4).explain(photos, target=logits.argmax(1))
    assert summary["images"][2]["attributions"]["IG"]["sum"] == pytest.approx(
        float(np.sum(ig[2])), rel=1e-5
    )
    assert report.write(tmp_path)["html"].exists()


def test_stems_that_leave_the_folder_are_refused(tmp_path):
    x, attrs, scores = _data(2)
    report = tfreport.Report(deprocess="tf")
    report.add(x, attrs, predictions=scores)
    folder = tmp_path / "out"
    for stem in ("../escaped", "sub/report", "/tmp/abs", "..", ".", "", "a\\b", "x\x00y", None):
        with pytest.raises(ValueError, match="stem") as error:
            report.write(folder, stem=stem)
        assert "plain file name" in str(error.value)
    assert not (tmp_path / "escaped.html").exists() and not folder.exists()
    paths = report.write(folder, stem="my-report.v2")
    assert paths["html"] == folder / "my-report.v2.html" and paths["json"].is_file()


def test_convergence_deltas_are_shown_and_flagged_when_large(tmp_path):
    x, attrs, scores = _data(3)
    sums = attrs["IG"].reshape(3, -1).sum(1)
    # delta = sum(attr) - (F(x) - F(b)): choose F(x) - F(b) so that the shares are 1 %, 5 %, 20 %.
    differences = np.array([10.0, -4.0, 2.0])
    deltas = np.array([0.01 * 10.0, -0.05 * 4.0 * 0.999, 0.2 * 2.0])
    attrs["IG"] = attrs["IG"] * ((differences + deltas) / sums)[:, None, None, None]
    report = tfreport.Report(deprocess="tf", class_names=list("abcde"))
    report.add(x, attrs, predictions=scores, deltas={"IG": deltas}, seconds={"IG": 1.5, "CAM": 0.2})
    report.add(x[:1], {k: v[:1] for k, v in attrs.items()}, seconds={"IG": 0.5})
    summary = report.to_dict()
    facts = [e["attributions"]["IG"] for e in summary["images"][:3]]
    assert [f["relative_delta"] for f in facts] == pytest.approx([0.01, 0.05 * 0.999, 0.2])
    assert [f["large_delta"] for f in facts] == [False, False, True]
    assert [f["score_difference"] for f in facts] == pytest.approx(differences)
    assert "convergence_delta" not in summary["images"][3]["attributions"]["IG"]
    assert "convergence_delta" not in facts[0] or "CAM" not in facts
    assert summary["seconds"] == {"IG": 2.0, "CAM": 0.2}
    assert summary["settings"]["delta_tolerance"] == tfreport.DELTA_TOLERANCE == 0.05
    page = report.to_html()
    assert page.count("class='warn'") == 1  # the flagged panel
    assert "class='num warn'>20.0% (1 flagged)" in page  # and the methods table
    assert "δ +0.4 (20.0%)" in page and "δ +0.1 (1.0%)" in page
    assert "2.00 s" in page and "0.20 s" in page
    with pytest.raises(ValueError, match="deltas"):
        report.add(x, attrs, deltas={"nope": deltas})
    with pytest.raises(ValueError, match="3 values"):
        report.add(x, attrs, deltas={"IG": deltas[:2]})


def test_the_page_reads_as_text_with_names_and_probabilities():
    x, attrs, scores = _data(2)
    probabilities = np.exp(scores) / np.exp(scores).sum(1, keepdims=True)
    report = tfreport.Report(
        deprocess="tf",
        class_names=["tabby_cat", "dog", "bird", "fish", "frog"],
        metadata={"model": "models/tiny.keras", "methods": ["IG", "CAM"], "IG": {"steps": 32}},
    )
    report.add(x, attrs, predictions=probabilities, labels=[0, 1])
    page = report.to_html()
    assert (
        "models/tiny.keras" in page
        and "IG, CAM" in page
        and "<dt>IG</dt><dd>steps: 32</dd>" in page
    )
    assert '["' not in page and "&quot;" not in page  # no raw JSON
    top = int(probabilities[0].argmax())
    assert f"{probabilities[0, top]:.1%}" in page
    assert "tabby cat <span class='id'>(0)</span>" in page  # names, readable
    assert "name='viewport'" in page or 'name="viewport"' in page
    assert "grid-template-columns: repeat(auto-fill" in page  # panels wrap to the width
