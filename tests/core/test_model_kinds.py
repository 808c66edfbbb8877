"""The adapter gives every kind of model the same attributions, and leaves the model untouched."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr.core.adapter import ModelAdapter

KINDS = ["functional", "sequential", "nested", "subclassed", "tf_keras", "saved_model", "callable"]


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(1).normal(size=(3, *toy_models.SHAPE)).astype("float32")


@pytest.fixture(scope="module")
def reference(x):
    model = toy_models.cnn("functional")
    return {
        "saliency": tfattr.Saliency(model).explain(x, target=[0, 1, 2]).numpy(),
        "ig": tfattr.IntegratedGradients(model, steps=8).explain(x, target=[0, 1, 2]).numpy(),
        "logits": ModelAdapter(model)(tf.constant(x)).numpy(),
    }


@pytest.mark.parametrize("kind", KINDS)
def test_every_model_kind_gives_the_same_attributions(kind, x, reference):
    model = toy_models.cnn(kind)
    adapter = ModelAdapter(model)
    np.testing.assert_allclose(adapter(tf.constant(x)).numpy(), reference["logits"], atol=1e-5)
    saliency = tfattr.Saliency(model).explain(x, target=[0, 1, 2]).numpy()
    np.testing.assert_allclose(saliency, reference["saliency"], atol=1e-5)
    ig = tfattr.IntegratedGradients(model, steps=8).explain(x, target=[0, 1, 2]).numpy()
    np.testing.assert_allclose(ig, reference["ig"], atol=1e-5)


@pytest.mark.parametrize("kind", ["functional", "sequential", "nested", "tf_keras"])
def test_final_softmax_is_removed_for_logits(kind, x):
    with_softmax, logits_only = toy_models.cnn(kind), toy_models.cnn(kind, softmax=False)
    scores = ModelAdapter(with_softmax)(tf.constant(x)).numpy()
    np.testing.assert_allclose(scores, logits_only(x).numpy(), atol=1e-5)
    probabilities = ModelAdapter(with_softmax, output="probabilities")(tf.constant(x)).numpy()
    np.testing.assert_allclose(probabilities, with_softmax(x).numpy(), atol=1e-6)
    raw = ModelAdapter(with_softmax, output="raw")(tf.constant(x)).numpy()
    np.testing.assert_allclose(raw, with_softmax(x).numpy(), atol=1e-6)


def test_fused_softmax_activation_is_removed(x):
    model = toy_models.linear_model(softmax=True)
    logits = toy_models.linear_model(softmax=False)
    np.testing.assert_allclose(ModelAdapter(model)(tf.constant(x)), logits(x), atol=1e-5)
    assert model.layers[-1].activation.__name__ == "softmax"  # the user's layer is untouched


def test_probabilities_applies_a_softmax_to_logit_models(x):
    model = toy_models.cnn("callable")
    scores = ModelAdapter(model, output="probabilities")(tf.constant(x)).numpy()
    np.testing.assert_allclose(scores, tf.nn.softmax(model(tf.constant(x))).numpy(), atol=1e-6)


def test_opaque_model_returning_probabilities_warns_for_logits(x):
    logits = toy_models.cnn("callable")

    def probabilities(images):
        return tf.nn.softmax(logits(images))

    with pytest.warns(UserWarning, match="look like probabilities"):
        tfattr.Saliency(probabilities).explain(x, target=0)
    tfattr.Saliency(probabilities, output="raw").explain(x, target=0)  # no warning asked for


def test_user_model_is_unchanged_after_calls_and_failures(x):
    model = toy_models.cnn("nested")
    before = model(x).numpy()
    state = {id(layer): dict(vars(layer)) for layer in model._flatten_layers()}
    tfattr.IntegratedGradients(model, steps=4).explain(x)
    with pytest.raises(ValueError):
        tfattr.Saliency(model).explain(x, target=99)

    def exploding(call):
        def run(*args, **kwargs):
            raise RuntimeError("boom")

        return run

    adapter = ModelAdapter(model)
    with pytest.raises(RuntimeError, match="boom"):
        adapter(tf.constant(x), overrides={model.get_layer("dense"): exploding})
    for layer in model._flatten_layers():
        assert "call" not in vars(layer)
        assert set(vars(layer)) == set(state[id(layer)])
    np.testing.assert_array_equal(model(x).numpy(), before)


def test_multi_output_models_need_an_output_index(x):
    inputs = keras.Input(toy_models.SHAPE)
    flat = keras.layers.Flatten()(inputs)
    model = keras.Model(inputs, [keras.layers.Dense(3)(flat), keras.layers.Dense(5)(flat)])
    with pytest.raises(tfattr.ModelError, match="output_index"):
        tfattr.Saliency(model).explain(x)
    attr = tfattr.Saliency(model, output_index=1).explain(x, target=4)
    assert attr.shape == x.shape
    with pytest.raises(ValueError, match="out of range"):
        tfattr.Saliency(model, output_index=0).explain(x, target=4)  # output 0 has 3 classes


def test_dict_outputs_are_selected_by_key(x):
    logits = toy_models.cnn("callable")

    def model(images):
        return {"logits": logits(images), "features": tf.reduce_mean(images, [1, 2])}

    with pytest.raises(tfattr.ModelError, match="several outputs"):
        tfattr.Saliency(model).explain(x)
    a = tfattr.Saliency(model, output_index="logits").explain(x, target=1)
    b = tfattr.Saliency(logits).explain(x, target=1)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_hub_keras_layer_inside_a_tf_keras_model(tmp_path, x):
    import tensorflow_hub as hub
    import tf_keras

    tf.saved_model.save(toy_models._Module(toy_models.cnn_weights()), str(tmp_path))
    model = tf_keras.Sequential([tf_keras.Input(toy_models.SHAPE), hub.KerasLayer(str(tmp_path))])
    attr = tfattr.Saliency(model, abs=False).explain(x, target=2)
    expected = tfattr.Saliency(toy_models.cnn("callable"), abs=False).explain(x, target=2)
    np.testing.assert_allclose(attr, expected, atol=1e-5)


def test_non_models_are_rejected():
    with pytest.raises(TypeError, match="tfattr.models.load"):
        tfattr.Saliency("vgg16")
    with pytest.raises(ValueError, match="output"):
        tfattr.Saliency(toy_models.cnn("callable"), output="softmax")
