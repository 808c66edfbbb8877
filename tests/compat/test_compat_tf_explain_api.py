"""tf-explain 0.3.1's public API, as its own test suite checks it, on the drop-in.

Each test restates in its own words a public-behaviour test of sicara/tf-explain 0.3.1 (its
``tests/`` folder): names, signatures, return types and shapes, written files, and callbacks
writing one TensorBoard folder with the explainer called as tf-explain calls it. Tests of
tf-explain that patch its internals (OpenCV calls, ``model.predict``) are not restated.
"""

import inspect
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfattr.compat import tf_explain as tx
from tfattr.compat.tf_explain.callbacks import _base
from tfattr.compat.tf_explain.core.activations import ExtractActivations
from tfattr.compat.tf_explain.core.grad_cam import GradCAM
from tfattr.compat.tf_explain.core.gradients_inputs import GradientsInputs
from tfattr.compat.tf_explain.core.integrated_gradients import IntegratedGradients
from tfattr.compat.tf_explain.core.occlusion_sensitivity import OcclusionSensitivity
from tfattr.compat.tf_explain.core.smoothgrad import SmoothGrad
from tfattr.compat.tf_explain.core.vanilla_gradients import (
    ACTIVATION_LAYER_CLASSES,
    UNSUPPORTED_ARCHITECTURE_WARNING,
    VanillaGradients,
)
from tfattr.compat.tf_explain.utils.display import (
    filter_display,
    grid_display,
    heatmap_display,
    image_to_uint_255,
)
from tfattr.compat.tf_explain.utils.image import (
    apply_grey_patch,
    transform_to_normalized_grayscale,
)
from tfattr.compat.tf_explain.utils.saver import save_grayscale, save_rgb

SIDE = 28


@pytest.fixture(scope="module")
def random_data():
    rng = np.random.default_rng(0)
    x = rng.random((4, SIDE, SIDE, 3))
    y = keras.utils.to_categorical(rng.integers(2, size=4), num_classes=2).astype("uint8")
    return x, y


