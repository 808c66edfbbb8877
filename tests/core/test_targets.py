"""Every kind of target, on small models whose answer is known: class ids, one-hot / multi-hot /
weight vectors, callables (regression, segmentation regions), for every registered method."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr import registry
from tfattr.core import model_cache
from tfattr.core import targets as target_kinds
from tfattr.errors import ModelError

# Few steps and samples keep the runs short; the completeness warnings that follow are expected.
pytestmark = pytest.mark.filterwarnings("ignore::tfattr.core.convergence.ConvergenceWarning")


def _stripes(size):
    """Segments: vertical stripes 4 pixels wide."""
    return np.broadcast_to(np.arange(size)[None, :] // 4, (size, size))


# Every registered explainer class, with small options: class name -> factory(model, image size).
FACTORIES = {
    "Saliency": lambda m, s=8: tfattr.Saliency(m, abs=False),
    "InputXGradient": lambda m, s=8: tfattr.InputXGradient(m),
    "IntegratedGradients": lambda m, s=8: tfattr.IntegratedGradients(m, steps=5),
    "SmoothGrad": lambda m, s=8: tfattr.SmoothGrad(m, samples=3, seed=1),
    "GradientShap": lambda m, s=8: tfattr.GradientShap(
        m, samples=4, baselines=np.zeros((2, s, s, 3), "f4") + [[[[0.0]]], [[[0.5]]]], seed=1
    ),
    "ExpectedGradients": lambda m, s=8: tfattr.ExpectedGradients(
        m, samples=4, baselines=np.zeros((2, s, s, 3), "f4"), seed=1
    ),
    "DeepLift": lambda m, s=8: tfattr.DeepLift(m),
    "DeepLiftShap": lambda m, s=8: tfattr.DeepLiftShap(
        m, baselines=np.random.default_rng(1).uniform(size=(2, s, s, 3)).astype("f4")
    ),
    "GuidedBackprop": lambda m, s=8: tfattr.GuidedBackprop(m),
    "Deconvolution": lambda m, s=8: tfattr.Deconvolution(m),
    "LRP": lambda m, s=8: tfattr.LRP(m),
    "GradCAM": lambda m, s=8: tfattr.GradCAM(m, relu=False),
    "GradCAMPlusPlus": lambda m, s=8: tfattr.GradCAMPlusPlus(m),
    "GuidedGradCAM": lambda m, s=8: tfattr.GuidedGradCAM(m),
    "LayerCAM": lambda m, s=8: tfattr.LayerCAM(m),
    "ScoreCAM": lambda m, s=8: tfattr.ScoreCAM(m, softmax=False, relu=False),
    "HiResCAM": lambda m, s=8: tfattr.HiResCAM(m, relu=False),
    "GradCAMElementWise": lambda m, s=8: tfattr.GradCAMElementWise(m),
    "XGradCAM": lambda m, s=8: tfattr.XGradCAM(m, relu=False),
    "EigenCAM": lambda m, s=8: tfattr.EigenCAM(m),
    "EigenGradCAM": lambda m, s=8: tfattr.EigenGradCAM(m, relu=False),
    "AblationCAM": lambda m, s=8: tfattr.AblationCAM(m, relu=False),
    "FullGrad": lambda m, s=8: tfattr.FullGrad(m),
    "BlurIntegratedGradients": lambda m, s=8: tfattr.BlurIntegratedGradients(
        m, steps=4, max_sigma=2.0
    ),
    "GuidedIntegratedGradients": lambda m, s=8: tfattr.GuidedIntegratedGradients(m, steps=4),
    "FeatureAblation": lambda m, s=8: tfattr.FeatureAblation(m, segments=_stripes(s)),
    "Lime": lambda m, s=8: tfattr.Lime(m, samples=12, segments=_stripes(s), seed=1),
    "KernelShap": lambda m, s=8: tfattr.KernelShap(m, samples=12, segments=_stripes(s), seed=1),
    "RISE": lambda m, s=8: tfattr.RISE(m, samples=12, grid_size=3, seed=1),
    "XRAI": lambda m, s=8: tfattr.XRAI(m, steps=3, segments=_stripes(s), min_pixel_diff=1),
    "Occlusion": lambda m, s=8: tfattr.Occlusion(m, window=(3, 3), stride=(2, 2)),
    "NoiseTunnel": lambda m, s=8: tfattr.NoiseTunnel(
        tfattr.IntegratedGradients(m, steps=3), kind="vargrad", samples=3, seed=1
    ),
    "Activations": lambda m, s=8: tfattr.Activations(m),
}


def test_every_registered_class_is_covered():
    assert set(FACTORIES) == set(registry.CLASSES)


@pytest.fixture(scope="module")
def model():
    return toy_models.cnn("functional", seed=3)


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(9).uniform(0, 1, size=(3, *toy_models.SHAPE)).astype("float32")


def _numpy(result):
    if isinstance(result, dict):
        return {k: v.numpy() for k, v in result.items()}
    return result.numpy()


def _assert_same(a, b, exact=True):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same(a[key], b[key], exact)
    elif exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_one_hot_and_an_equal_callable_give_exactly_the_int_target(name, model, x):
    explainer = FACTORIES[name](model)
    ids = [3, 0, 2]
    reference = _numpy(explainer.explain(x, target=ids))
    one_hot = np.eye(toy_models.CLASSES, dtype="float32")[ids]
    # LRP's backward rules sum the same relevances with another rounding (1 ulp) when the
    # seed comes from the weighted sum instead of the gather.
    exact = name != "LRP"
    _assert_same(_numpy(explainer.explain(x, target=one_hot)), reference, exact)
    _assert_same(_numpy(explainer.explain(x, target=tf.constant(one_hot))), reference, exact)
    # One callable per image, each the score of that image's class.
    callables = [lambda out, c=c: out[:, c] for c in ids]
    _assert_same(_numpy(explainer.explain(x, target=callables)), reference)
    # One callable for every image.
    same = _numpy(explainer.explain(x, target=2))
    _assert_same(_numpy(explainer.explain(x, target=lambda out: out[:, 2])), same)


# --- Multi-hot and weights: linear answers ------------------------------------------------------


def test_linear_model_gradient_of_a_multi_hot_target_is_the_sum_of_weight_rows():
    model = toy_models.linear_model(seed=1)
    kernel = model.layers[-1].get_weights()[0].reshape(*toy_models.SHAPE, toy_models.CLASSES)
    x = np.random.default_rng(0).normal(size=(2, *toy_models.SHAPE)).astype("float32")
    saliency = tfattr.Saliency(model, abs=False)
    multi_hot = np.array([[1, 0, 1, 0], [0, 1, 1, 1]], "float32")
    expected = np.stack([kernel[..., 0] + kernel[..., 2], kernel[..., 1:].sum(-1)])
    np.testing.assert_allclose(saliency.explain(x, target=multi_hot), expected, atol=1e-5)
    # Bools and ints are multi-hot rows too; real weights give the weighted sum.
    np.testing.assert_allclose(
        saliency.explain(x, target=multi_hot.astype(bool)), expected, atol=1e-5
    )
    weights = np.array([[0.5, -2.0, 0.0, 1.0]] * 2, "float32")
    np.testing.assert_allclose(
        saliency.explain(x, target=weights), np.stack([kernel @ weights[0]] * 2), atol=1e-5
    )
    # Occlusion (a forward-only method) is linear in the target scores too.
    occlusion = tfattr.Occlusion(model, window=(2, 2), stride=(2, 2))
    np.testing.assert_allclose(
        occlusion.explain(x, target=multi_hot),
        occlusion.explain(x, target=0) * multi_hot[:, 0, None, None, None]
        + occlusion.explain(x, target=1) * multi_hot[:, 1, None, None, None]
        + occlusion.explain(x, target=2) * multi_hot[:, 2, None, None, None]
        + occlusion.explain(x, target=3) * multi_hot[:, 3, None, None, None],
        atol=1e-4,
    )


def test_integrated_gradients_is_complete_for_a_multi_hot_target(model, x):
    multi_hot = np.array([[1, 1, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1]], "float32")
    ig = tfattr.IntegratedGradients(model, steps=256)
    attr, delta = ig.explain(x, target=multi_hot, return_convergence_delta=True)
    scores = model(x).numpy()  # the toy CNN ends in a softmax: the adapter explains logits
    logits = tfattr.ModelAdapter(model)(x).numpy()
    assert not np.allclose(scores, logits)
    black = tfattr.ModelAdapter(model)(np.zeros_like(x)).numpy()
    change = ((logits - black) * multi_hot).sum(-1)
    total = np.sum(attr, axis=(1, 2, 3))
    np.testing.assert_allclose(total, change, rtol=1e-3)  # (ReLU kinks: a small rule error)
    np.testing.assert_allclose(delta, total - change, atol=1e-4)
    # IG is linear in the target: the multi-hot attribution is the sum of the classes'.
    parts = sum(
        ig.explain(x, target=np.full(3, c)).numpy() * multi_hot[:, c, None, None, None]
        for c in range(4)
    )
    np.testing.assert_allclose(attr, parts, atol=1e-5)


def test_binary_sigmoid_model_takes_one_hot_rows_over_its_two_classes():
    kernel, bias = toy_models.linear_weights(classes=1, seed=2)
    model = keras.Sequential(
        [
            keras.Input(toy_models.SHAPE),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.layers[-1].set_weights([kernel, bias])
    x = np.random.default_rng(3).normal(size=(2, *toy_models.SHAPE)).astype("float32")
    saliency = tfattr.Saliency(model, abs=False)
    for cls in (0, 1):
        one_hot = np.eye(2, dtype="float32")[[cls, cls]]
        np.testing.assert_array_equal(
            saliency.explain(x, target=one_hot), saliency.explain(x, target=cls)
        )
    # [1, 1] sums the negative and the positive logit: zero gradient.
    np.testing.assert_allclose(saliency.explain(x, target=np.ones((2, 2), "f4")), 0.0, atol=1e-6)


def test_multi_label_sigmoid_model_multi_hot_sums_label_logits():
    kernel, bias = toy_models.linear_weights(classes=3, seed=4)
    model = keras.Sequential(
        [
            keras.Input(toy_models.SHAPE),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="sigmoid"),
        ]
    )
    model.layers[-1].set_weights([kernel, bias])
    x = np.random.default_rng(3).normal(size=(1, *toy_models.SHAPE)).astype("float32")
    attr = tfattr.Saliency(model, abs=False).explain(x, target=[[1, 0, 1]])
    w = kernel.reshape(*toy_models.SHAPE, 3)
    np.testing.assert_allclose(attr[0], w[..., 0] + w[..., 2], atol=1e-5)


# --- Checks and messages --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "error", "message"),
    [
        (
            np.ones((3, 4)),
            ValueError,
            r"target: .*shape \(images, classes\) = \(2, 4\), got \(3, 4\)",
        ),
        (np.ones((2, 5)), ValueError, r"= \(2, 4\), got \(2, 5\).*tf.one_hot\(class_ids, 4\)"),
        ([[0, 1, 0, np.nan]] * 2, ValueError, "image 0 holds NaN or infinite values"),
        ([[0, 1, 0, 0], [0, 0, 0, 0]], ValueError, "vector of image 1 is all zeros"),
        (np.array([["a"] * 4] * 2), TypeError, "one-hot or weight vectors of numbers"),
        (lambda out: out, ValueError, r"returned shape \(1, 4\).*shape \(1,\)"),
        (lambda out: out[0, 0], ValueError, r"returned shape \(\)"),
        (lambda out: "high", TypeError, "returned dtype string"),
        ([lambda out: out[:, 0]] * 3, ValueError, "3 callables for 2 images"),
        ([0, lambda out: out[:, 0]], TypeError, "mixes callables and other values"),
    ],
)
def test_bad_targets_name_the_argument_and_the_fix(model, target, error, message):
    x = np.zeros((2, *toy_models.SHAPE), "float32")
    with pytest.raises(error, match=message):
        tfattr.Saliency(model).explain(x, target=target)


def test_pick_gathers_ids_and_weighs_rows():
    scores = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, np.inf]])
    ids = tf.constant([2, 0])
    np.testing.assert_array_equal(target_kinds.pick(scores, ids), [3.0, 4.0])
    weights = tf.constant([[0.0, 1.0, 1.0], [0.5, -1.0, 0.0]])
    np.testing.assert_array_equal(target_kinds.pick(scores, weights), [5.0, -3.0])  # inf unused
    stacked = tf.stack([scores, 2 * scores], axis=1)  # (N, K, classes)
    np.testing.assert_array_equal(target_kinds.pick(stacked, ids), [[3.0, 6.0], [4.0, 8.0]])
    np.testing.assert_array_equal(target_kinds.pick(stacked, weights), [[5, 10], [-3, -6]])
    shared = tf.constant([[1.0, 2.0, 3.0]])  # (K, classes), for every image
    np.testing.assert_array_equal(target_kinds.pick_each(shared, ids), [[3.0, 1.0]])
    np.testing.assert_array_equal(target_kinds.pick_each(shared, weights), [[5.0, -1.5]])


def test_int_ids_stay_a_gather_and_tools_refuse_weights():
    ids = target_kinds.resolve([1, 2], 2, 4)
    assert ids.dtype == tf.int32 and ids.shape == (2,)
    weights = target_kinds.resolve(np.eye(4)[[1, 2]], 2, 4)
    assert weights.dtype == tf.float32 and weights.shape == (2, 4)
    from tfattr.core.inputs import as_targets

    with pytest.raises(TypeError, match=r"sequence of ints \(class indices\); got ndarray"):
        as_targets(np.eye(4)[[1, 2]], 2, 4)
    with pytest.raises(ValueError, match=r"one class index per image \(2\), got shape \(2, 4\)"):
        as_targets(np.eye(4, dtype=int)[[1, 2]], 2, 4)
    with pytest.raises(TypeError, match="callable target is accepted by an explainer"):
        as_targets(lambda out: out[:, 0], 2, 4)


# --- Callables: regression, identity in compiled steps ------------------------------------------


def _regressor(rank: int):
    kernel, bias = toy_models.linear_weights(classes=1, seed=5)
    layers = [keras.Input(toy_models.SHAPE), keras.layers.Flatten(), keras.layers.Dense(1)]
    if rank == 1:
        layers.append(keras.layers.Reshape(()))
    model = keras.Sequential(layers)
    model.layers[1].set_weights([kernel, bias])
    return model, kernel.reshape(toy_models.SHAPE), float(bias[0])


def test_regression_model_with_a_callable_target():
    model, w, b = _regressor(rank=2)
    x = np.random.default_rng(6).normal(size=(3, *toy_models.SHAPE)).astype("float32")
    first = lambda out: out[:, 0]  # noqa: E731
    saliency = tfattr.Saliency(model, abs=False).explain(x, target=first)
    np.testing.assert_allclose(saliency, np.stack([w] * 3), atol=1e-6)
    attr, delta = tfattr.IntegratedGradients(model, steps=3).explain(
        x, target=first, return_convergence_delta=True
    )
    np.testing.assert_allclose(attr, x * w, atol=1e-5)  # linear: exact, zeros baseline
    np.testing.assert_allclose(delta, 0.0, atol=1e-4)
    # The callable sees the model's output itself, not the two-class view of a single score.
    np.testing.assert_array_equal(tfattr.Saliency(model, abs=False).explain(x, target=1), saliency)
    occlusion = tfattr.Occlusion(model, window=(4, 4), stride=(4, 4)).explain(x, target=first)
    assert np.all(np.isfinite(occlusion))
    assert b != 0.0


def test_rank_one_output_needs_a_callable_target():
    model, w, _ = _regressor(rank=1)
    x = np.random.default_rng(6).normal(size=(2, *toy_models.SHAPE)).astype("float32")
    with pytest.raises(ModelError, match=r"output has shape \(1,\).*callable target"):
        tfattr.Saliency(model).explain(x, target=0)
    attr = tfattr.Saliency(model, abs=False).explain(x, target=lambda out: out)
    np.testing.assert_allclose(attr, np.stack([w] * 2), atol=1e-6)


def test_different_callables_do_not_share_compiled_steps_and_equal_regions_do(model, x):
    saliency = tfattr.Saliency(model, abs=False)
    for c in range(3):  # fresh lambdas, possibly at a reused address
        np.testing.assert_array_equal(
            saliency.explain(x, target=lambda out, c=c: out[:, c]), saliency.explain(x, target=c)
        )
    seg = _segmenter()
    image = _segmentation_images(1)
    mask = np.zeros((16, 16), bool)
    mask[2:5, 3:6] = True
    explainer = tfattr.Saliency(seg, abs=False)
    first = explainer.explain(image, target=tfattr.targets.region(mask, 1)).numpy()
    steps = len(model_cache.for_model(seg, "steps"))
    again = explainer.explain(image, target=tfattr.targets.region(mask.copy(), 1)).numpy()
    assert len(model_cache.for_model(seg, "steps")) == steps  # equal regions: same step
    np.testing.assert_array_equal(again, first)
    other = explainer.explain(image, target=tfattr.targets.region(mask, 2)).numpy()
    assert np.abs(other - first).max() > 0


# --- Segmentation: a small U-Net-like model --------------------------------------------------------

# Methods whose attribution of a pixel (or its segment) is zero when the target score does not
# depend on it: gradients along any path, rule-based backward passes, exact ablations.
LOCAL = {
    "Saliency",
    "InputXGradient",
    "IntegratedGradients",
    "SmoothGrad",
    "GradientShap",
    "ExpectedGradients",
    "DeepLift",
    "DeepLiftShap",
    "GuidedBackprop",
    "Deconvolution",
    "LRP",
    "BlurIntegratedGradients",
    "GuidedIntegratedGradients",
    "NoiseTunnel",
    "FeatureAblation",
    "Occlusion",
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_every_method_explains_a_region_of_a_segmentation_model(name):
    model = _segmenter()
    x = _segmentation_images(2)
    mask = np.zeros((16, 16), bool)
    mask[6:9, 0:2] = True  # near the left edge: columns 12-15 are beyond the receptive field
    result = FACTORIES[name](model, 16).explain(x, target=tfattr.targets.region(mask, 1))
    if isinstance(result, dict):  # Activations: the target plays no part
        assert all(np.all(np.isfinite(v)) for v in result.values())
        return
    attr = result.numpy()
    assert attr.shape[:3] == (2, 16, 16) and np.all(np.isfinite(attr))
    assert np.abs(attr).sum() > 0
    if name in LOCAL:
        assert np.all(attr[:, :, 12:] == 0.0)
        assert np.abs(attr[:, :, :9]).sum() > 0


def _segmenter(classes: int = 3, seed: int = 0):
    """Conv encoder (two convs, a 2x max-pool, a bottleneck conv), decoder (2x upsampling,
    a skip connection, a conv, a 1x1 conv to per-pixel class logits): (N, 16, 16, classes).
    Each output pixel depends only on inputs within 7 pixels (its receptive field)."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((16, 16, 3))
    skip = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="enc")(inputs)
    h = keras.layers.MaxPooling2D(2)(skip)
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="bottleneck")(h)
    h = keras.layers.UpSampling2D(2)(h)
    h = keras.layers.Concatenate()([h, skip])
    h = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="dec")(h)
    outputs = keras.layers.Conv2D(classes, 1, activation="softmax", name="logits")(h)
    return keras.Model(inputs, outputs)


