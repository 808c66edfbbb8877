"""The user's model is never altered, and threads sharing a model get the serial results.

Overrides (softmax removal, taps, activation rules) run on a mirror tfattr owns
(tfattr.core.overrides); these tests hold that with real threads, also when calls fail.
"""

import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr.core import overrides

THREADS = 4


def relu_softmax_cnn(seed=0):
    """Every override kind at once: activation layers, a fused relu, a final fused softmax."""
    rng = np.random.default_rng(seed)
    inputs = keras.Input(toy_models.SHAPE)
    h = keras.layers.Conv2D(6, 3, activation="relu", name="c1")(inputs)
    h = keras.layers.Conv2D(5, 3, name="c2")(h)
    h = keras.layers.ReLU(name="r2")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    outputs = keras.layers.Dense(toy_models.CLASSES, activation="softmax", name="dense")(h)
    model = keras.Model(inputs, outputs)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.weights])
    return model


def snapshot(model, x):
    """Everything a user could observe: weights, each layer's attributes, the outputs."""
    layers = [layer for _, layer in tfattr.core.layers.walk(model)]
    return {
        "weights": [w.copy() for w in model.get_weights()],
        "attributes": [(layer.name, sorted(vars(layer))) for layer in layers],
        "calls": [
            (vars(layer).get("call"), getattr(layer, "activation", None)) for layer in layers
        ],
        "output": model(x).numpy(),
    }


def assert_unaltered(before, after):
    for a, b in zip(before["weights"], after["weights"], strict=True):
        np.testing.assert_array_equal(a, b)
    assert before["attributes"] == after["attributes"]
    assert before["calls"] == after["calls"]
    np.testing.assert_array_equal(before["output"], after["output"])


EXPLAINERS = {
    "saliency": lambda m: tfattr.Saliency(m),
    "guided_backprop": lambda m: tfattr.GuidedBackprop(m),
    "deeplift": lambda m: tfattr.DeepLift(m),
    "gradcam": lambda m: tfattr.GradCAM(m, layer="c2"),
    "gradcam_default": lambda m: tfattr.GradCAM(m),
    "lrp": lambda m: tfattr.LRP(m),
    "deconvolution": lambda m: tfattr.Deconvolution(m),
}


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(3).normal(size=(3, *toy_models.SHAPE)).astype("float32")