def conv_model(head):
    """conv_1 (16 filters) -> activation_1 (ReLU layer) -> flatten -> ``head`` layers."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((SIDE, SIDE, 3)),
            keras.layers.Conv2D(16, 3, name="conv_1"),
            keras.layers.ReLU(name="activation_1"),
            keras.layers.Flatten(),
            *head,
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model


@pytest.fixture
def softmax_dense_model():
    return conv_model([keras.layers.Dense(2, activation="softmax")])


@pytest.fixture
def separate_softmax_model():
    return conv_model([keras.layers.Dense(2, name="scores"), keras.layers.Softmax()])


@pytest.fixture
def logits_model():
    return conv_model([keras.layers.Dense(2)])


# ------------------------------------------------------------------------------------------
# Public names and signatures


SIGNATURES = {
    tx.core.GradCAM.explain: [
        "self",
        "validation_data",
        "model",
        "class_index",
        "layer_name",
        "use_guided_grads",
        "colormap",
        "image_weight",
    ],
    tx.core.VanillaGradients.explain: ["self", "validation_data", "model", "class_index"],
    tx.core.IntegratedGradients.explain: [
        "self",
        "validation_data",
        "model",
        "class_index",
        "n_steps",
    ],
    tx.core.OcclusionSensitivity.explain: [
        "self",
        "validation_data",
        "model",
        "class_index",
        "patch_size",
        "colormap",
    ],
    tx.core.SmoothGrad.explain: [
        "self",
        "validation_data",
        "model",
        "class_index",
        "num_samples",
        "noise",
    ],
    tx.core.ExtractActivations.explain: ["self", "validation_data", "model", "layers_name"],
    tx.callbacks.GradCAMCallback.__init__: [
        "self",
        "validation_data",
        "class_index",
        "layer_name",
        "output_dir",
        "use_guided_grads",
    ],
    tx.callbacks.SmoothGradCallback.__init__: [
        "self",
        "validation_data",
        "class_index",
        "num_samples",
        "noise",
        "output_dir",
    ],
    tx.callbacks.IntegratedGradientsCallback.__init__: [
        "self",
        "validation_data",
        "class_index",
        "n_steps",
        "output_dir",
    ],
    tx.callbacks.OcclusionSensitivityCallback.__init__: [
        "self",
        "validation_data",
        "class_index",
        "patch_size",
        "output_dir",
    ],
    tx.callbacks.VanillaGradientsCallback.__init__: [
        "self",
        "validation_data",
        "class_index",
        "output_dir",
    ],
    tx.callbacks.ActivationsVisualizationCallback.__init__: [
        "self",
        "validation_data",
        "layers_name",
        "output_dir",
    ],
    apply_grey_patch: ["image", "top_left_x", "top_left_y", "patch_size"],
    grid_display: ["array", "num_rows", "num_columns"],
    filter_display: ["array", "num_rows", "num_columns"],
    heatmap_display: ["heatmap", "original_image", "colormap", "image_weight"],
    save_rgb: ["image", "output_dir", "output_name"],
    save_grayscale: ["image", "output_dir", "output_name"],
    GradCAM.get_gradients_and_filters: [
        "model",
        "images",
        "layer_name",
        "class_index",
        "use_guided_grads",
    ],
    GradCAM.generate_ponderated_output: ["outputs", "grads"],
    GradCAM.ponderate_output: ["output", "grad"],
    GradCAM.infer_grad_cam_target_layer: ["model"],
    IntegratedGradients.get_integrated_gradients: [
        "interpolated_images",
        "model",
        "class_index",
        "n_steps",
    ],
    IntegratedGradients.generate_interpolations: ["images", "n_steps"],
    IntegratedGradients.generate_linear_path: ["baseline", "target", "n_steps"],
    SmoothGrad.generate_noisy_images: ["images", "num_samples", "noise"],
    SmoothGrad.get_averaged_gradients: ["noisy_images", "model", "class_index", "num_samples"],
    ExtractActivations.generate_activations_graph: ["model", "layers_name"],
    OcclusionSensitivity.get_sensitivity_map: [
        "self",
        "model",
        "image",
        "class_index",
        "patch_size",
    ],
}


@pytest.mark.parametrize("function", list(SIGNATURES), ids=lambda f: f.__qualname__)
def test_signatures_match_tf_explain(function):
    positional = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    assert positional == SIGNATURES[function]


def test_every_public_name_exists():
    for module, names in {
        tx: ["core", "callbacks", "utils"],
        tx.core: tx.core.__all__,
        tx.callbacks: tx.callbacks.__all__,
    }.items():
        for name in names:
            assert hasattr(module, name), name
    assert set(tx.callbacks.__all__) == {
        "ActivationsVisualizationCallback",
        "GradCAMCallback",
        "IntegratedGradientsCallback",
        "OcclusionSensitivityCallback",
        "SmoothGradCallback",
        "VanillaGradientsCallback",
        "GradientsInputsCallback",
    }
    assert "Softmax" in ACTIVATION_LAYER_CLASSES and "ReLU" in ACTIVATION_LAYER_CLASSES
    assert OcclusionSensitivity(batch_size=2).batch_size == 2
    assert ExtractActivations(batch_size=3).batch_size == 3


# ------------------------------------------------------------------------------------------
# utils


def test_grey_patch_covers_the_square_only():
    out = apply_grey_patch(np.zeros((10, 20, 3)), 0, 0, 10)
    expected = np.concatenate([np.full((10, 10, 3), 127.5), np.zeros((10, 10, 3))], axis=1)
    np.testing.assert_array_equal(out, expected)
    shifted = apply_grey_patch(np.zeros((10, 20, 3)), 15, 5, 10)  # x is the column
    assert shifted[5:, 15:].min() == 127.5 and shifted[:5].max() == 0 and shifted[:, :15].max() == 0
    original = np.ones((4, 4, 3))
    apply_grey_patch(original, 0, 0, 2)
    assert original.max() == 1  # a copy


def test_grayscale_transform_is_uint8_without_channel_axis():
    out = transform_to_normalized_grayscale(tf.random.uniform((4, SIDE, SIDE, 3)))
    assert isinstance(out, tf.Tensor) and out.dtype == tf.uint8
    assert out.shape == (4, SIDE, SIDE)


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        ({}, (SIDE * 3, SIDE * 3, 3)),
        ({"num_columns": 10, "num_rows": 10}, (SIDE * 10, SIDE * 10, 3)),
        ({"num_columns": 7}, (SIDE, SIDE * 7, 3)),
        ({"num_rows": 7}, (SIDE * 7, SIDE, 3)),
    ],
)
def test_grid_shapes(kwargs, shape):
    assert grid_display(np.random.random((7, SIDE, SIDE, 3)), **kwargs).shape == shape


def test_grid_too_small_warns_and_keeps_the_columns():
    array = np.random.random((7, SIDE, SIDE, 3))
    with pytest.warns(Warning, match="Values have been overrided to respect at least num_columns"):
        grid = grid_display(array, num_rows=1, num_columns=1)
    assert grid.shape == (SIDE * 7, SIDE, 3)


def test_grid_fills_missing_cells_with_zeros():
    grid = grid_display(np.random.random((7, SIDE, SIDE, 3)) + 1)
    np.testing.assert_array_equal(grid[2 * SIDE :, SIDE:], 0)
    assert grid[2 * SIDE :, :SIDE].min() >= 1


@pytest.mark.parametrize(
    "image, expected",
    [
        (np.ones((SIDE, SIDE)) / 255.0, np.ones((SIDE, SIDE), "uint8")),
        (-np.ones((SIDE, SIDE)) / 255.0, np.full((SIDE, SIDE), 127, "uint8")),
        (np.full((SIDE, SIDE), 10, "uint8"), np.full((SIDE, SIDE), 10, "uint8")),
    ],
)
def test_image_to_uint_255(image, expected):
    out = image_to_uint_255(image)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)


def test_heatmap_display_is_an_rgb_uint8_overlay_of_the_image_size():
    out = heatmap_display(np.random.random((3, 3)), np.zeros((10, 12, 3)))
    assert out.shape == (10, 12, 3) and out.dtype == np.uint8


@pytest.mark.parametrize(
    "save, shape", [(save_grayscale, (SIDE, SIDE, 1)), (save_rgb, (SIDE, SIDE, 3))]
)
def test_savers_write_one_file(tmp_path, save, shape):
    save(np.ones(shape, "uint8"), tmp_path / "out", "image.png")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["image.png"]


# ------------------------------------------------------------------------------------------
# core


def test_activations_graph_is_a_keras_model_ending_at_the_layer(softmax_dense_model):
    graph = ExtractActivations.generate_activations_graph(softmax_dense_model, ["activation_1"])
    assert isinstance(graph, keras.Model)
    assert graph.layers[-1].name == "activation_1"
    assert graph.predict(np.zeros((1, SIDE, SIDE, 3)), verbose=0).shape == (1, 26, 26, 16)


def test_activations_grid_spans_0_to_255(random_data, softmax_dense_model):
    grid = ExtractActivations().explain(random_data, softmax_dense_model, ["activation_1"])
    assert grid.dtype == np.uint8 and grid.min() == 0 and grid.max() == 255
    assert grid.shape == (26 * 8, 26 * 8)  # 4 images x 16 channels: an 8 x 8 grid


def test_activations_save(tmp_path):
    ExtractActivations().save(np.random.random((208, 208)), tmp_path, "output.png")
    assert len(list(tmp_path.glob("output.png"))) == 1


def test_ponderate_output_is_the_weighted_channel_sum():
    grad = np.concatenate([np.full((3, 3, 1), v) for v in (1.0, 2.0, 3.0)], axis=-1)
    output = np.concatenate([np.full((3, 3, 1), v) for v in (1.0, 2.0, 4.0)], axis=-1)
    np.testing.assert_allclose(GradCAM.ponderate_output(output, grad), np.full((3, 3), 17.0))
    maps = GradCAM.generate_ponderated_output([output, 2 * output], [grad, grad])
    assert isinstance(maps, list) and len(maps) == 2
    np.testing.assert_allclose(maps[1], np.full((3, 3), 34.0))


def test_gradients_and_filters_have_the_layer_shape(random_data, softmax_dense_model):
    images, _ = random_data
    for guided in (True, False):
        output, grads = GradCAM.get_gradients_and_filters(
            softmax_dense_model, images, "activation_1", 0, guided
        )
        assert output.shape == (4, 26, 26, 16) and grads.shape == output.shape
    assert float(tf.reduce_min(grads)) < 0 < float(tf.reduce_max(grads))  # raw: both signs
    output, guided = GradCAM.get_gradients_and_filters(
        softmax_dense_model, images, "activation_1", 0, True
    )
    assert float(tf.reduce_min(guided)) >= 0  # guided: positive gradients only
    assert np.all(guided.numpy()[output.numpy() <= 0] == 0)


@pytest.mark.parametrize(
    "layers, expected",
    [
        (
            [
                keras.layers.Conv2D(3, 3, name="conv_1"),
                keras.layers.MaxPooling2D(name="maxpool_1"),
                keras.layers.Conv2D(3, 3, name="conv_2"),
                keras.layers.Flatten(name="flatten"),
                keras.layers.Dense(1, name="dense"),
            ],
            "conv_2",
        ),
        (
            [
                keras.layers.Conv2D(3, 3, name="conv_1"),
                keras.layers.MaxPooling2D(name="maxpool_1"),
                keras.layers.Conv2D(3, 3, name="conv_2"),
                keras.layers.MaxPooling2D(name="maxpool_2"),
                keras.layers.Flatten(name="flatten"),
                keras.layers.Dense(1, name="dense"),
            ],
            "maxpool_2",
        ),
    ],
)
def test_grad_cam_target_layer_is_the_last_4d_one(layers, expected):
    model = keras.Sequential([keras.Input((SIDE, SIDE, 1)), *layers])
    assert GradCAM.infer_grad_cam_target_layer(model) == expected


def test_grad_cam_without_4d_layer_raises():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="Model does not seem to contain 4D layer"):
        GradCAM.infer_grad_cam_target_layer(model)


def test_grad_cam_grid_is_uint8_rgb(random_data, softmax_dense_model):
    grid = GradCAM().explain(random_data, softmax_dense_model, 0, "activation_1")
    assert grid.dtype == np.uint8 and grid.shape == (2 * SIDE, 2 * SIDE, 3)


def test_linear_path_and_interpolations():
    path = IntegratedGradients.generate_linear_path(np.zeros((2, 2)), np.ones((2, 2)), 3)
    assert isinstance(path, list)
    np.testing.assert_allclose(np.array(path)[:, 0, 0], [0.0, 0.5, 1.0])
    images = np.stack([np.ones((2, 2, 1)), 2 * np.ones((2, 2, 1))])
    rows = IntegratedGradients.generate_interpolations(images, 3)
    assert rows.shape == (6, 2, 2, 1)
    np.testing.assert_allclose(rows[:, 0, 0, 0], [0, 0.5, 1, 0, 1, 2])


def test_integrated_gradients_mean_gradient_per_image(random_data, logits_model):
    images, _ = random_data
    rows = IntegratedGradients.generate_interpolations(images, 3)
    mean = IntegratedGradients.get_integrated_gradients(rows, logits_model, 0, 3)
    assert isinstance(mean, tf.Tensor) and mean.shape == images.shape
    each = VanillaGradients.compute_gradients(rows, logits_model, 0).numpy()
    np.testing.assert_allclose(mean, each.reshape(4, 3, *images.shape[1:]).mean(1), atol=1e-6)
    grid = IntegratedGradients().explain(random_data, logits_model, 0, n_steps=3)
    assert grid.dtype == np.uint8 and grid.shape == (2 * SIDE, 2 * SIDE)


def test_occlusion_sensitivity_map_and_grid(random_data, softmax_dense_model):
    images, _ = random_data
    sensitivity = OcclusionSensitivity().get_sensitivity_map(softmax_dense_model, images[0], 0, 4)
    assert sensitivity.shape == (SIDE, SIDE)
    grid = OcclusionSensitivity().explain(random_data, softmax_dense_model, 0, 10)
    assert grid.dtype == np.uint8 and grid.shape == (2 * SIDE, 2 * SIDE, 3)


def test_noisy_images_repeat_each_image_and_add_the_noise(monkeypatch):
    monkeypatch.setattr(np.random, "normal", lambda loc, scale, size: np.ones(size))
    out = SmoothGrad.generate_noisy_images(np.ones((10, SIDE, SIDE, 1)), num_samples=3, noise=1)
    np.testing.assert_array_equal(out, np.full((30, SIDE, SIDE, 1), 2.0))


def test_averaged_gradients_have_one_map_per_image(random_data, softmax_dense_model):
    images, _ = random_data
    out = SmoothGrad.get_averaged_gradients(images, softmax_dense_model, 0, num_samples=2)
    assert out.shape == (2, *images.shape[1:])


def test_smoothgrad_grid_is_grayscale(random_data, softmax_dense_model):
    grid = SmoothGrad().explain(random_data, softmax_dense_model, 0)
    assert grid.dtype == np.uint8 and grid.shape == (2 * SIDE, 2 * SIDE)


def test_score_model_is_a_keras_model_without_the_softmax(separate_softmax_model, random_data):
    score_model = VanillaGradients().get_score_model(separate_softmax_model)
    assert isinstance(score_model, keras.Model)
    assert score_model.layers[-1] is separate_softmax_model.layers[-2]
    assert separate_softmax_model.layers[-1] not in score_model.layers
    images, _ = random_data
    logits = score_model.predict(images, verbose=0)
    probabilities = separate_softmax_model.predict(images, verbose=0)
    np.testing.assert_allclose(tf.nn.softmax(logits).numpy(), probabilities, atol=1e-6)


def test_score_model_warns_when_the_last_layer_is_not_an_activation(softmax_dense_model):
    with pytest.warns(UserWarning, match=UNSUPPORTED_ARCHITECTURE_WARNING):
        assert VanillaGradients().get_score_model(softmax_dense_model) is softmax_dense_model


@pytest.mark.parametrize("explainer", [VanillaGradients, GradientsInputs])
def test_gradient_grids(explainer, random_data, separate_softmax_model, logits_model):
    images, _ = random_data
    grid = explainer().explain(random_data, separate_softmax_model, 0)
    assert grid.dtype == np.uint8 and grid.shape == (2 * SIDE, 2 * SIDE)
    gradients = explainer.compute_gradients(images, logits_model, 0)
    assert gradients.shape == images.shape


# ------------------------------------------------------------------------------------------
# callbacks


class FakeExplainer:
    """Records the calls tf-explain's callbacks make and returns a fixed float grid."""

    def __init__(self, grid):
        self.grid, self.calls = grid, []

    def explain(self, *args, **kwargs):
        self.calls.append((args, kwargs))
        return self.grid


