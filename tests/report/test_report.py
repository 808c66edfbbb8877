"""tfattr.report: a self-contained HTML page and a JSON summary."""

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

import tfattr
from tfattr import report as tfreport

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
    assert [e["name"] for e in summary["images"]] == [f"image_{i}" for i in range(4)]
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