def run_threads(fn, n=THREADS):
    results, errors = [None] * n, []
    barrier = threading.Barrier(n)

    def work(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as error:  # noqa: BLE001 - collected and re-raised below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


@pytest.mark.parametrize("name", sorted(EXPLAINERS))
def test_threads_sharing_one_explainer_get_the_serial_result(name, x):
    model = relu_softmax_cnn()
    before = snapshot(model, x)
    serial = EXPLAINERS[name](relu_softmax_cnn()).explain(x, target=[0, 1, 2]).numpy()
    explainer = EXPLAINERS[name](model)
    results, errors = run_threads(lambda i: explainer.explain(x, target=[0, 1, 2]).numpy())
    assert not errors, errors
    for result in results:
        np.testing.assert_allclose(result, serial, rtol=1e-6, atol=1e-7)
    assert_unaltered(before, snapshot(model, x))


def test_threads_with_their_own_explainers_on_one_model(x):
    model = relu_softmax_cnn()
    before = snapshot(model, x)
    names = sorted(EXPLAINERS)
    serial = {
        n: EXPLAINERS[n](relu_softmax_cnn()).explain(x, target=[0, 1, 2]).numpy() for n in names
    }
    results, errors = run_threads(
        lambda i: {
            n: EXPLAINERS[n](model).explain(x, target=[0, 1, 2]).numpy()
            for n in names[i % 2 :] + names[: i % 2]
        }
    )
    assert not errors, errors
    for result in results:
        for n in names:
            np.testing.assert_allclose(result[n], serial[n], rtol=1e-6, atol=1e-7, err_msg=n)
    assert_unaltered(before, snapshot(model, x))


def _resolving_together(monkeypatch, threads):
    """Makes ``threads`` threads resolving a CAM layer all miss the memo before any stores."""
    from tfattr.core import layers

    barrier, find = threading.Barrier(threads), layers._find_cam_layer

    def find_together(*args):
        barrier.wait(timeout=30)
        return find(*args)

    monkeypatch.setattr(layers, "_find_cam_layer", find_together)


def test_threads_resolving_a_cam_layer_at_once_get_one_object(monkeypatch):
    from tfattr.core import layers

    adapter = tfattr.adapt(relu_softmax_cnn())
    _resolving_together(monkeypatch, 2)
    results, errors = run_threads(
        lambda i: layers.cam_layer(adapter, "c2", None, toy_models.SHAPE), n=2
    )
    assert not errors, errors
    assert results[0] is results[1]
    assert layers.cam_layer(adapter, "c2", None, toy_models.SHAPE) is results[0]


def test_cam_layers_whose_ids_coincide_share_no_compiled_step(monkeypatch, x):
    """An id is reused once its object is freed (a CAM layer left out of the memo by a race,
    its step keyed by its id, gave Grad-CAM's default layer the map of layer 'c2'). Every id
    the CAM methods take is made equal here: their steps must be keyed by the layers."""
    from tfattr.methods.cam import ablation_cam, gradcam

    serial = {
        name: EXPLAINERS[name](relu_softmax_cnn()).explain(x, target=[0, 1, 2]).numpy()
        for name in ("gradcam", "gradcam_default")
    }
    ablation = {
        layer: tfattr.AblationCAM(relu_softmax_cnn(), layer=layer).explain(x, target=[0, 1, 2])
        for layer in ("c2", "r2")
    }
    for module in (gradcam, ablation_cam):
        monkeypatch.setattr(module, "id", lambda obj: 0, raising=False)
    model = relu_softmax_cnn()
    for name in ("gradcam", "gradcam_default"):
        result = EXPLAINERS[name](model).explain(x, target=[0, 1, 2])
        np.testing.assert_allclose(result, serial[name], rtol=1e-6, atol=1e-7, err_msg=name)
    for layer in ("c2", "r2"):
        result = tfattr.AblationCAM(model, layer=layer).explain(x, target=[0, 1, 2])
        np.testing.assert_allclose(result, ablation[layer], rtol=1e-6, atol=1e-7, err_msg=layer)


def test_failing_concurrent_calls_leave_the_model_unaltered(x):
    model = relu_softmax_cnn()
    before = snapshot(model, x)

    def call(i):
        explainer = EXPLAINERS["guided_backprop" if i % 2 else "gradcam"](model)
        with pytest.raises(ValueError, match="target"):
            explainer.explain(x, target=[0, 1, 99])  # out of range: fails
        return explainer.explain(x, target=[0, 1, 2]).numpy()

    results, errors = run_threads(call)
    assert not errors, errors
    assert_unaltered(before, snapshot(model, x))


def test_user_thread_calling_the_model_during_tracing_sees_it_unaltered(x):
    """While tfattr traces its first call (softmax removed, rules on), the user's model(x) in
    another thread returns the model's own probabilities."""
    model = relu_softmax_cnn()
    expected = model(x).numpy()
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def pausing_rule(fn, name):  # a guided-backprop-like rule that pauses inside tfattr's trace
        def paused(t):
            if not inside.is_set():
                inside.set()
                release.wait(30)
            return fn(t)

        return paused

    class Paused(tfattr.core.explainer.ActivationRuleExplainer):
        rule = staticmethod(pausing_rule)

    explainer = Paused(model)
    worker = threading.Thread(target=lambda: explainer.explain(x, target=[0, 1, 2]))
    worker.start()
    assert inside.wait(30)
    seen["output"] = model(x).numpy()  # the user's call, mid-trace
    seen["activation"] = model.get_layer("dense").activation
    release.set()
    worker.join()
    np.testing.assert_array_equal(seen["output"], expected)
    np.testing.assert_allclose(seen["output"].sum(-1), 1.0, atol=1e-6)  # still probabilities
    assert seen["activation"].__name__ == "softmax"


def test_mirror_is_built_once_per_model_and_reaches_nested_layers(x):
    model = toy_models.cnn("nested")
    built = overrides.mirror(model)
    assert built is overrides.mirror(model)
    conv = model.get_layer("base").get_layer("conv")
    assert id(conv) in built.reached  # a layer of the nested Functional model
    cam = tfattr.GradCAM(model, layer="base/conv").explain(x, target=[0, 1, 2])
    assert cam.shape == (3, 8, 8)


def test_subclassed_models_take_the_locked_transient_path(x):
    model = toy_models.cnn("subclassed")
    assert overrides.mirror(model) is None
    before = snapshot(model, x)
    explainer = tfattr.GuidedBackprop(model)
    serial = explainer.explain(x, target=[0, 1, 2]).numpy()
    results, errors = run_threads(lambda i: explainer.explain(x, target=[0, 1, 2]).numpy())
    assert not errors, errors
    for result in results:
        np.testing.assert_allclose(result, serial, rtol=1e-6, atol=1e-7)
    assert_unaltered(before, snapshot(model, x))


def test_activation_twin_leaves_the_layer_untouched(x):
    layer = keras.layers.Dense(3, activation="relu")
    layer.build((None, 4))
    before = dict(vars(layer))
    linear = overrides.with_activation(layer, keras.activations.linear)
    v = tf.constant(np.random.default_rng(0).normal(size=(5, 4)), tf.float32)
    expected = v @ layer.kernel + layer.bias
    np.testing.assert_allclose(linear(v), expected, atol=1e-6)
    assert dict(vars(layer)) == before
    layer.kernel.assign(layer.kernel * 2)  # the twin reads the live weights
    np.testing.assert_allclose(linear(v), v @ layer.kernel + layer.bias, atol=1e-6)


@pytest.mark.parametrize("kind", ["tf_keras", "sequential", "nested"])
def test_layer_methods_on_every_rebuildable_kind(kind, x):
    model = toy_models.cnn(kind)
    reference = toy_models.cnn("functional")
    for factory in (EXPLAINERS["gradcam_default"], EXPLAINERS["guided_backprop"]):
        np.testing.assert_allclose(
            factory(model).explain(x, target=[0, 1, 2]),
            factory(reference).explain(x, target=[0, 1, 2]),
            atol=1e-5,
        )
    assert overrides.mirror(model) is not None
