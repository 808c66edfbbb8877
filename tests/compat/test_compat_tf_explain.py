"""tfattr.compat.tf_explain: tf-explain's API, computed by tfattr, on Keras 3 models."""

import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfattr
from tfattr.compat import tf_explain as tx
from tfattr.compat.tf_explain.core.grad_cam import GuidedGradientsGradCAM
from tfattr.compat.tf_explain.utils import display

SHAPE = (8, 8, 3)
CLASSES = 3


def _layers():
    return [
        keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
        keras.layers.Conv2D(5, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(CLASSES, name="dense"),
        keras.layers.Softmax(name="softmax"),
    ]


def tiny(kind="functional", seed=0):
    """conv relu -> conv relu -> flatten -> dense -> Softmax layer, fixed random weights."""
    keras.utils.set_random_seed(seed)
    if kind == "sequential":
        model = keras.Sequential([keras.Input(SHAPE), *_layers()])
    else:
        inputs = keras.Input(SHAPE)
        h = inputs
        for layer in _layers():
            h = layer(h)
        model = keras.Model(inputs, h)
    rng = np.random.default_rng(seed)
    # Kernels scaled by their fan-in, so that the softmax does not saturate.
    scales = [1 / np.sqrt(np.prod(w.shape[:-1])) if w.ndim > 1 else 0.1 for w in model.weights]
    model.set_weights(
        [
            rng.normal(0, s, w.shape).astype("float32")
            for w, s in zip(model.weights, scales, strict=True)
        ]
    )
    return model


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).uniform(0, 1, (3, *SHAPE)).astype("float32")


def _logits(model, x):
    return model.get_layer("dense")(model.get_layer("flatten")(_conv2(model, x)))


def _conv2(model, x):
    return model.get_layer("conv2")(model.get_layer("conv")(x))


def _input_gradients(score, x):
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = score(x)
    return tape.gradient(value, x).numpy()


def _grayscale(maps):
    """tf-explain's transform_to_normalized_grayscale, saturating (numpy, float64)."""
    g = np.abs(maps).astype(np.float64).sum(-1)
    s = (g - g.mean()) / max(g.std(), 1 / np.sqrt(g.size))
    return np.clip(255 * s, 0, 255).astype(np.uint8)


def _close(actual, expected):
    """uint8 images equal up to +-1 where float round-off moves a value across an integer."""
    assert actual.shape == expected.shape and actual.dtype == expected.dtype
    difference = np.abs(actual.astype(int) - expected.astype(int))
    assert difference.max() <= 1 and np.mean(difference > 0) < 0.02


# --- The tf-explain script on VGG16 ---------------------------------------------------------


@pytest.fixture(scope="module")
def vgg16():
    keras.utils.set_random_seed(0)
    return tf.keras.applications.vgg16.VGG16(
        weights=None, include_top=True, input_shape=(64, 64, 3)
    )


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_tf_explain_grad_cam_script_runs_on_vgg16(vgg16, kind, tmp_path):
    model = vgg16 if kind == "functional" else keras.Sequential(vgg16.layers)
    # tf-explain's README example, verbatim but for the import.
    from tfattr.compat.tf_explain.core.grad_cam import GradCAM

    img = np.random.default_rng(0).uniform(0, 255, (64, 64, 3)).astype("float32")
    data = ([img], None)
    tabby_cat_class_index = 281
    explainer = GradCAM()
    grid = explainer.explain(data, model, tabby_cat_class_index, "block5_conv3")
    explainer.save(grid, str(tmp_path), "grad_cam.png")

    assert grid.shape == (64, 64, 3) and grid.dtype == np.uint8
    assert (tmp_path / "grad_cam.png").is_file()
    # Without a layer name (tf-explain fails here on Keras 3): the last top-level 4-D layer.
    assert GradCAM.infer_grad_cam_target_layer(model) == "block5_pool"
    grid = explainer.explain(([img, img[::-1], img[:, ::-1]], None), model, class_index=281)
    assert grid.shape == (128, 128, 3) and grid.dtype == np.uint8
    assert not grid[64:, 64:].any()  # the square's empty cell is black