CALLBACKS = {
    "grad_cam": (
        "GradCAM",
        np.zeros((SIDE, SIDE, 3)),
        lambda data, out: tx.callbacks.GradCAMCallback(
            validation_data=data,
            class_index=0,
            layer_name="activation_1",
            output_dir=out,
            use_guided_grads=True,
        ),
        lambda data, model: (
            (data, model),
            {"class_index": 0, "layer_name": "activation_1", "use_guided_grads": True},
        ),
    ),
    "activations_visualization": (
        "ExtractActivations",
        np.zeros((SIDE, SIDE)),
        lambda data, out: tx.callbacks.ActivationsVisualizationCallback(
            validation_data=data, layers_name=["activation_1"], output_dir=out
        ),
        lambda data, model: ((data, model, ["activation_1"]), {}),
    ),
    "integrated_gradients": (
        "IntegratedGradients",
        np.zeros((SIDE, SIDE)),
        lambda data, out: tx.callbacks.IntegratedGradientsCallback(
            validation_data=data, class_index=0, output_dir=out, n_steps=3
        ),
        lambda data, model: ((data, model, 0, 3), {}),
    ),
    "occlusion_sensitivity": (
        "OcclusionSensitivity",
        np.zeros((SIDE, SIDE, 3)),
        lambda data, out: tx.callbacks.OcclusionSensitivityCallback(
            validation_data=data, class_index=0, patch_size=10, output_dir=out
        ),
        lambda data, model: ((data, model, 0, 10), {}),
    ),
    "smoothgrad": (
        "SmoothGrad",
        np.zeros((SIDE, SIDE)),
        lambda data, out: tx.callbacks.SmoothGradCallback(
            validation_data=data, class_index=0, output_dir=out, num_samples=3, noise=1.2
        ),
        lambda data, model: ((data, model, 0, 3, 1.2), {}),
    ),
}


