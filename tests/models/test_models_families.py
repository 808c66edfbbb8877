"""Every keras.applications family through tfattr.models.load, randomly initialised (offline).

One smallest variant per family is built at a small size and explained by Saliency and Grad-CAM
on its default CAM layer; every name is checked to resolve without building.
"""

import importlib
import inspect

import keras
import numpy as np
import pytest

import tfattr
from tfattr import models
from tfattr.models import weights_file

CLASSES = 10  # a small classifier keeps VGG's dense layers cheap; the backbone is unchanged


def _producer_name(model, tensor):
    """The name of the layer of `model` whose output is `tensor`."""
    return next(layer.name for layer in model.layers if layer.output is tensor)


def _inputs_of(model, name):
    inputs = model.get_layer(name).input
    return [_producer_name(model, t) for t in (inputs if isinstance(inputs, list) else [inputs])]


# (family, its smallest preset, input size, keras module with preprocess_input, check of the
# default CAM layer: its name, or a function of the model and the chosen name)
FAMILY_CASES = [
    ("vgg16", "vgg16", 32, "vgg16", "block5_conv3"),
    ("vgg19", "vgg19", 32, "vgg19", "block5_conv4"),
    ("resnet", "resnet50", 32, "resnet", "conv5_block3_out"),
    ("resnet_v2", "resnet50_v2", 32, "resnet_v2", "post_relu"),
    ("inception_v3", "inception_v3", 75, "inception_v3", "mixed10"),
    pytest.param(
        *("inception_resnet_v2", "inception_resnet_v2", 75, "inception_resnet_v2", "conv_7b_ac"),
        marks=pytest.mark.slow,  # 780 layers: the slowest to build with NASNet
    ),
    ("xception", "xception", 71, "xception", "block14_sepconv2_act"),
    ("mobilenet", "mobilenet", 32, "mobilenet", "conv_pw_13_relu"),
    ("mobilenet_v2", "mobilenet_v2", 32, "mobilenet_v2", "out_relu"),
    # The hard-swish after the last 1x1 convolution (an unnamed Activation layer).
    ("mobilenet_v3", "mobilenet_v3_small", 32, "mobilenet_v3", ["conv_1_bn"]),
    ("densenet", "densenet121", 32, "densenet", "relu"),
    # The ReLU after the last cell's concatenation (unnamed).
    pytest.param(
        *("nasnet", "nasnet_mobile", 32, "nasnet", ["normal_concat_12"]), marks=pytest.mark.slow
    ),
    ("efficientnet", "efficientnet_b0", 32, "efficientnet", "top_activation"),
    ("efficientnet_v2", "efficientnet_v2_b0", 32, "efficientnet_v2", "top_activation"),
    # The last block's residual branch: the residual sum after it is an operation, not a layer.
    ("convnext", "convnext_tiny", 32, "convnext", "convnext_tiny_stage_3_block_2_identity"),
]


def test_every_family_has_a_case_and_every_preset_a_family():
    cases = [getattr(c, "values", c) for c in FAMILY_CASES]
    assert [c[0] for c in cases] == list(models.FAMILIES)
    assert [c[1] for c in cases] == [v[0] for v in models.FAMILIES.values()]
    assert {k for v in models.FAMILIES.values() for k in v} == set(models.KERAS_PRESETS)


@pytest.mark.parametrize(
    ("family", "name", "size", "module", "cam"),
    FAMILY_CASES,
    ids=[getattr(c, "values", c)[0] for c in FAMILY_CASES],
)
def test_family_builds_explains_and_is_recognised(family, name, size, module, cam, tmp_path):
    spec = models.load(name, weights=None, input_size=size, classes=CLASSES)
    assert spec.input_size == (size, size) and spec.num_classes == CLASSES and not spec.opaque

    # Preprocessing equals the family's own preprocess_input (a pass-through where the model
    # holds its own Rescaling/Normalization layers).
    images = np.random.default_rng(0).integers(0, 256, (1, size, size, 3)).astype(np.uint8)
    preprocess_input = importlib.import_module(f"keras.applications.{module}").preprocess_input
    np.testing.assert_allclose(
        spec.preprocess(images), preprocess_input(images.astype(np.float32)), atol=1e-4
    )

    # The default CAM layer is the intended one: the last feature map, before global pooling.
    model = spec.model
    layer = model.get_layer(spec.cam_layer)
    assert len(layer.output.shape) == 4
    if isinstance(cam, str):
        assert spec.cam_layer == cam
    else:
        assert _inputs_of(model, spec.cam_layer) == cam

    x = spec.preprocess(images)
    saliency = tfattr.Saliency(model).explain(x, target=3).numpy()
    assert saliency.shape == (1, size, size, 3) and np.isfinite(saliency).all()
    assert saliency.max() > 0
    cam_map = tfattr.GradCAM(model, layer=spec.cam_layer, relu=False).explain(x, target=3).numpy()
    assert cam_map.shape == (1, size, size) and np.isfinite(cam_map).all()
    assert np.abs(cam_map).max() > 0

    # A Keras 3 weight file of the model is recognised: family, variant and classes.
    path = tmp_path / "model.weights.h5"
    model.save_weights(path)
    found, options, _ = weights_file.identify(path)
    assert (found, options) == (name, {"classes": CLASSES})


def test_every_name_resolves_without_building():
    for key, preset in models.KERAS_PRESETS.items():
        assert models.preset_name(key) == key
        assert models.preset_name(preset.constructor) == key  # "EfficientNetV2B0"
        assert models.preset_name(preset.constructor.lower()) == key
        constructor = getattr(keras.applications, preset.constructor)
        default_name = inspect.signature(constructor).parameters["name"].default
        if isinstance(default_name, str):  # MobileNet v1/v2 name themselves from alpha and size
            assert default_name == preset.model_name, key
        assert preset.preprocess in models.preprocessing.MODES
    assert models.preset_name("efficientnetv2-b0") == "efficientnet_v2_b0"
    assert models.preset_name("ResNet50V2") == "resnet50_v2"
    assert models.preset_name("inception_v1") is None  # a TF-Hub preset, not keras.applications
    assert models.preset_name("vgg17") is None


def test_list_models_names_every_family_and_size():
    listed = models.list_models()
    assert [m["name"] for m in listed] == list(models.PRESETS)
    assert {m["family"] for m in listed} >= set(models.FAMILIES)
    sizes = {m["name"]: m["input_size"] for m in listed}
    assert sizes["efficientnet_b7"] == 600 and sizes["nasnet_large"] == 331
    assert sizes["efficientnet_v2_s"] == 384 and sizes["inception_resnet_v2"] == 299
    assert len(models.KERAS_PRESETS) == 40  # every constructor keras.applications has here
    constructors = {n for n in dir(keras.applications) if n[0].isupper()}
    assert {p.constructor for p in models.KERAS_PRESETS.values()} == constructors


def test_models_with_their_own_preprocessing_switched_off():
    # include_preprocessing=False: the scaling each family's documentation asks for instead.
    spec = models.load(
        "efficientnet_v2_b0", weights=None, input_size=32, include_preprocessing=False
    )
    assert spec.preprocess == models.Preprocess("tf") and spec.value_range == (-1.0, 1.0)
    spec = models.load("EfficientNetV2B0", weights=None, input_size=32)
    assert spec.preprocess == models.Preprocess("none") and spec.value_range == (0.0, 255.0)