# --- Every explainer: uint8 grid of the right shape -----------------------------------------

CASES = [
    (tx.GradCAM, {}, 3),
    (tx.GradCAM, {"layer_name": "conv", "use_guided_grads": False, "colormap": "jet"}, 3),
    (tx.VanillaGradients, {}, 2),
    (tx.GradientsInputs, {}, 2),
    (tx.SmoothGrad, {"num_samples": 3, "noise": 0.2}, 2),
    (tx.IntegratedGradients, {"n_steps": 4}, 2),
    (tx.OcclusionSensitivity, {"patch_size": 3}, 3),
]


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_every_explainer_returns_a_uint8_grid(kind, images, tmp_path):
    model = tiny(kind)
    five = np.concatenate([images, images[:2]])  # 5 images: a 3 x 3 grid, 4 cells black
    for cls, options, rank in CASES:
        explainer = cls() if cls is not tx.OcclusionSensitivity else cls(batch_size=4)
        grid = explainer.explain((five, None), model, 1, **options)
        assert grid.dtype == np.uint8 and grid.shape == (24, 24, 3)[:rank], cls.__name__
        assert not grid[8:, 16:].any(), cls.__name__
        explainer.save(grid, tmp_path, f"{cls.__name__}.png")
        assert (tmp_path / f"{cls.__name__}.png").is_file()
    grid = tx.ExtractActivations().explain((five, None), model, ["conv2"])
    assert grid.dtype == np.uint8 and grid.shape == (5 * 6, 5 * 6)  # 25 channel maps of 6 x 6


# --- What the explainers compute ------------------------------------------------------------


def test_vanilla_gradients_and_gradients_inputs_match_tf_explain_math(images):
    model = tiny()
    gradients = _input_gradients(lambda x: _logits(model, x)[:, 2], images)
    # tf-explain: |gradient of the score before the final activation|, grayscale over the batch.
    _close(
        tx.VanillaGradients().explain((images, None), model, 2),
        display.grid_display(_grayscale(gradients)),
    )
    _close(
        tx.GradientsInputs().explain((images, None), model, 2),
        display.grid_display(_grayscale(images * gradients)),
    )
    # The same gradients as tfattr's Saliency on the logits.
    saliency = tfattr.Saliency(model).explain(images, target=2).numpy()
    np.testing.assert_allclose(saliency, np.abs(gradients), rtol=1e-5, atol=1e-6)


def test_vanilla_gradients_warns_and_keeps_a_fused_softmax(images):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(SHAPE),
            keras.layers.Flatten(),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    with pytest.warns(UserWarning, match="Unsupported model architecture"):
        grid = tx.VanillaGradients().explain((images, None), model, 0)
    gradients = _input_gradients(lambda x: model(x)[:, 0], images)  # of the probability
    _close(grid, display.grid_display(_grayscale(gradients)))


def test_integrated_gradients_is_the_mean_path_gradient_without_the_input_factor(images):
    model = tiny()
    steps = 4
    path = [k / (steps - 1) * images for k in range(steps)]
    mean = np.mean([_input_gradients(lambda x: model(x)[:, 1], p) for p in path], axis=0)
    explainer = tx.core.integrated_gradients.PathMeanGradients(model, output="raw", steps=steps)
    np.testing.assert_allclose(
        explainer.explain(images, target=1).numpy(), mean, rtol=1e-4, atol=1e-7
    )
    grid = tx.IntegratedGradients().explain((images, None), model, 1, n_steps=steps)
    _close(grid, display.grid_display(_grayscale(mean)))


def test_smoothgrad_differentiates_the_log_probability(images):
    model = tiny()
    gradients = _input_gradients(lambda x: tf.math.log(model(x)[:, 0]), images)
    # No noise: SmoothGrad is the gradient of tf-explain's cross-entropy (up to its sign).
    _close(
        tx.SmoothGrad().explain((images, None), model, 0, 3, 0.0),
        display.grid_display(_grayscale(gradients)),
    )
    # Seeded noise is reproducible.
    first = tx.SmoothGrad().explain((images, None), model, 0, 4, 0.3, seed=7)
    np.testing.assert_array_equal(
        first, tx.SmoothGrad().explain((images, None), model, 0, 4, 0.3, seed=7)
    )


