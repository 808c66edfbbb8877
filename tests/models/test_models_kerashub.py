"""KerasHub vision models: tiny randomly initialised classifiers built offline, explained.

Needs the optional ``keras-hub`` package (``pip install 'tfattr[keras-hub]'``); skipped without it.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfattr
from tfattr import models
from tfattr.errors import LayerNotFoundError
from tfattr.models import kerashub

keras_hub = pytest.importorskip(
    "keras_hub", reason="keras-hub is not installed (optional: pip install 'tfattr[keras-hub]')"
)

SIZE = 32
CLASSES = 5


def _vit(**options):
    return keras_hub.models.ViTBackbone(
        image_shape=(SIZE, SIZE, 3),
        patch_size=8,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        mlp_dim=32,
        **options,
    )


def _resnet():
    return keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64, 16],
        stackwise_num_blocks=[1, 1],
        stackwise_num_strides=[1, 2],
        block_type="basic_block",
        image_shape=(SIZE, SIZE, 3),
    )


def _efficientnet():
    return keras_hub.models.EfficientNetBackbone(
        stackwise_width_coefficients=[1.0, 1.0],
        stackwise_depth_coefficients=[1.0, 1.0],
        stackwise_kernel_sizes=[3, 3],
        stackwise_num_repeats=[1, 1],
        stackwise_input_filters=[8, 8],
        stackwise_output_filters=[8, 16],
        stackwise_expansion_ratios=[1, 2],
        stackwise_squeeze_and_excite_ratios=[0.25, 0.25],
        stackwise_strides=[1, 2],
        stackwise_block_types=["v1", "v1"],
        stackwise_force_input_filters=[0, 0],
        stackwise_nores_option=[False, False],
        input_shape=(SIZE, SIZE, 3),
        num_features=32,
    )


CLASSIFIERS = {
    "vit": lambda: keras_hub.models.ViTImageClassifier(backbone=_vit(), num_classes=CLASSES),
    "resnet": lambda: keras_hub.models.ResNetImageClassifier(
        backbone=_resnet(), num_classes=CLASSES
    ),
    "efficientnet": lambda: keras_hub.models.EfficientNetImageClassifier(
        backbone=_efficientnet(), num_classes=CLASSES
    ),
}


def _images(n=2):
    return tf.random.stateless_uniform((n, SIZE, SIZE, 3), (7, 1), minval=-1.0, maxval=1.0)


@pytest.mark.parametrize("kind", list(CLASSIFIERS))
def test_gradient_methods_on_a_tiny_keras_hub_classifier(kind):
    keras.utils.set_random_seed(0)
    classifier = CLASSIFIERS[kind]()
    spec = models.keras_hub_spec(classifier, kind)
    assert spec.input_size == (SIZE, SIZE) and spec.num_classes == CLASSES and not spec.opaque
    x = _images()
    saliency = tfattr.Saliency(classifier).explain(x, target=[1, 3]).numpy()
    assert saliency.shape == x.shape and np.isfinite(saliency).all() and saliency.max() > 0

    # Integrated Gradients is complete: attributions sum to F(x) - F(baseline) (a real
    # gradient through the whole model, not a stand-in).
    attr, delta = tfattr.IntegratedGradients(classifier, steps=64).explain(
        x, target=[1, 3], return_convergence_delta=True
    )
    gap = classifier(x)[:, 1].numpy() - classifier(tf.zeros_like(x))[:, 1].numpy()
    scale = np.abs(tf.reduce_sum(attr, axis=[1, 2, 3]).numpy()).max()
    assert np.isfinite(attr.numpy()).all() and np.abs(gap).max() > 0
    assert np.abs(delta.numpy()).max() <= 0.05 * max(scale, 1e-3)

    if kind == "vit":  # a token model: no feature map, CAM reshapes tokens to the grid
        assert spec.cam_layer is None
        assert kerashub.token_grid(classifier) == kerashub.TokenGrid(4, 4, 1)
        cam = tfattr.GradCAM(classifier).explain(x, target=1)
        assert cam.shape == (2, SIZE, SIZE) and np.isfinite(cam.numpy()).all()
        assert np.abs(cam.numpy()).max() > 0
    else:  # the map that ends the backbone, which the classifier pools
        assert (
            spec.cam_layer
            == {"resnet": "stack1_block0_out", "efficientnet": "top_activation"}[kind]
        )
        cam = tfattr.GradCAM(classifier, layer=spec.cam_layer, relu=False).explain(x, target=1)
        assert cam.shape == (2, SIZE, SIZE) and np.isfinite(cam.numpy()).all()
        assert np.abs(cam.numpy()).max() > 0


def test_token_grid_of_vit_and_deit():
    backbone = _vit()
    grid = kerashub.token_grid(backbone)
    assert grid == kerashub.TokenGrid(rows=4, cols=4, prefix=1) and grid.tokens == 17
    tokens = backbone(_images())
    assert tokens.shape[1] == grid.tokens
    patches = grid.to_grid(tokens)
    assert patches.shape == (2, 4, 4, 16)
    # Row-major: token 1 + r * cols + c is patch (r, c); the class token (0) is dropped.
    np.testing.assert_array_equal(patches[:, 2, 3], tokens[:, 1 + 2 * 4 + 3])
    with pytest.raises(ValueError, match=r"expected shape \(N, 17, D\)"):
        grid.to_grid(tokens[:, 1:])

    assert kerashub.token_grid(_vit(use_class_token=False)) == kerashub.TokenGrid(4, 4, 0)
    deit = keras_hub.models.DeiTBackbone(
        image_shape=(SIZE, SIZE, 3),
        patch_size=8,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
    )
    grid = kerashub.token_grid(deit)
    assert grid == kerashub.TokenGrid(4, 4, 2) and deit(_images()).shape[1] == grid.tokens
    assert kerashub.token_grid(_resnet()) is None  # convolutional: a feature map already
    assert kerashub.token_grid(tf.keras.Sequential()) is None


def test_preset_folder_loads_by_path_with_its_preprocessing(tmp_path):
    converter = keras_hub.layers.ViTImageConverter(
        image_size=(SIZE, SIZE), scale=1 / 127.5, offset=-1.0
    )
    preprocessor = keras_hub.models.ViTImageClassifierPreprocessor(image_converter=converter)
    classifier = keras_hub.models.ViTImageClassifier(
        backbone=_vit(), num_classes=CLASSES, preprocessor=preprocessor
    )
    classifier.save_to_preset(str(tmp_path / "vit"))
    spec = models.load(tmp_path / "vit", class_names=list("abcde"))
    assert spec.cam_layer is None and spec.class_id("c") == 2 and spec.input_size == (SIZE, SIZE)
    assert spec.value_range == pytest.approx((-1.0, 1.0))
    images = np.random.default_rng(0).integers(0, 256, (2, SIZE, SIZE, 3)).astype(np.uint8)
    x = spec.preprocess(images)
    np.testing.assert_allclose(spec.model(x), classifier(x), rtol=1e-5, atol=1e-6)
    attr = tfattr.Saliency(spec.model).explain(x, target=2)
    assert attr.shape == x.shape and float(tf.reduce_max(attr)) > 0


def _encoder_by_hand(encoder, tokens, watch):
    """KerasHub's ViT encoder written out; ``watch`` sees the last block's first layer norm."""
    x = tokens
    for index, block in enumerate(encoder.encoder_layers):
        normed = block.layer_norm_1(x)
        if index == len(encoder.encoder_layers) - 1:
            normed = watch(normed)
        x = x + block.mha(normed, normed)
        x = x + block.mlp(block.layer_norm_2(x))
    return encoder.layer_norm(x)


def _hand_gradcam(classifier, x, targets, prefix):
    backbone = classifier.backbone
    embed = backbone.get_layer("vit_patching_and_embedding")
    encoder = backbone.get_layer("vit_encoder")
    seen = {}

    def watch(t):
        tape.watch(t)
        seen["norm"] = t
        return t

    with tf.GradientTape() as tape:
        encoded = _encoder_by_hand(encoder, embed(x), watch)
        pooled = encoded[:, 0] if prefix else tf.reduce_mean(encoded, axis=1)
        scores = classifier.get_layer("predictions")(pooled)
        picked = tf.gather(scores, targets, axis=1, batch_dims=1)
    np.testing.assert_allclose(scores, classifier(x), rtol=1e-4, atol=1e-5)
    grads = tape.gradient(picked, seen["norm"])
    a = tf.reshape(seen["norm"][:, prefix:], (-1, 4, 4, 16))
    g = tf.reshape(grads[:, prefix:], (-1, 4, 4, 16))
    return tf.nn.relu(tf.einsum("bhwk,bk->bhw", a, tf.reduce_mean(g, axis=(1, 2)))).numpy()


def test_gradcam_on_a_keras_hub_vit_equals_the_hand_computation():
    # The default layer is the field's (pytorch-grad-cam's blocks[-1].norm1): the last
    # encoder block's first layer norm, inside KerasHub's one-layer encoder.
    keras.utils.set_random_seed(0)
    classifier = CLASSIFIERS["vit"]()
    encoder = classifier.backbone.get_layer("vit_encoder")
    x, targets = _images(3), tf.constant([0, 2, 4])
    expected = _hand_gradcam(classifier, x, targets, prefix=1)
    assert expected.max() > 0

    explainer = tfattr.GradCAM(classifier, upsample=False)
    layer = explainer.layer(x, explainer.options)
    assert layer.layer is encoder.encoder_layers[-1].layer_norm_1
    assert layer.grid == kerashub.TokenGrid(4, 4, 1)
    cam = explainer.explain(x, target=targets)
    np.testing.assert_allclose(cam.numpy(), expected, rtol=1e-4, atol=1e-6)
    # The same layer given as an object; the model is left as it was (no instance call).
    norm = encoder.encoder_layers[-1].layer_norm_1
    again = tfattr.GradCAM(classifier, layer=norm, upsample=False).explain(x, target=targets)
    np.testing.assert_allclose(again.numpy(), expected, rtol=1e-4, atol=1e-6)
    assert "call" not in vars(norm)
    # Activations' default is the same layer, its tokens as they are.
    (tokens,) = tfattr.Activations(classifier).explain(x).values()
    assert tokens.shape == (3, 17, 16)
    # The encoder's output: its patch tokens never reach a class-token head (all zero).
    on_encoder = tfattr.GradCAM(classifier, layer="vit_encoder").explain(x, target=targets)
    assert float(tf.reduce_max(tf.abs(on_encoder))) == 0
    # Without a class token (mean-pooled) the whole grid is the map.
    pooled = keras_hub.models.ViTImageClassifier(
        backbone=_vit(use_class_token=False), num_classes=CLASSES, pooling="gap"
    )
    expected = _hand_gradcam(pooled, x, targets, prefix=0)
    cam = tfattr.GradCAM(pooled, upsample=False).explain(x, target=targets)
    np.testing.assert_allclose(cam.numpy(), expected, rtol=1e-4, atol=1e-6)


def test_a_layer_object_outside_the_model_is_refused():
    keras.utils.set_random_seed(0)
    classifier = CLASSIFIERS["vit"]()
    stranger = keras.layers.LayerNormalization()
    with pytest.raises(LayerNotFoundError, match="not a layer of this model"):
        tfattr.GradCAM(classifier, layer=stranger).explain(_images(1), target=0)


@pytest.mark.parametrize("name", ["gradcam_plus_plus", "scorecam", "eigencam", "ablationcam"])
def test_cam_methods_on_a_keras_hub_vit(name):
    keras.utils.set_random_seed(0)
    classifier = CLASSIFIERS["vit"]()
    entry = tfattr.registry.resolve(name)
    cam = entry.cls(classifier, **entry.default_options((SIZE, SIZE))).explain(_images(), target=1)
    assert cam.shape == (2, SIZE, SIZE) and np.isfinite(cam.numpy()).all()
    assert float(tf.reduce_max(cam)) > 0


def test_gradcam_on_a_keras_hub_deit_drops_its_two_leading_tokens():
    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.DeiTBackbone(
        image_shape=(SIZE, SIZE, 3),
        patch_size=8,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
    )
    classifier = keras_hub.models.DeiTImageClassifier(backbone=backbone, num_classes=CLASSES)
    explainer = tfattr.GradCAM(classifier, upsample=False)
    x = _images()
    layer = explainer.layer(x, explainer.options)
    encoder = backbone.get_layer("deit_encoder")
    assert layer.layer is encoder.encoder_layers[-1].layer_norm_1
    assert layer.grid == kerashub.TokenGrid(4, 4, 2)
    cam = explainer.explain(x, target=1)
    assert cam.shape == (2, 4, 4) and float(tf.reduce_max(cam)) > 0
