"""tfattr.models with TF-Hub: a hub-like SavedModel by path and by a real tfhub.dev URL handle."""

import hashlib

import numpy as np
import pytest
import tensorflow as tf

import tfattr
from tfattr import models

SIZE = 16  # the stand-in takes small images; the real Inception v1 takes 224
TABBY = 281  # ImageNet-1k index of "tabby" (WordNet n02123045); hub output 282
GOLDFISH = 1


class HubLikeClassifier(tf.Module):
    """Like google/imagenet/inception_v1/classification/4: [0, 1] images -> 1001 logits.

    logits = mean colour @ W: a red image scores hub output TABBY + 1 (10 per unit of red), a
    green one GOLDFISH + 1, so gradients and the 1001/1000 offset have exact expected values.
    """

    def __init__(self):
        super().__init__()
        weights = np.zeros((3, 1001), np.float32)
        weights[0, TABBY + 1] = 10.0
        weights[1, GOLDFISH + 1] = 5.0
        self.weights = tf.Variable(weights)

    @tf.function(input_signature=[tf.TensorSpec([None, SIZE, SIZE, 3], tf.float32)])
    def __call__(self, images):
        return tf.reduce_mean(images, axis=[1, 2]) @ self.weights


@pytest.fixture(scope="module")
def hub_like_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("hub_like") / "classifier"
    tf.saved_model.save(HubLikeClassifier(), str(path))
    return path


@pytest.fixture
def offline_names(tmp_path, monkeypatch):
    """An empty KERAS_HOME (the network is blocked): class names come from the package."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))


def _red_images(n=2):
    images = np.zeros((n, SIZE, SIZE, 3), np.uint8)
    images[..., 0] = 255
    return images


def _check_hub_spec(spec):
    assert spec.opaque and spec.cam_layer is None
    assert (spec.num_classes, spec.label_offset, spec.input_size) == (1001, 1, (SIZE, SIZE))
    assert spec.preprocess == models.Preprocess("unit")  # hub image models take [0, 1]

    x = spec.preprocess(_red_images())
    scores = tfattr.ModelAdapter(spec.model)(x).numpy()
    top = scores.argmax(-1)
    assert top.tolist() == [TABBY + 1] * 2
    assert spec.to_imagenet(top).tolist() == [TABBY] * 2
    assert spec.class_id("n02123045") == TABBY + 1  # tabby's WordNet id -> hub output
    assert spec.class_names[0] == "background" and len(spec.class_names) == 1001
    assert spec.decode(scores[:1], top=1)[0][0][0] == TABBY + 1

    # Gradients flow through the hub object: d logit / d pixel = 10 / (SIZE * SIZE) on red.
    attr = tfattr.Saliency(spec.model).explain(x, target=spec.class_id("n02123045")).numpy()
    expected = np.zeros_like(attr)
    expected[..., 0] = 10.0 / SIZE**2
    np.testing.assert_allclose(attr, expected, rtol=1e-5)


def test_local_saved_model_folder(hub_like_dir, offline_names):
    spec = models.load(hub_like_dir)
    assert spec.name == str(hub_like_dir)
    _check_hub_spec(spec)
    assert spec.class_names[TABBY + 1] == "tabby"  # offline: the names ship with tfattr


@pytest.mark.parametrize(
    "name",
    [
        "inception_v1",
        models.HUB_PRESETS["inception_v1"][0],
        "google/imagenet/inception_v1/classification/4",
    ],
    ids=["preset", "url", "short_handle"],
)
def test_tfhub_url_handle_from_a_filled_cache(
    name, hub_like_dir, tmp_path, monkeypatch, offline_names
):
    handle = "https://tfhub.dev/google/imagenet/inception_v1/classification/4"
    assert models.HUB_PRESETS["inception_v1"][0] == handle
    cache = tmp_path / "tfhub_cache"
    tf.saved_model.save(
        tf.saved_model.load(str(hub_like_dir)),
        str(cache / hashlib.sha1(handle.encode()).hexdigest()),
    )
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(cache))
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)  # UNCOMPRESSED would go online
    spec = models.load(name)
    assert spec.name == handle
    _check_hub_spec(spec)


def test_class_names_with_the_keras_index(hub_like_dir, imagenet_assets, tmp_path, monkeypatch):
    home = tmp_path / "keras_home"
    (home / "models").mkdir(parents=True)
    (home / "models" / "imagenet_class_index.json").write_bytes(
        (imagenet_assets / "imagenet_class_index.json").read_bytes()
    )
    monkeypatch.setenv("KERAS_HOME", str(home))
    spec = models.load(hub_like_dir)
    assert spec.class_names[TABBY + 1] == "tabby" and spec.class_id("tabby") == TABBY + 1
    hub_names = (imagenet_assets / "ImageNetLabels.txt").read_text().splitlines()
    assert hub_names[TABBY + 1] == "tabby" and hub_names[0] == "background"


def test_opaque_model_has_no_logits_copy_and_no_cam(hub_like_dir):
    spec = models.load(hub_like_dir)
    with pytest.raises(tfattr.OpaqueModelError, match="already return logits"):
        models.logits_model(spec.model)
    if hasattr(tfattr, "GradCAM"):  # spec.opaque says it: no inner layers for Grad-CAM
        with pytest.raises(tfattr.OpaqueModelError):
            tfattr.GradCAM(spec.model).explain(_red_images(1), target=1)


def test_unreachable_handle_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty_cache"))
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)
    with pytest.raises(ValueError, match="could not (load|download) the TF-Hub model"):
        models.load("https://tfhub.dev/google/imagenet/mobilenet_v2_100_224/classification/5")


def test_short_handle_that_is_also_a_missing_path(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty_cache"))
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)
    with pytest.raises(ValueError, match="No file or folder 'exports/classifier/3' exists"):
        models.load("exports/classifier/3")


def test_keras_export_folder_through_its_serving_signature(tmp_path):
    import keras

    inputs = keras.Input((SIZE, SIZE, 3))
    features = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(3, 3)(inputs))
    keras.Model(inputs, keras.layers.Dense(5)(features)).export(
        str(tmp_path / "exported"), verbose=False
    )
    spec = models.load(tmp_path / "exported", class_names=list("abcde"))
    assert spec.opaque and spec.num_classes == 5 and spec.input_size == (SIZE, SIZE)
    assert spec.class_id("c") == 2 and spec.label_offset == 0
    attr = tfattr.Saliency(spec.model).explain(spec.preprocess(_red_images()), target=2)
    assert attr.shape == (2, SIZE, SIZE, 3) and float(tf.reduce_sum(attr)) > 0