@pytest.mark.parametrize("guided", [True, False])
def test_grad_cam_weights_and_overlay(guided, images):
    model = tiny()
    with tf.GradientTape() as tape:
        x = tf.convert_to_tensor(images)
        activations = model.get_layer("conv")(x)
        tape.watch(activations)
        h = model.get_layer("conv2")(activations)
        score = model.get_layer("softmax")(model.get_layer("dense")(model.get_layer("flatten")(h)))
        score = score[:, 2]
    grads = tape.gradient(score, activations).numpy()
    a = activations.numpy()
    if guided:  # tf-explain: (A > 0) * (g > 0) * g before the spatial mean
        grads = (a > 0) * (grads > 0) * grads
    expected = np.einsum("nhwk,nk->nhw", a, grads.mean(axis=(1, 2)))  # no ReLU
    kind = GuidedGradientsGradCAM if guided else tfattr.GradCAM
    cams = kind(model, output="raw", layer="conv", relu=False, upsample=False).explain(x, 2)
    np.testing.assert_allclose(cams.numpy(), expected, rtol=1e-4, atol=1e-7)

    grid = tx.GradCAM().explain((images, None), model, 2, "conv", guided, display.COLORMAP_JET, 0.5)
    overlays = [
        display.heatmap_display(cam, image, "jet", 0.5)
        for cam, image in zip(expected, images, strict=True)
    ]
    _close(grid, display.grid_display(np.array(overlays)))


def test_heatmap_display_is_tf_explain_blend():
    heat = np.array([[0.0, 1.0], [2.0, 4.0]], np.float32)
    image = np.full((2, 2, 3), 0.5, np.float32)  # [0, 1] float: times 255
    out = display.heatmap_display(heat, image, display.COLORMAP_VIRIDIS, image_weight=0.7)
    import matplotlib

    levels = (np.array([[0, 0.25], [0.5, 1.0]]) * 255).astype(np.uint8)
    colours = np.rint(matplotlib.colormaps["viridis"](levels / 255.0)[..., :3] * 255)
    expected = np.clip(np.rint(0.7 * 127 + colours), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    # A constant map does not divide by zero: the low end of the colormap everywhere.
    flat = display.heatmap_display(np.zeros((2, 2)), image, "viridis", 0.0)
    assert np.all(flat == flat[0, 0])


def test_occlusion_cells_are_one_minus_the_occluded_probability(images):
    model = tiny()
    patch = 3
    cells = np.zeros((len(images), 3, 3))
    for i in range(3):
        for j in range(3):
            occluded = images.copy()
            occluded[:, i * patch : (i + 1) * patch, j * patch : (j + 1) * patch] = 127.5
            cells[:, i, j] = 1 - model(occluded).numpy()[:, 1]
    expected = tf.image.resize(cells[..., None], SHAPE[:2], method="bilinear")[..., 0].numpy()
    maps = tx.OcclusionSensitivity().get_sensitivity_maps(model, images, 1, patch)
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-6)
    one = tx.OcclusionSensitivity().get_sensitivity_map(model, images[0], 1, 20)  # > the image
    occluded = np.full_like(images[:1], 127.5)
    np.testing.assert_allclose(one, 1 - model(occluded).numpy()[0, 1], rtol=1e-5, atol=1e-6)


def test_extract_activations_grid(images):
    model = tiny("sequential")
    maps = model.get_layer("conv")(images).numpy()  # (3, 6, 6, 4)
    grid = display.filter_display(maps).astype(np.float64)
    expected = ((grid - grid.min()) / (grid.max() - grid.min()) * 255).astype(np.uint8)
    np.testing.assert_array_equal(
        tx.ExtractActivations().explain((images, None), model, "conv"), expected
    )
    with pytest.raises(ValueError, match="one size"):
        tx.ExtractActivations().explain((images, None), model, ["conv", "flatten"])
    with pytest.raises(tfattr.LayerNotFoundError):
        tx.ExtractActivations().explain((images, None), model, ["nope"])


# --- Helpers --------------------------------------------------------------------------------


