"""LRP: conservation, LRP-0 = input x gradient, BN folding, fused activations, presets."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import toy_models

from tfattr.errors import OpaqueModelError
from tfattr.methods.rules.lrp import LRP


def relu_net(bias=False, seed=0):
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu", use_bias=bias, name="c1")(inputs)
    h = keras.layers.Conv2D(4, 3, use_bias=bias, name="c2")(h)
    h = keras.layers.ReLU(name="r2")(h)
    h = keras.layers.MaxPooling2D(name="pool")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(6, activation="relu", use_bias=bias, name="d1")(h)
    model = keras.Model(inputs, keras.layers.Dense(3, use_bias=bias, name="d2")(h))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("f4") for w in model.get_weights()])
    return model


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(1).uniform(size=(2, 8, 8, 3)).astype("f4")


def test_epsilon_conserves_relevance_layer_by_layer(x):
    explainer = LRP(relu_net(), rule="epsilon", epsilon=1e-9)
    sums = explainer.relevance_by_layer(x, [0, 2])
    assert list(sums)[1:] == ["d2", "d1", "r2", "c2", "c1"]
    for name, total in sums.items():
        np.testing.assert_allclose(total, sums["output"], rtol=1e-4, err_msg=name)
    attr = explainer.explain(x, [0, 2]).numpy()
    np.testing.assert_allclose(attr.sum((1, 2, 3)), sums["output"], rtol=1e-4)


def test_lrp_zero_is_input_times_gradient_on_a_relu_net(x):
    model = relu_net(seed=2)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        score = tf.reduce_sum(model(xt)[:, 1])
    expected = (xt * tape.gradient(score, xt)).numpy()
    got = LRP(model, rule="epsilon", epsilon=1e-9).explain(x, 1).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_batch_norm_is_folded_into_the_preceding_conv(x):
    rng = np.random.default_rng(3)
    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3, name="conv")
    bn = keras.layers.BatchNormalization(name="bn")
    dense = keras.layers.Dense(3, name="dense")
    h = keras.layers.Flatten()(keras.layers.ReLU()(bn(conv(inputs))))
    model = keras.Model(inputs, dense(h))
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("f4") for w in model.get_weights()])
    bn.set_weights([w if i != 3 else np.abs(w) + 0.5 for i, w in enumerate(bn.get_weights())])
    gamma, beta, mean, variance = bn.get_weights()
    scale = gamma / np.sqrt(variance + bn.epsilon)
    kernel, bias = conv.get_weights()
    folded_in = keras.Input((8, 8, 3))
    folded_conv = keras.layers.Conv2D(4, 3, activation="relu")
    folded = keras.Model(folded_in, dense(keras.layers.Flatten()(folded_conv(folded_in))))
    folded_conv.set_weights([kernel * scale, (bias - mean) * scale + beta])
    np.testing.assert_allclose(folded(x), model(x), atol=1e-4)
    for rule in ("epsilon", "epsilon_gamma_box"):
        np.testing.assert_allclose(
            LRP(model, rule=rule).explain(x, 1), LRP(folded, rule=rule).explain(x, 1), atol=1e-4
        )


def test_presets_run_and_alpha1beta0_is_positive_after_the_first_layer(x):
    model = relu_net(bias=True, seed=4)
    for rule in ("gamma", "alpha1beta0", "epsilon_gamma_box", "epsilon_plus_flat"):
        attr = LRP(model, rule=rule).explain(x, 0).numpy()
        assert attr.shape == x.shape and np.all(np.isfinite(attr))
    sums = LRP(model, rule="alpha1beta0").relevance_by_layer(x, 0)
    score = sums["output"].numpy()
    positive = score > 0
    # alpha1-beta0 with no bias term conserves the positive part of the score.
    np.testing.assert_allclose(sums["c1"].numpy()[positive], score[positive], rtol=1e-3)


def test_opaque_models_and_bad_rules_are_refused():
    with pytest.raises(OpaqueModelError):
        LRP(toy_models.cnn("callable"))
    with pytest.raises(ValueError, match="rule"):
        LRP(relu_net(), rule="z_plus")


def numpy_lrp(weights, x, target, rule, gamma=0.25):
    """Reference LRP for a Dense-ReLU-Dense net without biases, by the formulas."""
    w1, w2 = weights
    a = x.reshape(len(x), -1).astype("f8")
    h = np.maximum(a @ w1, 0)
    relevance = np.zeros((len(x), w2.shape[1]))
    relevance[:, target] = (h @ w2)[:, target]

    def step(inputs, w, r):
        if rule == "gamma":
            wg = w + gamma * np.maximum(w, 0)
            return inputs * ((r / (inputs @ wg + 1e-9)) @ wg.T)
        wp, wn = np.maximum(w, 0), np.minimum(w, 0)
        ap, an = np.maximum(inputs, 0), np.minimum(inputs, 0)
        z = ap @ wp + an @ wn
        s = r / (z + 1e-9 * np.where(z >= 0, 1, -1))
        return ap * (s @ wp.T) + an * (s @ wn.T)

    return step(a, w1, step(h, w2, relevance)).reshape(x.shape)


@pytest.mark.parametrize(("rule", "name"), [("gamma", "gamma"), ("alpha1beta0", "alpha_beta")])
def test_gamma_and_alpha_beta_follow_the_formulas(rule, name):
    rng = np.random.default_rng(5)
    model = keras.Sequential(
        [
            keras.Input((2, 2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dense(5, activation="relu", use_bias=False),
            keras.layers.Dense(3, use_bias=False),
        ]
    )
    weights = [rng.normal(size=(8, 5)).astype("f4"), rng.normal(size=(5, 3)).astype("f4")]
    model.set_weights(weights)
    x = rng.normal(size=(3, 2, 2, 2)).astype("f4")  # signed inputs exercise both parts
    got = LRP(model, rule=rule).explain(x, 1).numpy()
    np.testing.assert_allclose(got, numpy_lrp(weights, x, 1, name), rtol=1e-3, atol=1e-5)


def test_global_average_pooling_conserves_relevance(x):
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, activation="relu", use_bias=False, name="conv")(inputs)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    model = keras.Model(inputs, keras.layers.Dense(3, use_bias=False, name="dense")(h))
    sums = LRP(model, rule="epsilon", epsilon=1e-9).relevance_by_layer(x, 2)
    assert "gap" in sums
    for name, total in sums.items():
        np.testing.assert_allclose(total, sums["output"], rtol=1e-4, err_msg=name)


def test_a_fused_final_softmax_stays_removed(x):
    model = relu_net(seed=6)
    fused = keras.models.clone_model(model)
    fused.set_weights(model.get_weights())
    fused.get_layer("d2").activation = keras.activations.softmax
    for rule in ("epsilon", "epsilon_gamma_box"):
        np.testing.assert_allclose(
            LRP(fused, rule=rule).explain(x, 1), LRP(model, rule=rule).explain(x, 1), atol=1e-5
        )
