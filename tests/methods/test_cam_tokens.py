"""CAM methods on token models (ViT-like): patch tokens reshaped to their grid, class token dropped.

The models are hand-built Keras token models (patch conv -> tokens -> class token -> attention
block -> class token -> dense) with random weights; the KerasHub ViT is covered in
tests/models/test_models_kerashub.py.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfattr
from tfattr import registry
from tfattr.core import layers
from tfattr.errors import LayerNotFoundError

SIZE, PATCH, DIM, CLASSES = 32, 8, 8, 4
GRID = SIZE // PATCH


class ClassToken(keras.layers.Layer):
    """Prepends one learned token to the sequence."""

    def build(self, input_shape):
        self.token = self.add_weight(
            shape=(1, 1, input_shape[-1]), initializer=keras.initializers.RandomNormal(seed=3)
        )

    def call(self, x):
        batch = keras.ops.shape(x)[0]
        return keras.ops.concatenate(
            [keras.ops.broadcast_to(self.token, (batch, 1, x.shape[-1])), x], axis=1
        )


class FirstToken(keras.layers.Layer):
    def call(self, x):
        return x[:, 0]


def token_model(pool="class", seed=0):
    """A one-block ViT: ``pool="class"`` reads the class token, ``"mean"`` the patch tokens."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((SIZE, SIZE, 3))
    patches = keras.layers.Conv2D(DIM, PATCH, strides=PATCH, name="patches")(inputs)
    tokens = keras.layers.Reshape((GRID * GRID, DIM), name="tokens")(patches)
    if pool == "class":
        tokens = ClassToken(name="cls")(tokens)
    norm = keras.layers.LayerNormalization(name="norm1")(tokens)
    attended = keras.layers.MultiHeadAttention(2, 4, name="attention")(norm, norm)
    block = keras.layers.Add(name="block")([tokens, attended])
    mlp = keras.layers.Dense(DIM, activation="gelu", name="mlp")(block)
    if pool == "class":
        pooled = FirstToken(name="take_class")(mlp)
    else:
        pooled = keras.layers.GlobalAveragePooling1D(name="mean")(mlp)
    outputs = keras.layers.Dense(CLASSES, name="head")(pooled)
    return keras.Model(inputs, outputs)


def images(n=2, seed=1):
    return np.random.default_rng(seed).uniform(0, 1, (n, SIZE, SIZE, 3)).astype("f4")


def run(model, x, edit=lambda name, t: t):
    """``token_model``'s forward pass written out over its layers; ``edit(name, output)``
    may watch or change a layer's output on the way."""
    get = model.get_layer
    names = [layer.name for layer in model.layers]
    t = edit("tokens", get("tokens")(get("patches")(x)))
    if "cls" in names:
        t = edit("cls", get("cls")(t))
    n = edit("norm1", get("norm1")(t))
    b = edit("block", get("block")([t, edit("attention", get("attention")(n, n))]))
    m = edit("mlp", get("mlp")(b))
    pooled = get("take_class")(m) if "cls" in names else get("mean")(m)
    return get("head")(pooled)


def hand_gradcam(model, name, x, targets, prefix):
    """Grad-CAM by hand: the layer's tokens and their score gradient, patch tokens to the grid,
    ``ReLU(sum_k mean(dF/dA^k) A^k)``."""
    seen = {}

    def watch(layer, t):
        if layer == name:
            tape.watch(t)
            seen["tokens"] = t
        return t

    with tf.GradientTape() as tape:
        picked = tf.gather(run(model, x, watch), targets, axis=1, batch_dims=1)
    grads = tape.gradient(picked, seen["tokens"])
    grid = lambda v: tf.reshape(v[:, prefix:], (-1, GRID, GRID, DIM))  # noqa: E731
    a, g = grid(seen["tokens"]), grid(grads)
    return tf.nn.relu(tf.einsum("bhwk,bk->bhw", a, tf.reduce_mean(g, axis=(1, 2)))).numpy()


def test_the_written_out_forward_pass_is_the_model():
    for pool in ("class", "mean"):
        model, x = token_model(pool), tf.constant(images())
        np.testing.assert_allclose(run(model, x), model(x), rtol=1e-5, atol=1e-6)


def test_default_layer_is_the_last_token_layer_whose_patch_tokens_reach_the_score():
    # Class-token model: after the attention the patch tokens no longer reach the class token,
    # so the default is the last layer before it (the norm feeding the attention).
    model = token_model("class")
    cam = tfattr.GradCAM(model)
    layer = cam.layer(tf.constant(images()), cam.options)
    assert layer.name == "norm1" and layer.grid == tfattr.models.TokenGrid(GRID, GRID, 1)
    # Mean-pooled model: every patch token reaches the score, the last block's output is used.
    pooled = token_model("mean")
    layer = tfattr.GradCAM(pooled).layer(tf.constant(images()), cam.options)
    assert layer.name == "mlp" and layer.grid == tfattr.models.TokenGrid(GRID, GRID, 0)


@pytest.mark.parametrize(
    "pool, layer, prefix", [("class", "norm1", 1), ("class", "cls", 1), ("mean", "mlp", 0)]
)
def test_gradcam_on_tokens_equals_the_hand_computation(pool, layer, prefix):
    model, x, targets = token_model(pool), images(3), [0, 2, 3]
    expected = hand_gradcam(model, layer, tf.constant(x), tf.constant(targets), prefix)
    assert expected.max() > 0  # a real map, not all zeros
    got = tfattr.GradCAM(model, layer=layer, upsample=False).explain(x, target=targets)
    assert got.shape == (3, GRID, GRID)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-6)
    upsampled = tfattr.GradCAM(model, layer=layer).explain(x, target=targets)
    assert upsampled.shape == (3, SIZE, SIZE)