@pytest.mark.parametrize("name", sorted(CALLBACKS))
def test_callbacks_call_the_explainer_as_tf_explain_and_write_one_folder(
    name, random_data, softmax_dense_model, tmp_path, monkeypatch
):
    cls_name, grid, build, expected = CALLBACKS[name]
    fake = FakeExplainer(grid)
    module = __import__(f"tfattr.compat.tf_explain.callbacks.{name}", fromlist=[cls_name])
    monkeypatch.setattr(module, cls_name, lambda *a, **k: fake)
    images, labels = random_data
    callback = build(random_data, tmp_path)
    softmax_dense_model.fit(images, labels, batch_size=2, epochs=1, callbacks=[callback], verbose=0)
    args, kwargs = expected(random_data, softmax_dense_model)
    assert len(fake.calls) == 1
    called_args, called_kwargs = fake.calls[0]
    assert called_args[0] is random_data and called_args[1] is softmax_dense_model
    assert called_args[2:] == args[2:] and called_kwargs == kwargs
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize("epochs", [1, 2])
def test_vanilla_gradients_callback_builds_the_score_model_once(
    epochs, random_data, separate_softmax_model, tmp_path
):
    callback = tx.callbacks.VanillaGradientsCallback(
        random_data, class_index=0, output_dir=tmp_path
    )
    calls = {"score": 0, "explain": []}
    real = callback.explainer

    class Counting:
        def get_score_model(self, model):
            calls["score"] += 1
            return real.get_score_model(model)

        def explain_score_model(self, data, score_model, class_index):
            calls["explain"].append((data, score_model, class_index))
            return np.zeros((SIDE, SIDE))

    callback.explainer = Counting()
    images, labels = random_data
    separate_softmax_model.fit(
        images, labels, batch_size=2, epochs=epochs, callbacks=[callback], verbose=0
    )
    assert calls["score"] == 1 and len(calls["explain"]) == epochs
    data, score_model, class_index = calls["explain"][0]
    assert data is random_data and class_index == 0 and isinstance(score_model, keras.Model)
    assert len(list(tmp_path.iterdir())) == 1


