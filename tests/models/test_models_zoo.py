"""tfattr.models: presets, the real pretrained MobileNet, Keras files, logits_model, ModelSpec."""

import csv
import importlib
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfattr
from tfattr import data, models
from tfattr.core.adapter import output_layer, softmax_override

MOBILENET_FILE = "mobilenet_2_5_128_tf.h5"


@pytest.fixture
def keras_home(tmp_path, monkeypatch, imagenet_assets):
    """A temporary KERAS_HOME holding Keras' ImageNet class index (names work offline)."""
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    shutil.copy(imagenet_assets / "imagenet_class_index.json", home / "models")
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


# ------------------------------------------------------------------------------------------------
# The real pretrained model


def test_real_mobilenet_top5_on_sample_photos(imagenet_assets, keras_home):
    spec = models.load(imagenet_assets / MOBILENET_FILE)
    assert spec.input_size == (128, 128)
    assert spec.cam_layer == "conv_pw_13_relu"
    assert spec.model.get_layer(spec.cam_layer).output.shape[1:] == (4, 4, 256)
    assert (spec.num_classes, spec.label_offset, spec.opaque) == (1000, 0, False)
    assert spec.preprocess == models.Preprocess("tf")

    photos = data.image_folder(
        imagenet_assets / "sample_images",
        spec.input_size,
        preprocess=spec.preprocess,
        batch_size=50,
    )
    images, labels = next(iter(photos))
    assert images.shape == (50, 128, 128, 3)
    np.testing.assert_array_equal(labels, np.arange(0, 1000, 20))  # classes 0, 20, ..., 980
    scores = spec.model(images, training=False).numpy()
    top5 = np.argsort(-scores, axis=1)[:, :5]
    hits = int((top5 == labels.numpy()[:, None]).any(axis=1).sum())
    assert hits >= 30, f"top-5 contains the true class for only {hits} of 50 photos"

    # The "crop" resize policy is the one the reference predictions were measured with (shorter
    # side to 128 / 0.875, centre crop): top-1 agrees on 49 of 50 photos here.
    with open(imagenet_assets / "sample_images_mobilenet_0.25_128_predictions.tsv") as f:
        reference = list(csv.DictReader(f, delimiter="\t"))
    assert [int(r["class_index"]) for r in reference] == labels.numpy().tolist()
    agree = sum(int(r["top1_index"]) == int(t) for r, t in zip(reference, top5[:, 0], strict=True))
    assert agree >= 45, f"top-1 agrees with the reference predictions on only {agree} of 50"

    # Class names from the Keras class index in KERAS_HOME; targets by name.
    assert spec.class_names[0] == "tench" and len(spec.class_names) == 1000
    assert spec.class_id("tench") == 0 and spec.class_id("Golden Retriever") == 207
    assert spec.decode(scores[:1], top=1)[0][0][:2] == (0, "tench")

    # Grad-CAM on the default layer, when the GradCAM method is available.
    if hasattr(tfattr, "GradCAM"):
        explainer = tfattr.GradCAM(spec.model, layer=spec.cam_layer, upsample=False)
        cam = explainer.explain(images[:2], target=[0, 20]).numpy()  # tench, water ouzel: right
        assert cam.shape == (2, 4, 4) and np.isfinite(cam).all() and (cam >= 0).all()
        assert (cam.max(axis=(1, 2)) > 0).all() and (cam.std(axis=(1, 2)) > 0).all()


