"""LayerCAM on conv -> global average pooling -> dense: the gradient is W[k, t] / (h w)."""

import keras
import numpy as np

from tfattr.methods.cam.layer_cam import LayerCAM


def test_equals_the_hand_computation():
    rng = np.random.default_rng(0)
    inputs = keras.Input((6, 6, 2))
    a = keras.layers.Conv2D(3, 3, activation="relu", name="conv")(inputs)
    h = keras.layers.GlobalAveragePooling2D()(a)
    model = keras.Model(inputs, keras.layers.Dense(4, name="dense")(h))
    x = rng.uniform(size=(2, 6, 6, 2)).astype("f4")
    activations = keras.Model(inputs, a)(x).numpy()
    kernel = model.get_layer("dense").get_weights()[0]
    got = LayerCAM(model, upsample=False).explain(x, [1, 3]).numpy()
    for i, t in enumerate([1, 3]):
        weights = np.maximum(kernel[:, t] / 16, 0)
        expected = np.maximum((activations[i] * weights).sum(-1), 0)
        np.testing.assert_allclose(got[i], expected, atol=1e-6)
