"""DeepLift: summation-to-delta on many layer kinds, agreement with IG/gradients where exact."""

import keras
import numpy as np
import pytest
import toy_models

import tfattr
from tfattr.core import baselines

SHAPE = (10, 10, 3)


def network(kind, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(SHAPE)
    if kind == "relu_maxpool":
        h = keras.layers.Conv2D(6, 3, activation="relu")(inputs)
        h = keras.layers.MaxPooling2D(2)(h)
        h = keras.layers.Conv2D(4, 2)(h)
        h = keras.layers.ReLU()(h)
    elif kind == "overlapping_maxpool":
        h = keras.layers.Conv2D(5, 3)(inputs)
        h = keras.layers.MaxPooling2D(3, strides=1)(h)
        h = keras.layers.GlobalMaxPooling2D()(h)
    elif kind == "avgpool_sigmoid_tanh":
        h = keras.layers.Conv2D(6, 3, activation="sigmoid")(inputs)
        h = keras.layers.AveragePooling2D(2)(h)
        h = keras.layers.Activation("tanh")(keras.layers.Conv2D(4, 2)(h))
    elif kind == "batchnorm":
        h = keras.layers.Conv2D(6, 3)(inputs)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Activation("relu")(h)
        h = keras.layers.GlobalAveragePooling2D()(h)
    elif kind == "smooth_activations":
        h = keras.layers.Conv2D(6, 3, activation="softplus")(inputs)
        h = keras.layers.Conv2D(6, 3, activation="elu")(h)
        h = keras.layers.Conv2D(6, 3, activation="swish")(h)
        h = keras.layers.LeakyReLU(negative_slope=0.2)(h)
        h = keras.layers.Activation("gelu")(h)
    h = keras.layers.Flatten()(h)
    outputs = keras.layers.Dense(3, activation="softmax")(
        keras.layers.Dense(8, activation="tanh")(h)
    )
    model = keras.Model(inputs, outputs)
    if kind == "batchnorm":  # non-trivial inference statistics
        bn = next(
            layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
        )
        rng = np.random.default_rng(seed)
        bn.set_weights(
            [
                rng.uniform(0.5, 2, 6),
                rng.normal(0, 1, 6),
                rng.normal(0, 1, 6),
                rng.uniform(0.5, 2, 6),
            ]
        )
    return model


KINDS = [
    "relu_maxpool",
    "overlapping_maxpool",
    "avgpool_sigmoid_tanh",
    "batchnorm",
    "smooth_activations",
]


@pytest.mark.parametrize("kind", KINDS)
def test_summation_to_delta(kind):
    model = network(kind)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, *SHAPE)).astype("f4")
    baseline = rng.normal(size=SHAPE).astype("f4") * 0.5
    attr, delta = tfattr.DeepLift(model).explain(
        x, target=[0, 1, 2, 0], baseline=baseline, return_convergence_delta=True
    )
    adapter = tfattr.ModelAdapter(model)
    f_x = adapter(x).numpy()[np.arange(4), [0, 1, 2, 0]]
    f_b = adapter(np.broadcast_to(baseline, x.shape)).numpy()[np.arange(4), [0, 1, 2, 0]]
    np.testing.assert_allclose(attr.numpy().sum(axis=(1, 2, 3)), f_x - f_b, atol=2e-4)
    np.testing.assert_allclose(delta, 0, atol=2e-4)
    # DeepLift is not the gradient: the rules change something on these nonlinear nets.
    ixg = tfattr.InputXGradient(model).explain(x - baseline, target=[0, 1, 2, 0])
    assert np.abs(attr - ixg).max() > 1e-4


@pytest.mark.parametrize("kind", ["relu_maxpool", "overlapping_maxpool", "smooth_activations"])
def test_one_shared_baseline_equals_the_same_baseline_for_every_image(kind):
    # A shared baseline goes through the model as one row that the rules broadcast; a per-image
    # stack goes row by row. Same numbers, and each sums to F(x) - F(b) with its own baselines.
    model = network(kind)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, *SHAPE)).astype("f4")
    baseline = rng.normal(size=SHAPE).astype("f4")
    shared = tfattr.DeepLift(model).explain(x, target=1, baseline=baseline)
    per_image = np.stack([baseline] * 3)
    stacked = tfattr.DeepLift(model).explain(x, target=1, baseline=baselines.per_image(per_image))
    np.testing.assert_allclose(shared, stacked, rtol=1e-5, atol=1e-6)
    own = rng.normal(size=(3, *SHAPE)).astype("f4")
    _, delta = tfattr.DeepLift(model).explain(
        x, target=1, baseline=baselines.per_image(own), return_convergence_delta=True
    )
    np.testing.assert_allclose(delta, 0, atol=2e-4)


class ValueDependent(keras.Model):
    """Applies an extra ReLU on every other call: its two passes differ."""

    def __init__(self):
        super().__init__()
        self.conv = keras.layers.Conv2D(2, 3, activation="relu")
        self.relu = keras.layers.ReLU()
        self.head = keras.layers.Dense(2)
        self.calls = 0

    def call(self, x):
        self.calls += 1
        h = self.conv(x)
        if self.calls % 2 == 0:
            h = self.relu(h)
        return self.head(keras.layers.Flatten()(h))