def test_weights_file_as_weights_of_the_preset(imagenet_assets):
    spec = models.load("mobilenet", weights=imagenet_assets / MOBILENET_FILE)
    by_path = models.load(imagenet_assets / MOBILENET_FILE)
    assert spec.model.name == by_path.model.name == "mobilenet_0.25_128"
    x = tf.random.stateless_uniform((1, 128, 128, 3), (0, 1), maxval=255)
    np.testing.assert_allclose(spec.model(x), by_path.model(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="mobilenet weights, not vgg16"):
        models.load("vgg16", weights=imagenet_assets / MOBILENET_FILE)


# ------------------------------------------------------------------------------------------------
# Every keras.applications preset, randomly initialised (offline)

# (preset, keras module with preprocess_input, smallest input size the architecture allows);
# every family is built and explained in test_models_families.py.
PRESET_CASES = [
    ("vgg16", "vgg16", 32),
    ("mobilenet_v2", "mobilenet_v2", 32),
]


@pytest.mark.parametrize(("name", "module", "size"), PRESET_CASES, ids=[c[0] for c in PRESET_CASES])
def test_preset_without_weights(name, module, size):
    spec = models.load(name, weights=None, input_size=size)
    assert spec.input_size == (size, size) and spec.num_classes == 1000 and not spec.opaque

    # Preprocessing matches Keras' own preprocess_input.
    images = np.random.default_rng(0).integers(0, 256, (2, size, size, 3)).astype(np.uint8)
    preprocess_input = importlib.import_module(f"keras.applications.{module}").preprocess_input
    expected = preprocess_input(images.astype(np.float32))
    np.testing.assert_allclose(spec.preprocess(images), expected, rtol=1e-6, atol=1e-4)

    # The default CAM layer exists and is a 4-D feature map.
    assert len(spec.model.get_layer(spec.cam_layer).output.shape) == 4

    # The logits model has no softmax and gives the model's probabilities after one.
    logits = models.logits_model(spec.model)
    assert softmax_override(output_layer(spec.model)) is not None
    assert softmax_override(output_layer(logits)) is None
    x = spec.preprocess(images[:1])
    np.testing.assert_allclose(
        tf.nn.softmax(logits(x, training=False)), spec.model(x, training=False), atol=1e-5
    )


def test_preset_default_input_sizes_and_cam_layers():
    expected = {
        "vgg16": (224, "block5_conv3"),
        "vgg19": (224, "block5_conv4"),
        "inception_v3": (299, "mixed10"),
        "resnet50": (224, "conv5_block3_out"),
        "mobilenet": (224, "conv_pw_13_relu"),
        "mobilenet_v2": (224, "out_relu"),
    }
    got = {
        k: (models.KERAS_PRESETS[k].input_size, models.KERAS_PRESETS[k].cam_layer) for k in expected
    }
    assert got == expected
    assert set(models.PRESETS) == {*models.KERAS_PRESETS, "inception_v1"}


def test_imagenet_weights_offline_say_what_to_do(monkeypatch, tmp_path):
    # An empty Keras cache and the network blocked (conftest): Keras' download fails.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))
    with pytest.raises(ValueError, match=r"weights: could not download .* weights=None"):
        models.load("mobilenet", input_size=128, alpha=0.25)


# ------------------------------------------------------------------------------------------------
# Keras files


def _small_classifier(classes=10, fused=True):
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv_a")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    if fused:
        outputs = keras.layers.Dense(classes, activation="softmax", name="head")(x)
    else:
        outputs = keras.layers.Softmax(name="probs")(keras.layers.Dense(classes, name="head")(x))
    return keras.Model(inputs, outputs)


def test_keras_file_with_class_names(tmp_path):
    path = tmp_path / "small.keras"
    _small_classifier().save(path)
    names = [f"class_{i}" for i in range(10)]
    spec = models.load(path, class_names=names, preprocess="unit")
    assert spec.input_size == (16, 16) and spec.num_classes == 10 and spec.cam_layer == "conv_b"
    assert spec.class_names == tuple(names) and spec.class_id("CLASS_3") == 3
    assert spec.label_offset == 0 and not spec.imagenet
    assert spec.preprocess == models.Preprocess("unit")
    plain = models.load(path)
    assert plain.class_names is None and plain.preprocess == models.Preprocess("none")
    with pytest.raises(ValueError, match="has no class names"):
        plain.class_id("cat")
    with pytest.raises(ValueError, match="expected 10 names"):
        models.load(path, class_names=["a", "b"])


def test_keras_file_loads_in_safe_mode(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(x))
    path = tmp_path / "lambda.keras"
    keras.Model(inputs, outputs).save(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        models.load(path)
    assert models.load(path, safe_mode=False).num_classes == 3


def test_saved_application_is_recognised(tmp_path):
    path = tmp_path / "mobilenet.keras"
    keras.applications.MobileNet(alpha=0.25, weights=None, input_shape=(32, 32, 3)).save(path)
    spec = models.load(path)
    assert spec.preprocess == models.Preprocess("tf") and spec.cam_layer == "conv_pw_13_relu"
    assert spec.input_size == (32, 32) and spec.class_names is not None


# ------------------------------------------------------------------------------------------------
# logits_model


@pytest.mark.parametrize("fused", [True, False], ids=["dense_softmax", "softmax_layer"])
def test_logits_model_removes_the_final_softmax(fused):
    model = _small_classifier(fused=fused)
    logits = models.logits_model(model)
    x = tf.random.stateless_uniform((2, 16, 16, 3), (1, 2))
    np.testing.assert_allclose(tf.nn.softmax(logits(x)), model(x), atol=1e-6)
    assert not np.allclose(np.sum(logits(x), -1), 1.0)
    assert softmax_override(output_layer(model)) is not None  # the original is untouched


def test_logits_model_of_a_nested_model():
    inner = _small_classifier()
    outer = keras.Sequential([keras.Input((16, 16, 3)), inner])
    logits = models.logits_model(outer)
    x = tf.random.stateless_uniform((2, 16, 16, 3), (3, 4))
    np.testing.assert_allclose(tf.nn.softmax(logits(x)), outer(x), atol=1e-6)


def test_logits_model_refuses_opaque_models():
    with pytest.raises(tfattr.OpaqueModelError, match="logits_model needs a Keras model"):
        models.logits_model(lambda x: x)


# ------------------------------------------------------------------------------------------------
# Errors and class lookup


def test_load_errors_name_the_fix(tmp_path):
    with pytest.raises(ValueError, match="not a known model .*vgg16.*inception_v1"):
        models.load("vgg17")
    with pytest.raises(ValueError, match="no file or folder exists"):
        models.load(str(tmp_path / "missing.keras"))
    with pytest.raises(ValueError, match="holds no saved_model.pb"):
        models.load(tmp_path)
    (tmp_path / "model.onnx").write_bytes(b"x")
    with pytest.raises(ValueError, match=r"expected a \.keras or \.h5"):
        models.load(tmp_path / "model.onnx")
    with pytest.raises(ValueError, match="no weight file"):
        models.load("mobilenet", weights=str(tmp_path / "missing.h5"))
    with pytest.raises(TypeError, match="name_or_path"):
        models.load(keras.Sequential())
    with pytest.raises(ValueError, match="input_size"):
        models.load("mobilenet", weights=None, input_size=0)
    with pytest.raises(ValueError, match="weights: None applies to the keras.applications"):
        models.load(tmp_path, weights=None)
    with pytest.raises(TypeError, match=r"unexpected options \['alpha'\]"):
        models.load("inception_v1", alpha=0.5)
    (tmp_path / "broken.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        models.load(tmp_path / "broken.h5")


def test_class_lookup_by_name_wnid_and_index(keras_home):
    spec = models.ModelSpec("fake", None, models.Preprocess("unit"), (8, 8), 1001, label_offset=1)
    assert spec.class_names[:2] == ("background", "tench")
    assert spec.class_id("tench") == 1 and spec.class_id("n01440764") == 1
    assert spec.class_ids(["tabby", 5]) == [282, 5]
    assert spec.to_imagenet([0, 1, 282]).tolist() == [-1, 0, 281]
    assert spec.to_model_ids([0, 281]).tolist() == [1, 282]
    with pytest.raises(ValueError, match="ambiguous"):  # two ImageNet classes are "crane"
        spec.class_id("crane")
    with pytest.raises(ValueError, match="unknown class name 'tabb'.*tabby"):
        spec.class_id("tabb")
    with pytest.raises(ValueError, match=r"out of range \[0, 1000\]"):
        spec.class_id(1001)
