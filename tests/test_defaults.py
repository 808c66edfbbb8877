"""Every documented default and every promised seed, pinned.

Each test names the docstring or README line it holds. A default is pinned by comparing the
call without the option to the call with the documented value (and, where the value shapes the
result, to another value that must differ), so changing a default or ignoring an option fails.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr import metrics
from tfattr.data import images as data_images
from tfattr.models import ModelSpec
from tfattr.models.preprocessing import Preprocess


@pytest.fixture(scope="module")
def cnn():
    return toy_models.cnn("functional", softmax=False)


@pytest.fixture(scope="module")
def linear():
    return toy_models.linear_model(), toy_models.linear_weights()


@pytest.fixture
def x():
    rng = np.random.default_rng(11)
    images = rng.uniform(0, 1, size=(2, *toy_models.SHAPE)).astype("f4")
    images[1] = images[1] * 3 - 1  # another range: per-image quantities differ
    return images


def close(a, b, **k):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6, **k)


def differs(a, b):
    return not np.allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------------------------
# Explainer: output="logits", batch_size=32 (DESIGN: Class(model, *, output="logits",
# batch_size=32, ...); README: a final softmax is removed)


def test_output_logits_and_batch_size_defaults(x):
    with_softmax = toy_models.cnn("functional", softmax=True)
    without = toy_models.cnn("functional", softmax=False)
    explainer = tfattr.Saliency(with_softmax)
    assert explainer.engine.batch_size == 32
    close(explainer.explain(x, target=1), tfattr.Saliency(without).explain(x, target=1))
    assert differs(
        explainer.explain(x, target=1),
        tfattr.Saliency(with_softmax, output="probabilities").explain(x, target=1),
    )


def test_target_none_is_each_images_top_class(cnn, x):
    top = np.argmax(cnn(x).numpy(), axis=1)
    close(tfattr.Saliency(cnn).explain(x), tfattr.Saliency(cnn).explain(x, target=top))


# ------------------------------------------------------------------------------------------
# Saliency abs=True


def test_saliency_abs_default(cnn, x):
    signed = tfattr.Saliency(cnn, abs=False).explain(x, target=2).numpy()
    close(tfattr.Saliency(cnn).explain(x, target=2), np.abs(signed))
    assert signed.min() < 0


# ------------------------------------------------------------------------------------------
# IntegratedGradients: steps=50, method="riemann_trapezoid", baseline None = zeros; "black",
# "white" (image max), "uniform" (seeded noise in the image's range), "blur" (sigma = larger
# side / 8)


def test_integrated_gradients_defaults(cnn, x):
    default = tfattr.IntegratedGradients(cnn).explain(x, target=1)
    explicit = tfattr.IntegratedGradients(
        cnn, steps=50, method="riemann_trapezoid", baseline=np.zeros(toy_models.SHAPE, "f4")
    ).explain(x, target=1)
    close(default, explicit)
    assert differs(default, tfattr.IntegratedGradients(cnn, steps=5).explain(x, target=1))
    assert differs(
        default, tfattr.IntegratedGradients(cnn, method="riemann_left").explain(x, target=1)
    )
    close(tfattr.IntegratedGradients(cnn, baseline="black").explain(x, target=1), default)


def test_white_baseline_is_each_images_maximum(linear, x):
    model, (w, _) = linear
    attr = tfattr.IntegratedGradients(model, steps=2).explain(x, target=0, baseline="white")
    top = x.reshape(2, -1).max(1).reshape(2, 1, 1, 1)
    close(attr, np.reshape(w[:, 0], toy_models.SHAPE) * (x - top))


def test_uniform_baseline_honours_its_seed_and_the_image_range(linear, x):
    model, (w, _) = linear
    ig = tfattr.IntegratedGradients(model, steps=2, baseline="uniform")
    first = ig.explain(x, target=0, seed=3).numpy()
    close(ig.explain(x, target=0, seed=3), first)
    assert differs(ig.explain(x, target=0, seed=4), first)
    assert differs(ig.explain(x, target=0, seed=None), ig.explain(x, target=0, seed=None))
    # attr = W (x - b): recover b and check it lies in each image's own [min, max].
    b = x - first / np.reshape(w[:, 0], toy_models.SHAPE)
    for i in range(2):
        assert x[i].min() - 1e-4 <= b[i].min() and b[i].max() <= x[i].max() + 1e-4
        assert b[i].std() > 0.1 * (x[i].max() - x[i].min())  # noise, not a constant
    # The constructor's seed is the default of every call.
    close(
        tfattr.IntegratedGradients(model, steps=2, baseline="uniform", seed=3).explain(x, 0), first
    )


def test_blur_sigma_default_is_the_larger_side_over_8(cnn, x):
    ig = tfattr.IntegratedGradients(cnn, steps=4, baseline="blur")
    default = ig.explain(x, target=1)
    close(default, ig.explain(x, target=1, blur_sigma=8 / 8))
    assert differs(default, ig.explain(x, target=1, blur_sigma=2.0))


# ------------------------------------------------------------------------------------------
# NoiseTunnel(kind="smoothgrad", samples=50, stddev=None, spread=0.15, seed=None): with stddev
# None the noise is spread x (max - min) of each input


def test_noise_tunnel_default_noise_is_spread_times_each_images_range(cnn, x):
    default = tfattr.SmoothGrad(cnn, seed=5).explain(x, target=1).numpy()
    for i in range(2):
        scale = 0.15 * (x[i].max() - x[i].min())
        alone = tfattr.SmoothGrad(cnn, seed=5, stddev=float(scale)).explain(x[i : i + 1], 1)
        close(default[i : i + 1], alone)
        std = 0.15 * x[i].std()  # the scale of the other reading must not match
        other = tfattr.SmoothGrad(cnn, seed=5, stddev=float(std)).explain(x[i : i + 1], 1)
        assert differs(default[i : i + 1], other)


def test_noise_tunnel_defaults(cnn, x):
    tunnel = tfattr.NoiseTunnel(tfattr.Saliency(cnn, abs=False), seed=2)
    explicit = tfattr.NoiseTunnel(
        tfattr.Saliency(cnn, abs=False), kind="smoothgrad", samples=50, spread=0.15, seed=2
    )
    close(tunnel.explain(x, target=0), explicit.explain(x, target=0))
    assert differs(tunnel.explain(x, target=0), explicit.explain(x, target=0, samples=10))
    close(tfattr.SmoothGrad(cnn, seed=2).explain(x, target=0), tunnel.explain(x, target=0))


@pytest.mark.parametrize("kind", ["smoothgrad", "smoothgrad_sq", "vargrad"])
def test_noise_tunnel_seed(cnn, x, kind):
    tunnel = tfattr.SmoothGrad(cnn, kind=kind, samples=4)
    close(tunnel.explain(x, 1, seed=7), tunnel.explain(x, 1, seed=7))
    assert differs(tunnel.explain(x, 1, seed=7), tunnel.explain(x, 1, seed=8))
    assert differs(tunnel.explain(x, 1), tunnel.explain(x, 1))  # seed=None: fresh noise


# ------------------------------------------------------------------------------------------
# GradientShap(samples=50, stddev=0.0, baselines (K, H, W, C)); random methods take seed


def test_gradient_shap_defaults_and_seed(cnn, x):
    backgrounds = np.random.default_rng(2).uniform(size=(3, *toy_models.SHAPE)).astype("f4")
    shap = tfattr.GradientShap(cnn, baselines=backgrounds)
    default = shap.explain(x, 1, seed=1)
    close(default, shap.explain(x, 1, seed=1, samples=50, stddev=0.0))
    assert differs(default, shap.explain(x, 1, seed=1, samples=10))
    assert differs(default, shap.explain(x, 1, seed=1, stddev=0.1))
    assert differs(default, shap.explain(x, 1, seed=2))


# ------------------------------------------------------------------------------------------
# GradCAM(layer=None, upsample=True, relu=True); Occlusion(window=(8, 8), stride=(4, 4),
# baseline=0.0)


def test_gradcam_defaults(cnn, x):
    cam = tfattr.GradCAM(cnn).explain(x, target=0).numpy()
    assert cam.shape == (2, *toy_models.SHAPE[:2]) and cam.min() >= 0
    raw = tfattr.GradCAM(cnn, relu=False, upsample=False).explain(x, target=0).numpy()
    assert raw.shape[1:] != cam.shape[1:]


def test_occlusion_defaults():
    model = toy_models.linear_model(shape=(16, 16, 3))
    images = np.random.default_rng(0).uniform(size=(1, 16, 16, 3)).astype("f4")
    default = tfattr.Occlusion(model).explain(images, 0)
    explicit = tfattr.Occlusion(model, window=(8, 8), stride=(4, 4), baseline=0.0)
    close(default, explicit.explain(images, 0))
    assert differs(
        default, tfattr.Occlusion(model, window=(4, 4), stride=(4, 4)).explain(images, 0)
    )
    assert differs(default, tfattr.Occlusion(model, baseline=0.5).explain(images, 0))


# ------------------------------------------------------------------------------------------
# data: load_image resize="crop", crop_fraction=0.875; image_folder batch_size=32


def test_image_defaults(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 255, size=(40, 60, 3), dtype=np.uint8)
    path = tmp_path / "a.png"
    path.write_bytes(tf.io.encode_png(pixels).numpy())
    default = tfattr.data.load_image(path, 16)
    close(default, tfattr.data.load_image(path, 16, resize="crop", crop_fraction=0.875))
    assert differs(default, tfattr.data.load_image(path, 16, resize="crop", crop_fraction=1.0))
    assert differs(default, tfattr.data.load_image(path, 16, resize="stretch"))
    folder = tmp_path / "flat"
    folder.mkdir()
    for i in range(33):
        (folder / f"{i:02d}.png").write_bytes(tf.io.encode_png(pixels).numpy())
    sizes = [int(images.shape[0]) for images, _ in data_images.image_folder(folder, 8)]
    assert sizes == [32, 1]


# ------------------------------------------------------------------------------------------
# TF-Hub's 1001-class models: label_offset=1, output 0 = background, hub index = ImageNet + 1,
# through target= (by WordNet id and by index), image_folder labels and the metrics


@pytest.fixture(scope="module")
def hub_like():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input(toy_models.SHAPE), keras.layers.Flatten(), keras.layers.Dense(1001)]
    )
    spec = ModelSpec(
        name="hub-like",
        model=model,
        preprocess=Preprocess("none"),
        input_size=toy_models.SHAPE[:2],
        num_classes=1001,
        label_offset=1,
    )
    return spec


TABBY_WNID, TABBY = "n02123045", 281  # ImageNet-1k index of "tabby"


def test_hub_offset_through_target_by_name_and_index(hub_like, x):
    spec = hub_like
    assert spec.class_id(TABBY_WNID) == TABBY + 1
    by_name = tfattr.Saliency(spec, abs=False).explain(x, target=TABBY_WNID).numpy()
    by_index = tfattr.Saliency(spec.model, abs=False).explain(x, target=TABBY + 1).numpy()
    close(by_name, by_index)
    # The gradient of a linear model's class c is its weight column c: the offset column.
    kernel = spec.model.layers[-1].get_weights()[0]
    close(by_name[0], np.reshape(kernel[:, TABBY + 1], toy_models.SHAPE))
    assert differs(by_name[0], np.reshape(kernel[:, TABBY], toy_models.SHAPE))
    # A model output index given to the spec is taken as it is (no offset added twice).
    close(tfattr.Saliency(spec, abs=False).explain(x, target=TABBY + 1), by_index)
    # One per image, mixed names and indices.
    mixed = tfattr.Saliency(spec, abs=False).explain(x, target=[TABBY_WNID, 0]).numpy()
    close(mixed[1], np.reshape(kernel[:, 0], toy_models.SHAPE))
    assert spec.class_names[0] == "background"
    assert list(spec.to_model_ids([TABBY])) == [TABBY + 1]
    assert list(spec.to_imagenet([TABBY + 1, 0])) == [TABBY, -1]


def test_hub_offset_through_the_metrics(hub_like, x):
    spec = hub_like
    target = spec.class_id(TABBY_WNID)
    attr = tfattr.Saliency(spec, abs=False).explain(x, target=TABBY_WNID)
    logits = spec.model(x).numpy()
    # Nothing deleted yet: the curve starts at F_c(x), probabilities by default (as RISE).
    result = metrics.deletion(spec.model, x, attr, target=target, steps=4)
    close(result.curves[:, 0], tf.nn.softmax(logits).numpy()[:, TABBY + 1])
    np.testing.assert_array_equal(result.targets, [TABBY + 1] * 2)
    as_logits = metrics.deletion(spec.model, x, attr, target=target, steps=4, output="logits")
    close(as_logits.curves[:, 0], logits[:, TABBY + 1])
    assert differs(as_logits.curves[:, 0], logits[:, TABBY])


def test_hub_offset_through_image_folder_labels(tmp_path, hub_like):
    pixels = np.zeros((10, 10, 3), np.uint8)
    (tmp_path / TABBY_WNID).mkdir()
    (tmp_path / TABBY_WNID / "a.png").write_bytes(tf.io.encode_png(pixels).numpy())
    ds = data_images.image_folder(tmp_path, 8, label_offset=hub_like.label_offset)
    _, labels = next(iter(ds))
    assert labels.numpy().tolist() == [TABBY + 1]
    _, plain = next(iter(data_images.image_folder(tmp_path, 8)))
    assert plain.numpy().tolist() == [TABBY]  # label_offset defaults to 0


def test_noise_tunnel_kinds_on_one_model_keep_their_own_statistics(cnn, x):
    # Compiled steps are shared between explainers of one model: each kind must get its own.
    mean = tfattr.SmoothGrad(cnn, samples=6, seed=1).explain(x, 1).numpy()
    square = tfattr.SmoothGrad(cnn, kind="smoothgrad_sq", samples=6, seed=1).explain(x, 1).numpy()
    var = tfattr.SmoothGrad(cnn, kind="vargrad", samples=6, seed=1).explain(x, 1).numpy()
    np.testing.assert_allclose(var, square - mean**2, rtol=1e-4, atol=1e-6)
    assert square.min() >= 0 and differs(square, mean)
