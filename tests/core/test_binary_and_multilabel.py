"""Binary sigmoid classifiers have classes 0 and 1; multi-label sigmoid models explain logits."""

import keras
import numpy as np
import pytest
import toy_models

import tfattr


def sigmoid_model(units, activation="sigmoid", seed=0):
    kernel, bias = toy_models.linear_weights(classes=units, seed=seed)
    model = keras.Sequential(
        [
            keras.Input(toy_models.SHAPE),
            keras.layers.Flatten(),
            keras.layers.Dense(units, activation=activation),
        ]
    )
    model.layers[-1].set_weights([kernel, bias])
    return model, kernel.reshape(*toy_models.SHAPE, units), bias


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(2).normal(size=(3, *toy_models.SHAPE)).astype("float32")


def test_binary_model_class_1_is_its_logit_and_class_0_the_negative(x):
    model, w, _ = sigmoid_model(1)
    saliency = tfattr.Saliency(model, abs=False)
    np.testing.assert_allclose(saliency.explain(x, target=1), np.stack([w[..., 0]] * 3), atol=1e-6)
    np.testing.assert_allclose(saliency.explain(x, target=0), -np.stack([w[..., 0]] * 3), atol=1e-6)
    with pytest.raises(ValueError, match="target"):
        saliency.explain(x, target=2)
    assert model.layers[-1].activation.__name__ == "sigmoid"  # the user's model is untouched


def test_binary_probabilities_are_p_and_one_minus_p(x):
    model, w, _ = sigmoid_model(1)
    p = model(x).numpy()[:, 0]
    saliency = tfattr.Saliency(model, abs=False, output="probabilities")
    slope = (p * (1 - p))[:, None, None, None]
    np.testing.assert_allclose(saliency.explain(x, target=1), slope * w[None, ..., 0], atol=1e-6)
    np.testing.assert_allclose(saliency.explain(x, target=0), -slope * w[None, ..., 0], atol=1e-6)
    # A single-logit model without its own sigmoid gets one for "probabilities".
    logits, _, _ = sigmoid_model(1, activation=None)
    plain = tfattr.Saliency(logits, abs=False, output="probabilities").explain(x, target=1)
    np.testing.assert_allclose(plain, slope * w[None, ..., 0], atol=1e-6)


def test_binary_negative_class_is_complete_under_integrated_gradients(x):
    model, _, _ = sigmoid_model(1)
    attr, delta = tfattr.IntegratedGradients(model, steps=4).explain(
        x, target=0, return_convergence_delta=True
    )
    np.testing.assert_allclose(delta, 0.0, atol=1e-4)  # linear logit: exact at any steps
    kernel, bias = model.layers[-1].get_weights()
    logit = x.reshape(3, -1) @ kernel[:, 0] + bias[0]
    # Class 0's score is -z: its attributions sum to -(z(x) - z(black)) = -(z(x) - bias).
    np.testing.assert_allclose(attr.numpy().sum(axis=(1, 2, 3)), -(logit - bias[0]), atol=1e-4)


def test_multilabel_sigmoid_explains_each_label_logit(x):
    model, w, _ = sigmoid_model(3)
    saliency = tfattr.Saliency(model, abs=False)
    for label in range(3):
        np.testing.assert_allclose(
            saliency.explain(x, target=label), np.stack([w[..., label]] * 3), atol=1e-6
        )
    probabilities = model(x).numpy()
    scores = tfattr.core.adapt(model)(x).numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-scores)), probabilities, atol=1e-6)