def _segmentation_images(n: int, seed: int = 2):
    return np.random.default_rng(seed).uniform(0, 1, size=(n, 16, 16, 3)).astype("float32")


def test_segmentation_model_refuses_class_targets_with_the_fix():
    with pytest.raises(ModelError, match=r"\(1, 16, 16, 3\).*targets.region\(mask, class_id\)"):
        tfattr.Saliency(_segmenter()).explain(_segmentation_images(1), target=1)


@pytest.mark.parametrize(
    "name", ["Saliency", "IntegratedGradients", "GuidedBackprop", "SmoothGrad"]
)
def test_gradients_of_a_region_are_zero_outside_its_receptive_field(name):
    model = _segmenter()
    x = _segmentation_images(2)
    mask = np.zeros((16, 16), bool)
    mask[1:4, 2:5] = True
    factory = {
        "Saliency": lambda m: tfattr.Saliency(m, abs=False),
        "IntegratedGradients": lambda m: tfattr.IntegratedGradients(m, steps=4),
        "GuidedBackprop": lambda m: tfattr.GuidedBackprop(m),
        "SmoothGrad": lambda m: tfattr.SmoothGrad(m, samples=3, seed=0),
    }[name]
    attr = factory(model).explain(x, target=tfattr.targets.region(mask, class_id=1)).numpy()
    reach = np.zeros((16, 16), bool)  # pixels within the receptive field of the region
    reach[max(0, 1 - 7) : 4 + 7, max(0, 2 - 7) : 5 + 7] = True
    assert np.all(attr[:, ~reach] == 0.0)
    assert np.abs(attr[:, mask]).sum() > 0
    # The region's score is the masked sum of the (pre-softmax) class-1 logits.
    if name == "IntegratedGradients":
        score = tfattr.ModelAdapter(model).with_head([tfattr.targets.region(mask, class_id=1)])
        change = (score(x) - score(np.zeros_like(x))).numpy()[:, 0]
        np.testing.assert_allclose(attr.sum(axis=(1, 2, 3)), change, rtol=0.2, atol=0.05)


