"""Every method on every kind of model gives the attributions it gives on a functional model.

The model kinds of ``toy_models.cnn`` hold the same weights, so each method's result must not
depend on the kind. Opaque models (a SavedModel, a plain function) expose no layers: there a
method either gives the same result or raises OpaqueModelError, and the methods that need only
the forward pass and its gradient must give the same result. Part of the test run on the
oldest supported TensorFlow (``scripts/test.sh``).
"""

import os

import numpy as np
import pytest
import tensorflow as tf
import toy_models
from test_invariants import METHODS

import tfattr
from tfattr.core.adapter import model_kind

# "tf.keras": a model built with tf.keras, which is tf-keras under TF_USE_LEGACY_KERAS=1.
KINDS = [
    "functional",
    "sequential",
    "nested",
    "subclassed",
    "tf_keras",
    "tf.keras",
    "saved_model",
    "callable",
]
LAYER_FREE = {
    "saliency",
    "saliency_signed",
    "input_x_gradient",
    "integrated_gradients",
    "ig_gausslegendre_stack",
    "ig_uniform_baseline",
    "gradient_shap",
    "smoothgrad",
    "noise_tunnel_ig_vargrad",
    "noise_tunnel_saliency_sq",
    "occlusion",
    "guided_ig",
    "blur_ig",
    "rise",
    "lime",
    "kernel_shap",
    "feature_ablation",
    "xrai",
}
TARGETS = [0, 2]
_references: dict[str, np.ndarray] = {}


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(5).uniform(0, 1, size=(2, *toy_models.SHAPE)).astype("float32")


@pytest.fixture(scope="module")
def models():
    return {
        kind: _tf_keras_model() if kind == "tf.keras" else toy_models.cnn(kind) for kind in KINDS
    }


def _tf_keras_model():
    layers = toy_models._cnn_layers(tf.keras.layers, toy_models.CLASSES, softmax=True)
    model = tf.keras.Sequential([tf.keras.Input(toy_models.SHAPE), *layers])
    weights = toy_models.cnn_weights()
    model.get_layer("conv").set_weights(weights[:2])
    model.get_layer("dense").set_weights(weights[2:])
    return model


def test_tf_keras_is_the_keras_that_the_environment_selects():
    legacy = os.environ.get("TF_USE_LEGACY_KERAS", "0").lower() in ("1", "true")
    model = _tf_keras_model()
    assert type(model).__module__.startswith("tf_keras" if legacy else "keras")
    assert model_kind(model) == ("tf_keras" if legacy else "keras")


def _explain(name, model, x):
    factory, _ = METHODS[name]
    return np.asarray(factory(model).explain(x, target=TARGETS))


@pytest.mark.parametrize("kind", KINDS[1:])
@pytest.mark.parametrize("name", METHODS)
def test_method_gives_the_same_result_on_every_model_kind(name, kind, models, x):
    if name not in _references:
        _references[name] = _explain(name, models["functional"], x)
    expected = _references[name]
    if kind in ("saved_model", "callable") and name not in LAYER_FREE:
        try:
            actual = _explain(name, models[kind], x)
        except tfattr.OpaqueModelError:
            return
    else:
        actual = _explain(name, models[kind], x)
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, atol=1e-4 * scale, err_msg=f"{name} on {kind}")
