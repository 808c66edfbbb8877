"""`tfattr explain` end to end on the real MobileNet and real photos."""

import json
import shutil

import numpy as np
import pytest

from tfattr.apps.cli import main

MOBILENET = "mobilenet_2_5_128_tf.h5"
PHOTOS = ("n02391049_zebra.JPEG", "n04310018_steam_locomotive.JPEG", "n01440764_tench.JPEG")


@pytest.fixture
def keras_home(tmp_path, monkeypatch, imagenet_assets):
    """Keras' ImageNet class index in a temporary KERAS_HOME: class names offline."""
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    shutil.copy(imagenet_assets / "imagenet_class_index.json", home / "models")
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def _photos(imagenet_assets, count=2):
    folder = imagenet_assets / "sample_images"
    found = [folder / name for name in PHOTOS if (folder / name).is_file()]
    return (found or sorted(folder.iterdir()))[:count]


def test_explain_writes_report_figures_and_json(tmp_path, imagenet_assets, keras_home, capsys):
    import keras

    from tfattr.data import load_image

    photos = _photos(imagenet_assets)
    model_path = imagenet_assets / MOBILENET
    out = tmp_path / "out"
    code = main(
        [
            "explain", *map(str, photos), "--model", str(model_path),
            "--methods", "saliency,ig,smoothgrad,gradcam,deeplift",
            "--set", "integrated_gradients.steps=8", "--set", "smoothgrad.samples=4",
            "--top-k", "5", "--out", str(out), "--quiet",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert (out / "report.html").stat().st_size > 1000
    summary = json.loads((out / "explain.json").read_text())
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "tfattr.report/1" and report["count"] == len(photos)
    assert list(summary["methods"]) == [
        "saliency", "integrated_gradients", "smoothgrad", "gradcam", "deeplift"
    ]  # fmt: skip
    assert summary["methods"]["integrated_gradients"]["options"]["steps"] == 8
    assert len(summary["methods"]["integrated_gradients"]["convergence_delta"]) == len(photos)
    assert all(m["seconds"] > 0 for m in summary["methods"].values())

    # Top-1 is the model's own prediction on the same preprocessed photo.
    reference = keras.applications.MobileNet(
        alpha=0.25, input_shape=(128, 128, 3), weights=str(model_path)
    )
    for photo, entry in zip(photos, summary["images"], strict=True):
        assert (out / entry["figure"]).stat().st_size > 1000
        x = keras.applications.mobilenet.preprocess_input(
            load_image(photo, 128).numpy().astype("float32")
        )
        expected = int(np.argmax(reference.predict(x[None], verbose=0)))
        predictions = entry["predictions"]
        assert len(predictions) == 5 and predictions[0]["class"] == expected
        assert entry["target"] == expected
        assert predictions[0]["name"] and not predictions[0]["name"].startswith("n0")
        probabilities = [p["probability"] for p in predictions]
        assert probabilities == sorted(probabilities, reverse=True) and probabilities[0] <= 1


def test_explain_target_by_name_on_the_demo_model(tmp_path, capsys):
    from tfattr.apps.demo import shapes

    images, _, _ = shapes.make_dataset(1)
    import tensorflow as tf

    path = tmp_path / "shape.png"
    tf.io.write_file(str(path), tf.io.encode_png(images[0]))
    out = tmp_path / "out"
    code = main(["explain", str(path), "--model", "shapes_cnn", "--target", "cross",
                 "--methods", "gradcam", "--out", str(out)])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "explain.json").read_text())
    assert summary["images"][0]["target"] == 3 and summary["images"][0]["target_name"] == "cross"
    assert "shape.png" in capsys.readouterr().out


def test_explain_shows_the_steps_adaptive_ig_used(tmp_path):
    """The CLI's IG is adaptive (steps="auto"): each image's steps and delta reach the JSON and
    the report, and the delta meets the tolerance."""
    import tensorflow as tf

    from tfattr.apps.demo import shapes

    images, _, _ = shapes.make_dataset(2)
    paths = []
    for i, image in enumerate(images[:2]):
        paths.append(tmp_path / f"shape{i}.png")
        tf.io.write_file(str(paths[-1]), tf.io.encode_png(image))
    out = tmp_path / "out"
    code = main(["explain", *map(str, paths), "--model", "shapes_cnn", "--methods", "ig",
                 "--out", str(out), "--quiet"])  # fmt: skip
    assert code == 0
    summary = json.loads((out / "explain.json").read_text())
    ig = summary["methods"]["integrated_gradients"]
    assert ig["options"]["steps"] == "auto"
    assert len(ig["steps"]) == 2 and all(k >= 9 for k in ig["steps"])
    report = json.loads((out / "report.json").read_text())
    for entry in report["images"]:
        stats = entry["attributions"]["integrated_gradients"]
        assert stats["steps"] >= 9 and abs(stats["relative_delta"]) <= 0.0101
    assert f"{ig['steps'][0]} steps" in (out / "report.html").read_text()


def test_explain_a_hub_like_saved_model(tmp_path, capsys):
    """An opaque 1001-class SavedModel: gradient methods run, layer methods are refused (exit 2)."""
    import tensorflow as tf

    class HubLike(tf.Module):
        def __init__(self):
            super().__init__()
            weights = np.zeros((3, 1001), np.float32)
            weights[0, 282] = 10.0  # red -> hub output 282 = ImageNet 281 (tabby)
            self.weights = tf.Variable(weights)

        @tf.function(input_signature=[tf.TensorSpec([None, 16, 16, 3], tf.float32)])
        def __call__(self, images):
            return tf.reduce_mean(images, axis=[1, 2]) @ self.weights

    model = tmp_path / "hub_like"
    tf.saved_model.save(HubLike(), str(model))
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 255
    image = tmp_path / "red.png"
    tf.io.write_file(str(image), tf.io.encode_png(red))

    argv = ["explain", str(image), "--model", str(model), "--out", str(tmp_path / "out")]
    assert main([*argv, "--methods", "saliency,gradcam"]) == 2
    assert "gradcam need the model's layers" in capsys.readouterr().err
    assert main([*argv, "--methods", "saliency,ig", "--quiet"]) == 0
    summary = json.loads((tmp_path / "out" / "explain.json").read_text())
    assert summary["model"]["label_offset"] == 1
    assert summary["images"][0]["predictions"][0]["class"] == 282
    delta = summary["methods"]["integrated_gradients"]["convergence_delta"][0]
    assert abs(delta) < 1e-3  # a linear model: IG is exact