def test_gradcam_of_a_region_is_the_layer_gradient_formula():
    model = _segmenter()
    x = _segmentation_images(2)
    mask = np.zeros((16, 16), "float32")
    mask[8:12, 8:14] = 1.0
    target = tfattr.targets.region(mask, class_id=2)
    cam = tfattr.GradCAM(model, layer="bottleneck", upsample=False, relu=False)
    got = cam.explain(x, target=target).numpy()
    # By hand: alpha = spatial mean of d(region score)/dA, map = sum_k alpha_k A^k.
    probe = keras.Model(model.inputs, [model.get_layer("bottleneck").output, model.output])
    logits_layer = model.get_layer("logits")
    with tf.GradientTape() as tape:
        a, _ = probe(x)
        tape.watch(a)
        h = keras.layers.UpSampling2D(2)(a)
        h = keras.layers.Concatenate()([h, model.get_layer("enc")(x)])
        h = model.get_layer("dec")(h)
        logits = tf.nn.conv2d(h, logits_layer.kernel, 1, "SAME") + logits_layer.bias
        score = tf.reduce_sum(logits[..., 2] * mask, axis=[1, 2])
    grads = tape.gradient(score, a)
    expected = tf.reduce_sum(tf.reduce_mean(grads, axis=(1, 2), keepdims=True) * a, -1)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # Linear in the region (relu=False): two disjoint halves add up to the whole.
    left, right = mask.copy(), mask.copy()
    left[:, 11:], right[:, :11] = 0.0, 0.0
    halves = sum(
        cam.explain(x, target=tfattr.targets.region(m, class_id=2)).numpy() for m in (left, right)
    )
    np.testing.assert_allclose(halves, got, rtol=1e-4, atol=1e-5)
    # Upsampled maps and the other CAM methods take the region target too.
    for explainer in (
        tfattr.GradCAM(model, layer="bottleneck"),
        tfattr.GradCAMPlusPlus(model, layer="bottleneck"),
        tfattr.ScoreCAM(model, layer="bottleneck"),
        tfattr.HiResCAM(model, layer="bottleneck"),
    ):
        maps = explainer.explain(x, target=target).numpy()
        assert maps.shape == (2, 16, 16) and np.all(np.isfinite(maps))


