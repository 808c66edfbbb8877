"""Weight files users have on disk: Keras 3 .weights.h5 and Keras' ImageNet .h5 downloads."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfattr import models
from tfattr.apps.cli import main
from tfattr.models import weights_file

SIZE = 32


@pytest.fixture(scope="module")
def mobilenet_075(tmp_path_factory):
    """A MobileNet with alpha=0.75 and its Keras 3 weight file."""
    model = keras.applications.MobileNet(alpha=0.75, weights=None, input_shape=(SIZE, SIZE, 3))
    path = tmp_path_factory.mktemp("weights") / "m.weights.h5"
    model.save_weights(path)
    return model, path


def _images(n=2):
    return tf.random.stateless_uniform((n, SIZE, SIZE, 3), (4, 2), maxval=255)


def _assert_no_values(message: str):
    """A message that names layers and shapes quotes no tensor: no long runs of numbers."""
    assert len(message) < 1500, message
    assert not re.search(r"(-?\d+\.\d+[,\s]+){6,}", message), message
    assert "array(" not in message and "tf.Tensor" not in message


def test_keras3_mobilenet_weights_by_path(mobilenet_075):
    model, path = mobilenet_075
    assert weights_file.identify(path) == ("mobilenet", {"alpha": 0.75}, None)
    spec = models.load(path, input_size=SIZE)
    assert spec.model.name == "mobilenet_0.75_32" and spec.cam_layer == "conv_pw_13_relu"
    assert spec.preprocess == models.Preprocess("tf") and spec.num_classes == 1000
    x = spec.preprocess(_images())
    np.testing.assert_allclose(spec.model(x), model(x), rtol=1e-5, atol=1e-6)


def test_keras3_weights_as_weights_of_the_preset(mobilenet_075):
    model, path = mobilenet_075
    # The options come from the file: alpha=0.75 although "mobilenet" means alpha=1.
    spec = models.load("mobilenet", weights=path, input_size=SIZE)
    x = spec.preprocess(_images())
    np.testing.assert_allclose(spec.model(x), model(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="holds mobilenet weights, not resnet50"):
        models.load("resnet50", weights=path)


def test_weights_that_do_not_fit_say_which_layers_never_values(mobilenet_075):
    _, path = mobilenet_075
    with pytest.raises(ValueError) as caught:
        models.load("mobilenet", weights=path, input_size=SIZE, alpha=1.0)  # the user's word wins
    message = str(caught.value)
    assert "does not fit the model 'mobilenet_1.00_32'" in message
    assert "differ in shape" in message and "conv2d: file (3, 3, 3, 24)" in message
    assert "model (3, 3, 3, 32)" in message
    _assert_no_values(message)


def test_legacy_imagenet_file_is_recognised(imagenet_assets):
    path = imagenet_assets / "mobilenet_2_5_128_tf.h5"
    assert weights_file.identify(path) == ("mobilenet", {"alpha": 0.25}, 128)
    layout, structure = weights_file.read_structure(path)
    assert layout == "legacy" and structure["conv1"] == [(3, 3, 3, 8)]


def test_unrecognised_and_headless_files(tmp_path):
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(inputs))
    keras.Model(inputs, outputs).save_weights(tmp_path / "small.weights.h5")
    with pytest.raises(ValueError, match=r"1 layers with 12 parameters\) and is not a keras"):
        models.load(tmp_path / "small.weights.h5")

    headless = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(SIZE, SIZE, 3), alpha=0.35
    )
    headless.save_weights(tmp_path / "headless.weights.h5")
    with pytest.raises(ValueError, match="include_top=False"):
        models.load(tmp_path / "headless.weights.h5")


def test_mobilenet_v2_width_from_a_keras3_file(tmp_path):
    model = keras.applications.MobileNetV2(alpha=0.35, weights=None, input_shape=(SIZE, SIZE, 3))
    model.save_weights(tmp_path / "v2.weights.h5")
    assert weights_file.identify(tmp_path / "v2.weights.h5") == (
        "mobilenet_v2",
        {"alpha": 0.35},
        None,
    )


def test_cli_model_option_and_weights_file(mobilenet_075, tmp_path, capsys):
    from PIL import Image

    _, path = mobilenet_075
    image = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (40, 40, 3), np.uint8)).save(image)
    out = tmp_path / "out"
    common = ["explain", str(image), "--model", "mobilenet", "--weights", str(path)]
    common += ["--methods", "saliency", "--out", str(out)]
    # The file's alpha is recognised; an explicit option that contradicts it is refused in one
    # line that names layers and shapes, never tensor values.
    assert main([*common, "--model-option", "alpha=0.75"]) == 0
    assert (out / "explain.json").is_file()
    capsys.readouterr()
    assert main([*common, "--model-option", "alpha=0.5"]) == 2
    error = capsys.readouterr().err
    assert "does not fit the model" in error and "differ in shape" in error
    _assert_no_values(error)
    assert main([*common, "--model-option", "alpha"]) == 2
    assert "--model-option: expected NAME=VALUE" in capsys.readouterr().err