def _logged_images(folder: pathlib.Path):
    images = []
    for event_file in folder.rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                png = tf.make_ndarray(value.tensor)[2] if value.HasField("tensor") else None
                if png is None and value.HasField("image"):
                    png = value.image.encoded_image_string
                if png is not None:
                    images.append(tf.io.decode_png(png).numpy())
    return images


@pytest.mark.parametrize("dtype", ["float64", "float32", "uint8"])
def test_callback_grids_are_logged_as_tf_summary_image_converts_them(dtype, tmp_path):
    grid = np.linspace(0, 1, SIDE * SIDE).reshape(SIDE, SIDE)
    grid = (grid * 255).astype(dtype) if dtype == "uint8" else grid.astype(dtype)
    expected = tf.image.convert_image_dtype(tf.constant(grid)[..., None], tf.uint8, saturate=True)
    np.testing.assert_array_equal(_base.as_uint8(grid), expected.numpy()[..., 0])

    class Fixed(_base.ExplainerCallback):
        tag = "Fixed"

        def grid(self):
            return grid

    callback = Fixed(tmp_path)
    callback.on_epoch_end(0)
    (logged,) = _logged_images(tmp_path)
    np.testing.assert_array_equal(logged, expected.numpy())


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_callbacks_during_training_on_both_keras_apis(kind, tmp_path):
    """tf-explain's integration test, on random digits-like data instead of MNIST."""
    rng = np.random.default_rng(1)
    x = rng.random((24, SIDE, SIDE, 1)).astype("f4")
    y = keras.utils.to_categorical(rng.integers(3, size=24), 3)
    layers = [
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.MaxPool2D(2),
        keras.layers.Conv2D(4, 3, activation="relu", name="grad_cam_target"),
        keras.layers.MaxPool2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax"),
    ]
    if kind == "sequential":
        model = keras.Sequential([keras.Input((SIDE, SIDE, 1)), *layers])
    else:
        inputs = keras.Input((SIDE, SIDE, 1))
        h = inputs
        for layer in layers:
            h = layer(h)
        model = keras.Model(inputs, h)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    validation = (x[:4], None)
    callbacks = [
        tx.callbacks.GradCAMCallback(
            validation, layer_name="grad_cam_target", class_index=1, output_dir=tmp_path
        ),
        tx.callbacks.ActivationsVisualizationCallback(
            validation, "grad_cam_target", output_dir=tmp_path
        ),
        tx.callbacks.SmoothGradCallback(
            validation, class_index=1, num_samples=3, noise=1.0, output_dir=tmp_path
        ),
        tx.callbacks.VanillaGradientsCallback(validation, class_index=1, output_dir=tmp_path),
        tx.callbacks.GradientsInputsCallback(validation, class_index=1, output_dir=tmp_path),
    ]
    model.fit(x, y, epochs=2, batch_size=8, callbacks=callbacks, verbose=0)
    logged = _logged_images(tmp_path)
    assert len(logged) == 2 * len(callbacks)
    assert all(image.dtype == np.uint8 for image in logged)
