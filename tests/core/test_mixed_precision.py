"""Mixed precision: a ``mixed_float16`` model is explained in float32, close to its float32 twin.

Under a ``mixed_float16`` policy Keras layers compute in float16 (variables stay float32). The
engine must still hand back float32 attributions and accumulate in float32; the values may
only differ from the float32 model's by float16 rounding.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfattr

SIZE, CLASSES = 16, 5


def _cnn() -> keras.Model:
    """Built under whatever global policy is active (the logits layer follows it too).

    Smooth activations (swish): with ReLUs, float16 rounding flips the sign of near-zero
    pre-activations and so switches single gradient paths on or off, an honest difference of
    the float16 model that no elementwise tolerance captures.
    """
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="swish", name="conv_a")(inputs)
    x = keras.layers.Conv2D(8, 3, padding="same", activation="swish", name="conv_b")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(CLASSES, name="logits")(x))


@pytest.fixture
def models():
    """(float32 model, the same weights under mixed_float16); the policy is restored after."""
    keras.utils.set_random_seed(0)
    reference = _cnn()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        mixed = _cnn()
    finally:
        keras.mixed_precision.set_global_policy(previous)
    mixed.set_weights(reference.get_weights())
    assert mixed.get_layer("conv_a").compute_dtype == "float16"
    return reference, mixed


EXPLAINERS = {
    "Saliency": lambda m: tfattr.Saliency(m, batch_size=4),
    "IntegratedGradients": lambda m: tfattr.IntegratedGradients(m, steps=8, batch_size=5),
    "SmoothGrad": lambda m: tfattr.SmoothGrad(m, samples=6, seed=0, batch_size=4),
    "GradCAM": lambda m: tfattr.GradCAM(m, layer="conv_b", batch_size=4),
}


@pytest.mark.parametrize("name", sorted(EXPLAINERS))
def test_mixed_float16_results_are_float32_and_close(models, name, rng):
    reference, mixed = models
    x = rng.uniform(0, 1, (3, SIZE, SIZE, 3)).astype("float32")
    targets = [0, 2, 4]
    expected = EXPLAINERS[name](reference).explain(x, target=targets)
    got = EXPLAINERS[name](mixed).explain(x, target=targets)
    assert got.dtype == tf.float32
    assert got.shape == expected.shape
    expected, got = expected.numpy(), got.numpy()
    # float16 keeps ~3 significant digits; errors compound over two conv layers.
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, atol=2e-2 * scale, rtol=0)
    assert np.corrcoef(got.ravel(), expected.ravel())[0, 1] > 0.999


def test_policy_is_restored(models):
    assert keras.mixed_precision.global_policy().name == "float32"
