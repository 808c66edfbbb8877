"""The benchmark models, buildable with Keras 3 (tfattr) and Keras 2 (the peers' environments).

This module imports neither tfattr nor numpy-2-only code, so each peer's virtualenv can import
it too: every process builds the same architecture and loads the same weights, which is how
models cross Keras versions (a ``.keras`` file from Keras 3 does not load in Keras 2).

- ``cnn``: four conv+ReLU+max-pool blocks, global average pooling, 1000 logits (the model of
  ``bench_ig.py``); its random weights travel as an ``.npz`` of ``model.get_weights()``.
- ``mobilenet``: the real ImageNet-pretrained Keras MobileNet v1 (alpha 0.25) of
  ``../shared/imagenet_assets/``, built at the requested size with logits out.
"""

from __future__ import annotations

import os

MODELS = ("cnn", "mobilenet")
ASSETS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "imagenet_assets")
MOBILENET_WEIGHTS = os.path.join(ASSETS, "mobilenet_2_5_128_tf.h5")
# The last feature map of each model: Grad-CAM's layer.
CAM_LAYERS = {"cnn": "conv_4", "mobilenet": "conv_pw_13_relu"}


def build(keras, name: str, size: int, weights: str | None = None):
    """Builds model ``name`` for ``size`` x ``size`` RGB images with the given ``keras`` module.

    ``weights``: an ``.npz`` of ``get_weights()`` (cnn), or None (cnn: seeded random weights;
    mobilenet: always the shared pretrained file).
    """
    if name == "mobilenet":
        return keras.applications.MobileNet(
            alpha=0.25,
            weights=os.path.abspath(MOBILENET_WEIGHTS),
            input_shape=(size, size, 3),
            classifier_activation=None,
        )
    if name != "cnn":
        raise ValueError(f"model: expected one of {MODELS}, got {name!r}")
    keras.utils.set_random_seed(0)
    # Functional, with named layers: every peer's layer lookup (Grad-CAM) works on it.
    inputs = keras.Input((size, size, 3))
    x = inputs
    for i, filters in enumerate((16, 32, 64, 64), start=1):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv_{i}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    model = keras.Model(inputs, keras.layers.Dense(1000, name="logits")(x), name="cnn")
    if weights is not None:
        import numpy as np

        with np.load(weights) as data:
            model.set_weights([data[f"w{i}"] for i in range(len(data.files))])
    return model


def save_weights(model, path: str) -> None:
    """Writes ``model.get_weights()`` as an ``.npz`` that :func:`build` reads back."""
    import numpy as np

    np.savez(path, **{f"w{i}": w for i, w in enumerate(model.get_weights())})