def test_class_token_is_dropped_and_row_major_order_kept():
    # With relu=False and the grid map's channel weights known, position (r, c) of the map is
    # token 1 + r * cols + c: the class token (0) is nowhere in the map.
    model, x = token_model("class"), images(2)
    explainer = tfattr.GradCAM(model, layer="cls")
    cam_layer = explainer.layer(tf.constant(x), explainer.options)
    tokens = keras.Model(model.inputs, model.get_layer("cls").output)(x).numpy()
    grid = cam_layer.feature_map(tf.constant(tokens)).numpy()
    assert grid.shape == (2, GRID, GRID, DIM)
    np.testing.assert_array_equal(grid[:, 2, 3], tokens[:, 1 + 2 * GRID + 3])
    np.testing.assert_array_equal(grid.reshape(2, -1, DIM), tokens[:, 1:])


def test_user_reshape_is_honoured():
    model, x = token_model("class"), images(2)
    plain = tfattr.GradCAM(model, layer="norm1", upsample=False).explain(x, target=1).numpy()

    def transposed(tokens):  # the grid read column-major: the map comes out transposed
        grid = tf.reshape(tokens[:, 1:], (-1, GRID, GRID, DIM))
        return tf.transpose(grid, (0, 2, 1, 3))

    got = tfattr.GradCAM(model, layer="norm1", upsample=False, reshape=transposed).explain(
        x, target=1
    )
    np.testing.assert_allclose(got.numpy(), plain.transpose(0, 2, 1), rtol=1e-5, atol=1e-7)
    with pytest.raises(TypeError, match="reshape: expected None or a function"):
        tfattr.GradCAM(model, reshape="tokens")
    with pytest.raises(ValueError, match=r"reshape: mapped the output .* \(N, h, w, K\)"):
        tfattr.GradCAM(model, layer="norm1", reshape=lambda t: t[:, 1:]).explain(x, target=1)


def test_tokens_that_do_not_tile_the_image_are_refused_with_the_fix():
    inputs = keras.Input((SIZE, SIZE, 3))
    patches = keras.layers.Conv2D(DIM, PATCH, strides=PATCH)(inputs)
    tokens = keras.layers.Reshape((GRID * GRID, DIM))(patches)
    cropped = keras.layers.Cropping1D((3, 0), name="cropped")(tokens)  # 13 tokens
    outputs = keras.layers.Dense(CLASSES)(keras.layers.GlobalAveragePooling1D()(cropped))
    model = keras.Model(inputs, outputs)
    with pytest.raises(ValueError, match=r"'cropped' outputs \(N, 13, 8\): 13 tokens do not tile"):
        tfattr.GradCAM(model, layer="cropped").explain(images(1), target=0)

    def pad(t):  # the user's reshape: 13 tokens padded to 16, a 4 x 4 grid
        return tf.reshape(tf.pad(t, [[0, 0], [3, 0], [0, 0]]), (-1, GRID, GRID, DIM))

    cam = tfattr.GradCAM(model, layer="cropped", reshape=pad).explain(images(1), target=0)
    assert cam.shape == (1, SIZE, SIZE) and np.isfinite(cam.numpy()).all()


def test_a_model_without_maps_or_token_grids_says_so():
    inputs = keras.Input((SIZE, SIZE, 3))
    outputs = keras.layers.Dense(CLASSES)(keras.layers.Flatten()(inputs))
    with pytest.raises(LayerNotFoundError, match="nor a token layer"):
        tfattr.GradCAM(keras.Model(inputs, outputs)).explain(images(1), target=0)


CAMS = [e for e in registry.METHODS.values() if "layer" in e.cls.defaults]


@pytest.mark.parametrize("entry", CAMS, ids=[e.name for e in CAMS])
def test_every_cam_method_explains_a_token_model(entry):
    model, x = token_model("class"), images(2)
    explainer = entry.cls(model, **entry.default_options((SIZE, SIZE)))
    out = explainer.explain(x, target=[1, 2])
    out = out[0] if isinstance(out, tuple) else out
    assert out.shape[:3] == (2, SIZE, SIZE) and np.isfinite(out.numpy()).all()
    assert float(tf.reduce_max(tf.abs(out))) > 0


def test_ablation_cam_zeroes_a_token_channel_on_every_token():
    # AblationCAM's weights by hand: w_k = (y - y_k) / |y|, y_k with channel k of the layer's
    # tokens (class token included) set to zero.
    model, x, target = token_model("class"), tf.constant(images(1)), 2
    tokens = {}

    def keep(name, t):
        tokens.setdefault(name, t)
        return t

    y = run(model, x, keep)[0, target]

    def ablate(k):
        return lambda name, t: t * (1 - tf.one_hot(k, DIM)) if name == "norm1" else t

    weights = tf.stack([(y - run(model, x, ablate(k))[0, target]) / abs(y) for k in range(DIM)])
    grid = tf.reshape(tokens["norm1"][0, 1:], (GRID, GRID, DIM))
    expected = tf.nn.relu(tf.einsum("hwk,k->hw", grid, weights)).numpy()
    assert expected.max() > 0
    got = tfattr.AblationCAM(model, layer="norm1", upsample=False).explain(x, target=target)
    np.testing.assert_allclose(got.numpy()[0], expected, rtol=1e-4, atol=1e-6)


def test_cam_layer_resolution_is_reused():
    model, x = token_model("class"), tf.constant(images(1))
    explainer = tfattr.GradCAM(model)
    first = explainer.layer(x, explainer.options)
    assert explainer.layer(x, explainer.options) is first
    assert layers.keras_layer(first) is model.get_layer("norm1")