def test_a_model_that_treats_inputs_and_baselines_differently_is_refused():
    model = ValueDependent()
    model(np.zeros((1, *SHAPE), "f4"))
    model(np.zeros((1, *SHAPE), "f4"))
    with pytest.raises(tfattr.ModelError, match="more nonlinearities to the inputs"):
        tfattr.DeepLift(model).explain(np.ones((1, *SHAPE), "f4"), target=0)


def test_equals_integrated_gradients_on_a_linear_model():
    model = toy_models.linear_model(softmax=True)
    x = np.random.default_rng(2).normal(size=(3, *toy_models.SHAPE)).astype("f4")
    dl = tfattr.DeepLift(model).explain(x, target=2, baseline="white")
    ig = tfattr.IntegratedGradients(model, steps=2).explain(x, target=2, baseline="white")
    np.testing.assert_allclose(dl, ig, atol=1e-5)


def test_equals_difference_times_gradient_where_the_relus_do_not_switch():
    # Input and baseline on the same side of every ReLU: the network is linear between them.
    model = toy_models.cnn("sequential", seed=4)
    x = np.random.default_rng(3).uniform(0.5, 1, size=(2, *toy_models.SHAPE)).astype("f4")
    baseline = x * 0.999
    adapter = tfattr.ModelAdapter(model)
    inner = keras.Model(model.inputs[0], model.get_layer("conv").output)
    assert np.array_equal(inner(x).numpy() > 0, inner(baseline).numpy() > 0)
    dl = tfattr.DeepLift(model).explain(x, target=1, baseline=baseline[:1])
    grad = tfattr.Saliency(adapter.model, abs=False).explain(x, target=1).numpy()
    np.testing.assert_allclose(dl[:1], (x[:1] - baseline[:1]) * grad[:1], rtol=1e-3, atol=1e-7)


def test_max_pool_rule_sends_the_difference_to_the_right_argmax():
    # One 2x2 window: out = max(x). Input argmax at (0,0), reference argmax at (1,1).
    inputs = keras.Input((2, 2, 1))
    model = keras.Model(inputs, keras.layers.Flatten()(keras.layers.MaxPooling2D(2)(inputs)))
    x = np.array([[3.0, 1.0], [0.0, 2.0]], "f4").reshape(1, 2, 2, 1)
    ref = np.array([[0.0, 0.0], [0.0, 5.0]], "f4").reshape(2, 2, 1)
    attr = tfattr.DeepLift(model, output="raw").explain(x, target=0, baseline=ref).numpy()
    # out = 3 < out_ref = 5: the whole -2 goes to the reference's argmax (1,1).
    np.testing.assert_allclose(attr.reshape(2, 2), [[0, 0], [0, -2]], atol=1e-6)
    ref2 = np.array([[1.0, 0.0], [0.0, 0.0]], "f4").reshape(2, 2, 1)
    attr2 = tfattr.DeepLift(model, output="raw").explain(x, target=0, baseline=ref2).numpy()
    np.testing.assert_allclose(attr2.reshape(2, 2), [[2, 0], [0, 0]], atol=1e-6)


def test_deeplift_shap_averages_deeplift_over_baselines():
    model = network("relu_maxpool")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, *SHAPE)).astype("f4")
    stack = rng.normal(size=(3, *SHAPE)).astype("f4")
    shap, delta = tfattr.DeepLiftShap(model, baselines=stack).explain(
        x, target=1, return_convergence_delta=True
    )
    single = [tfattr.DeepLift(model, baseline=b).explain(x, target=1).numpy() for b in stack]
    np.testing.assert_allclose(shap, np.mean(single, axis=0), atol=1e-5)
    np.testing.assert_allclose(delta, 0, atol=2e-4)


def test_unknown_nonlinear_layers_warn_and_inner_softmax_is_refused():
    inputs = keras.Input((4,))
    h = keras.layers.Dense(4)(inputs)
    h = keras.layers.Multiply()([h, h])
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    x = np.ones((1, 4), "f4")
    with pytest.raises(ValueError, match="one image"):
        tfattr.DeepLift(model).explain(x)  # not an image model: refused by the input check
    inputs = keras.Input((2, 2, 1))
    h = keras.layers.Flatten()(inputs)
    h = keras.layers.Dense(4)(h)
    h = keras.layers.Multiply()([h, h])
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    with pytest.warns(UserWarning, match="no rule for.*Multiply"):
        tfattr.DeepLift(model).explain(np.ones((1, 2, 2, 1), "f4"), target=0)
    inputs = keras.Input((2, 2, 1))
    h = keras.layers.Softmax()(keras.layers.Dense(3)(keras.layers.Flatten()(inputs)))
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    with pytest.raises(tfattr.ModelError, match="softmax inside"):
        tfattr.DeepLift(model).explain(np.ones((1, 2, 2, 1), "f4"), target=0)