def test_one_region_per_image_equals_each_image_alone():
    model = _segmenter()
    x = _segmentation_images(2)
    masks = np.zeros((2, 16, 16), bool)
    masks[0, :4, :4], masks[1, 10:, 6:12] = True, True
    regions = [tfattr.targets.region(masks[0], 1), tfattr.targets.region(masks[1], 0)]
    cam = tfattr.GradCAM(model, layer="bottleneck")
    both = cam.explain(x, target=regions).numpy()
    for i in range(2):
        alone = cam.explain(x[i : i + 1], target=regions[i]).numpy()
        np.testing.assert_allclose(both[i], alone[0], rtol=1e-5, atol=1e-7)


def test_region_checks_its_mask_and_class():
    with pytest.raises(ValueError, match="the region is empty"):
        tfattr.targets.region(np.zeros((16, 16)), 1)
    with pytest.raises(ValueError, match=r"one \(H, W\) mask.*list of targets"):
        tfattr.targets.region(np.ones((2, 16, 16)), 1)
    with pytest.raises(TypeError, match="class_id: expected an int"):
        tfattr.targets.region(np.ones((16, 16)), 1.5)
    x = _segmentation_images(1)
    model = _segmenter()
    with pytest.raises(ValueError, match=r"\(N, 8, 8, classes\).*returns \(1, 16, 16, 3\)"):
        tfattr.Saliency(model).explain(x, target=tfattr.targets.region(np.ones((8, 8)), 1))
    with pytest.raises(ValueError, match=r"region class 5 is out of range.*\[0, 2\]"):
        tfattr.Saliency(model).explain(x, target=tfattr.targets.region(np.ones((16, 16)), 5))
    assert tfattr.targets.region(np.ones((16, 16)), 1) == tfattr.targets.region(
        np.ones((16, 16), bool), 1
    )
