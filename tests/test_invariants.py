"""Cross-method invariants: every explainer goes through the same checks.

New methods join by adding one entry to METHODS.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr.core import baselines
from tfattr.methods.cam.layer_cam import LayerCAM
from tfattr.methods.cam.score_cam import ScoreCAM
from tfattr.methods.gradient.blur_ig import BlurIntegratedGradients
from tfattr.methods.gradient.guided_ig import GuidedIntegratedGradients
from tfattr.methods.gradient.xrai import XRAI
from tfattr.methods.perturbation.feature_ablation import FeatureAblation
from tfattr.methods.perturbation.lime import KernelShap, Lime
from tfattr.methods.perturbation.rise import RISE
from tfattr.methods.rules.deconvolution import Deconvolution
from tfattr.methods.rules.lrp import LRP

# name -> (factory(model, **kwargs) -> explainer, random?)
METHODS = {
    "saliency": (lambda m, **k: tfattr.Saliency(m, **k), False),
    "saliency_signed": (lambda m, **k: tfattr.Saliency(m, abs=False, **k), False),
    "input_x_gradient": (lambda m, **k: tfattr.InputXGradient(m, **k), False),
    "integrated_gradients": (lambda m, **k: tfattr.IntegratedGradients(m, steps=7, **k), False),
    "ig_gausslegendre_stack": (
        lambda m, **k: tfattr.IntegratedGradients(
            m,
            steps=3,
            method="gausslegendre",
            baseline=baselines.stack(np.ones((2, 8, 8, 3), "f4") * [[[[0]]], [[[0.5]]]]),
            **k,
        ),
        False,
    ),
    "ig_uniform_baseline": (
        lambda m, **k: tfattr.IntegratedGradients(m, steps=5, baseline="uniform", seed=1, **k),
        False,
    ),
    "gradient_shap": (
        lambda m, **k: tfattr.GradientShap(
            m,
            samples=6,
            stddev=0.1,
            baselines=np.random.default_rng(0).normal(size=(3, 8, 8, 3)).astype("f4"),
            seed=1,
            **k,
        ),
        True,
    ),
    "smoothgrad": (lambda m, **k: tfattr.SmoothGrad(m, samples=5, seed=1, **k), True),
    "noise_tunnel_ig_vargrad": (
        lambda m, **k: tfattr.NoiseTunnel(
            tfattr.IntegratedGradients(m, steps=3, **k), kind="vargrad", samples=3, seed=1
        ),
        True,
    ),
    "guided_backprop": (lambda m, **k: tfattr.GuidedBackprop(m, **k), False),
    "deeplift": (lambda m, **k: tfattr.DeepLift(m, baseline="blur", **k), False),
    "deeplift_shap": (
        lambda m, **k: tfattr.DeepLiftShap(
            m, baselines=np.random.default_rng(1).uniform(size=(3, 8, 8, 3)).astype("f4"), **k
        ),
        False,
    ),
    "gradcam": (lambda m, **k: tfattr.GradCAM(m, relu=False, **k), False),
    "gradcam_layer_resolution": (lambda m, **k: tfattr.GradCAM(m, upsample=False, **k), False),
    "gradcam_plus_plus": (lambda m, **k: tfattr.GradCAMPlusPlus(m, layer="conv", **k), False),
    "guided_gradcam": (lambda m, **k: tfattr.GuidedGradCAM(m, **k), False),
    "occlusion": (lambda m, **k: tfattr.Occlusion(m, window=(3, 3), stride=(2, 2), **k), False),
    "noise_tunnel_saliency_sq": (
        lambda m, **k: tfattr.NoiseTunnel(
            tfattr.Saliency(m, **k), kind="smoothgrad_sq", samples=4, stddev=0.2, seed=1
        ),
        True,
    ),
}

QUADRANTS = (np.arange(8)[:, None] // 4) * 2 + np.arange(8)[None, :] // 4  # 4 segments

# Issue-10 methods: the same invariants.
METHODS.update(
    {
        "deconvolution": (lambda m, **k: Deconvolution(m, **k), False),
        "guided_ig": (lambda m, **k: GuidedIntegratedGradients(m, steps=4, **k), False),
        "blur_ig": (lambda m, **k: BlurIntegratedGradients(m, steps=4, max_sigma=2.0, **k), False),
        "score_cam": (lambda m, **k: ScoreCAM(m, **k), False),
        "layer_cam": (lambda m, **k: LayerCAM(m, **k), False),
        "rise": (lambda m, **k: RISE(m, samples=12, grid_size=3, seed=1, **k), True),
        "lime": (lambda m, **k: Lime(m, samples=12, segments=QUADRANTS, seed=1, **k), True),
        "kernel_shap": (
            lambda m, **k: KernelShap(m, samples=12, segments=QUADRANTS, seed=1, **k),
            True,
        ),
        "feature_ablation": (lambda m, **k: FeatureAblation(m, segments=QUADRANTS, **k), False),
        "xrai": (lambda m, **k: XRAI(m, steps=3, segments=QUADRANTS, min_pixel_diff=1, **k), False),
        "lrp": (lambda m, **k: LRP(m, **k), False),
    }
)
# Issue-27 CAM methods: the same invariants.
METHODS.update(
    {
        "hires_cam": (lambda m, **k: tfattr.HiResCAM(m, **k), False),
        "gradcam_elementwise": (lambda m, **k: tfattr.GradCAMElementWise(m, **k), False),
        "xgrad_cam": (lambda m, **k: tfattr.XGradCAM(m, **k), False),
        "eigen_cam": (lambda m, **k: tfattr.EigenCAM(m, **k), False),
        "eigen_grad_cam": (lambda m, **k: tfattr.EigenGradCAM(m, relu=False, **k), False),
        "ablation_cam": (lambda m, **k: tfattr.AblationCAM(m, **k), False),
        "fullgrad": (lambda m, **k: tfattr.FullGrad(m, **k), False),
    }
)
# Methods that return one map (N, H, W) per image instead of pixels.
MAPS = {
    "score_cam",
    "layer_cam",
    "rise",
    "xrai",
    "hires_cam",
    "gradcam_elementwise",
    "xgrad_cam",
    "eigen_cam",
    "eigen_grad_cam",
    "ablation_cam",
    "fullgrad",
}


@pytest.fixture(scope="module")
def model():
    return toy_models.cnn("functional", seed=3)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(9).uniform(0, 1, size=(3, *toy_models.SHAPE)).astype("float32")


def _explain(name, model, x, target, **kwargs):
    factory, _ = METHODS[name]
    return factory(model, **kwargs).explain(x, target=target)


def expected_shape(name, x):
    if name == "gradcam_layer_resolution":
        return (x.shape[0], 6, 6)  # the conv layer's resolution
    if name.startswith("gradcam") or name in MAPS:
        return x.shape[:3]
    return x.shape


@pytest.mark.parametrize("name", METHODS)
def test_shapes_and_single_image(name, model, x):
    attr = _explain(name, model, x, [0, 1, 2])
    assert attr.shape == expected_shape(name, x) and attr.dtype == tf.float32
    assert np.all(np.isfinite(attr))
    single = _explain(name, model, x[1], 1)
    assert single.shape == expected_shape(name, x)[1:]
    np.testing.assert_allclose(single, attr[1], atol=1e-5)


@pytest.mark.parametrize("name", METHODS)
def test_per_example_targets_equal_one_by_one_calls(name, model, x):
    batched = _explain(name, model, x, [3, 0, 2]).numpy()
    for i, t in enumerate([3, 0, 2]):
        alone = _explain(name, model, x[i : i + 1], t).numpy()
        np.testing.assert_allclose(alone[0], batched[i], atol=1e-5)


@pytest.mark.parametrize("name", METHODS)
def test_default_target_is_the_top_class(name, model, x):
    top = np.argmax(model(x).numpy(), axis=-1)
    np.testing.assert_allclose(
        _explain(name, model, x, None), _explain(name, model, x, top), atol=1e-6
    )


@pytest.mark.parametrize("name", METHODS)
def test_result_does_not_depend_on_batch_size(name, model, x):
    results = [_explain(name, model, x, 1, batch_size=b).numpy() for b in (1, 4, 64)]
    # (To float rounding: TF's CPU kernels without oneDNN round differently per batch size,
    # and Blur IG sums 50 such gradients.)
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", METHODS)
def test_compiled_equals_eager(name, model, x):
    compiled = _explain(name, model, x, [0, 1, 2], batch_size=5).numpy()
    tf.config.run_functions_eagerly(True)
    try:
        eager = _explain(name, model, x, [0, 1, 2], batch_size=5).numpy()
    finally:
        tf.config.run_functions_eagerly(False)
    np.testing.assert_allclose(eager, compiled, atol=1e-5)


@pytest.mark.parametrize("name", METHODS)
def test_xla_equals_default(name, model, x):
    default = _explain(name, model, x, [0, 1, 2]).numpy()
    xla = _explain(name, model, x, [0, 1, 2], jit_compile=True).numpy()
    np.testing.assert_allclose(xla, default, atol=1e-4)


@pytest.mark.parametrize("name", [n for n, (_, random) in METHODS.items() if random])
def test_seeds_reproduce_and_differ(name, model, x):
    factory, _ = METHODS[name]
    explainer = factory(model)
    first = explainer.explain(x, target=1).numpy()
    np.testing.assert_array_equal(explainer.explain(x, target=1).numpy(), first)
    np.testing.assert_array_equal(factory(model).explain(x, target=1).numpy(), first)
    other = explainer.explain(x, target=1, seed=2).numpy()
    assert np.abs(other - first).max() > 1e-4


@pytest.mark.parametrize("name", METHODS)
def test_no_retrace_for_same_shapes(name, model, x):
    factory, _ = METHODS[name]
    explainer = factory(model, batch_size=4)
    explainer.explain(x, target=[0, 1, 2])
    traces = explainer.engine.trace_count
    explainer.explain(x + 0.1, target=[2, 1, 0])
    assert explainer.engine.trace_count == traces
    # More images may pick another chunk layout (compiled once), then it is reused too.
    explainer.explain(np.concatenate([x, x]), target=1)
    assert explainer.engine.trace_count <= traces + 1
    traces = explainer.engine.trace_count
    explainer.explain(np.concatenate([x, x]) + 0.1, target=2)
    assert explainer.engine.trace_count == traces


@pytest.mark.parametrize("name", METHODS)
def test_bad_inputs_are_rejected(name, model, x):
    factory, _ = METHODS[name]
    explainer = factory(model)
    with pytest.raises(ValueError, match=r"target: class index 4 is out of range.*\[0, 3\]"):
        explainer.explain(x, target=4)
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="inputs: 1 values are NaN"):
        explainer.explain(bad)
    with pytest.raises(ValueError, match="model expects"):
        explainer.explain(np.zeros((1, 9, 9, 3)))
    with pytest.raises(TypeError, match="unknown option"):
        explainer.explain(x, stepz=3)


@pytest.mark.parametrize("name", METHODS)
def test_user_model_is_unchanged_also_after_a_failure(name, x, monkeypatch):
    """A forward pass that fails midway (while tfattr's overrides are active) leaves the model
    as it was: no instance attribute added, the same activations, the same outputs."""
    from tfattr.core import overrides

    model = toy_models.cnn("nested", seed=4)
    before = model(x).numpy()
    factory, _ = METHODS[name]
    explainer = factory(model)
    forward, mirrored, calls = explainer.adapter._forward, overrides.forward, []

    def broken(run):
        def call(*args, **kwargs):  # the probe passes; the method's own passes fail midway
            calls.append(1)
            if len(calls) > 1:
                raise RuntimeError("device lost")
            return run(*args, **kwargs)

        return call

    monkeypatch.setattr(explainer.adapter, "_forward", broken(forward))
    monkeypatch.setattr(overrides, "forward", broken(mirrored))
    with pytest.raises(RuntimeError, match="device lost"):
        explainer.explain(x, target=1)
    for _, layer in tfattr.core.layers.walk(model):
        assert "call" not in vars(layer), layer.name
    np.testing.assert_array_equal(model(x).numpy(), before)
    assert model.get_layer("base").get_layer("conv").activation is keras.activations.relu


# --- Beyond the shared invariants, for the issue-10 methods ---


@pytest.mark.parametrize("name", ["rise", "lime", "lrp", "xrai"])
def test_draws_through_viz(name, model, x):
    import matplotlib

    matplotlib.use("Agg")
    from tfattr import viz

    attr = _explain(name, model, x[:1], 1)[0]
    figure, _ = viz.visualize(attr, x[0], method="blended_heat_map", use_pyplot=False)
    assert figure is not None


@pytest.mark.parametrize(
    "name", ["guided_ig", "blur_ig", "rise", "lime", "kernel_shap", "feature_ablation", "xrai"]
)
def test_forward_and_gradient_methods_work_on_opaque_models(name, model, x):
    opaque = toy_models.cnn("callable", seed=3)  # the fixture's weights, as a plain function
    np.testing.assert_allclose(
        _explain(name, opaque, x[:1], 2), _explain(name, model, x[:1], 2), atol=1e-4
    )
