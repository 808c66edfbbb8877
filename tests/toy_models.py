"""Tiny models with known weights, in every form the adapter accepts (shared by the tests)."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

SHAPE = (8, 8, 3)
CLASSES = 4


def linear_weights(shape=SHAPE, classes=CLASSES, seed=0):
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=(int(np.prod(shape)), classes)).astype("float32")
    bias = rng.normal(size=(classes,)).astype("float32")
    return kernel, bias


def linear_model(shape=SHAPE, classes=CLASSES, softmax=False, seed=0) -> keras.Model:
    """scores = flatten(x) @ W + c (optionally followed by a softmax the adapter removes)."""
    kernel, bias = linear_weights(shape, classes, seed)
    model = keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Flatten(),
            keras.layers.Dense(classes, activation="softmax" if softmax else None),
        ]
    )
    model.layers[-1].set_weights([kernel, bias])
    return model


def cnn_weights(seed=0, classes=CLASSES):
    rng = np.random.default_rng(seed)
    return [
        rng.normal(0, 0.5, (3, 3, 3, 6)).astype("float32"),
        rng.normal(0, 0.1, (6,)).astype("float32"),
        rng.normal(0, 0.3, (6 * 6 * 6, classes)).astype("float32"),
        rng.normal(0, 0.1, (classes,)).astype("float32"),
    ]


def _cnn_layers(layers, classes, softmax):
    return [
        layers.Conv2D(6, 3, activation="relu", name="conv"),
        layers.Flatten(name="flatten"),
        layers.Dense(classes, name="dense"),
        *([layers.Softmax(name="softmax")] if softmax else []),
    ]


def cnn(kind: str = "functional", seed=0, classes=CLASSES, softmax=True):
    """The same ReLU CNN (conv 3x3 relu -> flatten -> dense [-> softmax]) in several forms.

    Kinds: functional, sequential, nested, subclassed (logits only), tf_keras, saved_model,
    callable (logits only).
    """
    weights = cnn_weights(seed, classes)
    if kind == "functional":
        inputs = keras.Input(SHAPE)
        h = inputs
        for layer in _cnn_layers(keras.layers, classes, softmax):
            h = layer(h)
        model = keras.Model(inputs, h)
    elif kind == "sequential":
        model = keras.Sequential([keras.Input(SHAPE), *_cnn_layers(keras.layers, classes, softmax)])
    elif kind == "nested":
        base_in = keras.Input(SHAPE)
        base = keras.Model(
            base_in, keras.layers.Conv2D(6, 3, activation="relu", name="conv")(base_in), name="base"
        )
        inputs = keras.Input(SHAPE)
        h = keras.layers.Flatten()(base(inputs))
        h = keras.layers.Dense(classes, name="dense")(h)
        if softmax:
            h = keras.layers.Softmax()(h)
        model = keras.Model(inputs, h)
        base.get_layer("conv").set_weights(weights[:2])
        model.get_layer("dense").set_weights(weights[2:])
        return model
    elif kind == "subclassed":
        model = SubclassedCNN(classes)
        model(tf.zeros((1, *SHAPE)))
    elif kind == "tf_keras":
        import tf_keras

        model = tf_keras.Sequential(
            [tf_keras.Input(SHAPE), *_cnn_layers(tf_keras.layers, classes, softmax)]
        )
    elif kind in ("saved_model", "callable"):
        return _functional_cnn(weights) if kind == "callable" else _saved(weights)
    else:
        raise ValueError(kind)
    model.get_layer("conv").set_weights(weights[:2])
    model.get_layer("dense").set_weights(weights[2:])
    return model


class SubclassedCNN(keras.Model):
    def __init__(self, classes):
        super().__init__()
        self.conv = keras.layers.Conv2D(6, 3, activation="relu", name="conv")
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(classes, name="dense")

    def call(self, x):
        return self.dense(self.flatten(self.conv(x)))

    def get_layer(self, name=None, index=None):
        return {"conv": self.conv, "dense": self.dense}[name]


def _functional_cnn(weights):
    k1, b1, k2, b2 = (tf.convert_to_tensor(w) for w in weights)

    def f(x):
        h = tf.nn.relu(tf.nn.conv2d(x, k1, 1, "VALID") + b1)
        return tf.reshape(h, (tf.shape(h)[0], -1)) @ k2 + b2

    return f


class _Module(tf.Module):
    def __init__(self, weights):
        super().__init__()
        self.weights_ = [tf.Variable(w) for w in weights]

    @tf.function(input_signature=[tf.TensorSpec((None, *SHAPE), tf.float32)])
    def __call__(self, x):
        return _functional_cnn(self.weights_)(x)


def _saved(weights):
    """The CNN exported as a SavedModel and loaded back (hub-style: a callable tf.Module)."""
    import tempfile

    path = tempfile.mkdtemp(prefix="tfattr_saved_")
    tf.saved_model.save(_Module(weights), path)
    return tf.saved_model.load(path)