def test_grid_display_layout():
    tiles = np.arange(5)[:, None, None] * np.ones((5, 2, 3), np.uint8) + 1
    grid = display.grid_display(tiles)
    assert grid.shape == (6, 9) and grid[0, 3] == 2 and grid[2, 0] == 4 and not grid[4:, 3:].any()
    assert display.grid_display(tiles, num_columns=5).shape == (2, 15)
    assert display.grid_display(tiles, num_rows=1).shape == (2, 15)
    with pytest.warns(UserWarning, match="doesn't allow"):
        assert display.grid_display(tiles, num_rows=1, num_columns=2).shape == (6, 6)


def test_colormaps_and_images():
    assert display.resolve_colormap(2).name == "jet"  # cv2.COLORMAP_JET
    assert display.resolve_colormap(16).name == "viridis"  # cv2.COLORMAP_VIRIDIS
    assert display.resolve_colormap("magma").name == "magma"
    with pytest.raises(ValueError, match="no matplotlib equivalent"):
        display.resolve_colormap(display.COLORMAP_PARULA)
    with pytest.raises(ValueError, match="not a matplotlib colormap"):
        display.resolve_colormap("nope")
    to_u8 = display.image_to_uint_255
    np.testing.assert_array_equal(to_u8(np.array([0.0, 0.5, 1.0])), [0, 127, 255])
    np.testing.assert_array_equal(to_u8(np.array([-1.0, 0.0, 1.0])), [0, 127, 255])
    np.testing.assert_array_equal(to_u8(np.array([0.0, 100.0, 300.0])), [0, 100, 255])


def test_validation_data_must_be_a_pair(images):
    with pytest.raises(ValueError, match="pair"):
        tx.VanillaGradients().explain(images, tiny(), 0)


# --- Callbacks ------------------------------------------------------------------------------


def _events(folder: pathlib.Path) -> dict:
    """``{tag: [(step, image shape)]}`` of the image summaries in the event files below."""
    found: dict = {}
    for path in folder.rglob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                png = tf.make_ndarray(value.tensor)[-1]
                shape = tuple(tf.io.decode_png(png).shape)
                found.setdefault(value.tag, []).append((event.step, shape))
    return found


def test_callbacks_write_tensorboard_images_during_fit(images, tmp_path):
    model = tiny("sequential")
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    data = (images[:2], np.array([0, 1]))
    cb = tx.callbacks
    callbacks = [
        cb.GradCAMCallback(data, 1, output_dir=tmp_path / "grad_cam"),
        cb.VanillaGradientsCallback(data, 1, output_dir=tmp_path / "vanilla"),
        cb.GradientsInputsCallback(data, 1, output_dir=tmp_path / "inputs"),
        cb.SmoothGradCallback(data, 1, num_samples=2, output_dir=tmp_path / "smooth", seed=0),
        cb.IntegratedGradientsCallback(data, 1, n_steps=3, output_dir=tmp_path / "ig"),
        cb.OcclusionSensitivityCallback(data, 1, 4, output_dir=tmp_path / "occlusion"),
        cb.ActivationsVisualizationCallback(data, ["conv"], output_dir=tmp_path / "act"),
    ]
    x = np.repeat(images, 4, axis=0)
    model.fit(
        x, np.arange(len(x)) % CLASSES, batch_size=4, epochs=1, verbose=0, callbacks=callbacks
    )
    expected = {
        "grad_cam": ("Grad CAM", (16, 16, 3)),
        "vanilla": ("VanillaGradients", (16, 16, 1)),
        "inputs": ("GradientsInputs", (16, 16, 1)),
        "smooth": ("SmoothGrad", (16, 16, 1)),
        "ig": ("IntegratedGradients", (16, 16, 1)),
        "occlusion": ("Occlusion Sensitivity", (16, 16, 3)),
        "act": ("Activations Visualization", (18, 18, 1)),  # 2 x 4 channel maps of 6 x 6
    }
    for folder, (tag, shape) in expected.items():
        (run,) = (tmp_path / folder).iterdir()  # tf-explain's timestamped run folder
        assert _events(run) == {tag: [(0, shape)]}, folder
