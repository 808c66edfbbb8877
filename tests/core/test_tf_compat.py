"""The compatibility layer: private-API reads with their fallbacks, optional packages, caches."""

import gc
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr import callbacks, metrics
from tfattr.core import optional, tf_compat


@pytest.fixture
def global_generator():
    """Sets TF's global generator for the test and puts the previous one back afterwards."""
    module = sys.modules[tf_compat._RANDOM_MODULE]
    previous = module.global_generator
    generator = tf.random.Generator.from_seed(7)
    tf.random.set_global_generator(generator)
    yield generator
    module.global_generator = previous


def test_existing_global_generator_is_the_one_tf_uses(global_generator):
    assert tf_compat.existing_global_generator() is global_generator
    assert tf.random.get_global_generator() is global_generator


def test_existing_global_generator_does_not_create_one():
    code = (
        "import tensorflow as tf\n"
        "from tfattr.core import tf_compat\n"
        "assert tf_compat.existing_global_generator() is None\n"
        "g = tf.random.get_global_generator()\n"
        "assert tf_compat.existing_global_generator() is g\n"
        "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_existing_global_generator_falls_back_to_none(global_generator, monkeypatch):
    monkeypatch.setattr(tf_compat, "_RANDOM_MODULE", "tensorflow.no_such_module")
    assert tf_compat.existing_global_generator() is None


def test_callback_restores_the_global_generator(global_generator):
    before = global_generator.state.numpy()
    with callbacks._preserved_random_state():
        global_generator.normal((5,))
        assert not np.array_equal(global_generator.state.numpy(), before)
    np.testing.assert_array_equal(global_generator.state.numpy(), before)


def test_callback_runs_when_the_private_module_is_gone(global_generator, monkeypatch, tmp_path):
    monkeypatch.setattr(tf_compat, "_RANDOM_MODULE", "tensorflow.no_such_module")
    model = toy_models.cnn("functional")
    x = np.random.default_rng(0).uniform(size=(2, *toy_models.SHAPE)).astype("float32")
    callback = callbacks.AttributionCallback(tfattr.Saliency(model), x, targets=1, png_dir=tmp_path)
    callback.set_model(model)
    grid = callback.log(1)
    assert grid.dtype == np.uint8 and len(callback.written) == 1


def _hide_skimage(monkeypatch):
    for name in [m for m in sys.modules if m == "skimage" or m.startswith("skimage.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "skimage", None)  # import skimage now fails


def test_missing_optional_package_names_the_extra(monkeypatch):
    _hide_skimage(monkeypatch)
    with pytest.raises(ImportError, match=r'pip install "tfattr\[segments\]"') as error:
        optional.require("skimage.segmentation", "Lime's superpixels")
    assert "Lime's superpixels needs scikit-image" in str(error.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda m: tfattr.Lime(m, samples=4),
        lambda m: tfattr.KernelShap(m, samples=4),
        lambda m: tfattr.FeatureAblation(m),
        lambda m: tfattr.XRAI(m, steps=2),
    ],
    ids=["lime", "kernel_shap", "feature_ablation", "xrai"],
)
def test_superpixel_methods_without_scikit_image_name_the_extra(make, monkeypatch):
    model = toy_models.cnn("functional")
    x = np.random.default_rng(0).uniform(size=(1, *toy_models.SHAPE)).astype("float32")
    _hide_skimage(monkeypatch)
    with pytest.raises(ImportError, match=r"tfattr\[segments\]"):
        make(model).explain(x, target=1)


def test_given_segments_need_no_scikit_image(monkeypatch):
    model = toy_models.cnn("functional")
    x = np.random.default_rng(0).uniform(size=(1, *toy_models.SHAPE)).astype("float32")
    _hide_skimage(monkeypatch)
    quadrants = (np.arange(8)[:, None] // 4) * 2 + np.arange(8)[None, :] // 4
    attr = tfattr.Lime(model, samples=8, segments=quadrants, seed=0).explain(x, target=1)
    assert attr.shape == x.shape


def test_similarity_without_scikit_image_names_the_extra(monkeypatch):
    _hide_skimage(monkeypatch)
    maps = np.random.default_rng(0).uniform(size=(2, 8, 8)).astype("float32")
    with pytest.raises(ImportError, match=r"tfattr\[segments\]"):
        tfattr.sanity.similarity(maps, maps)


def test_other_missing_modules_are_not_blamed_on_the_extra(monkeypatch):
    monkeypatch.setitem(optional.EXTRAS, "no_such_package_xyz", ("segments", "no-such"))
    with pytest.raises(ImportError, match="segments"):
        optional.require("no_such_package_xyz", "a feature")


def test_metric_engines_are_cached_without_touching_or_keeping_the_adapter():
    model = toy_models.cnn("functional")
    adapter = tfattr.adapt(model)
    before = set(vars(adapter))
    engine = metrics.model_engine(adapter, output="probabilities")
    assert metrics.model_engine(adapter, output="probabilities") is engine
    assert metrics.model_engine(adapter, output="probabilities", batch_size=4) is not engine
    assert set(vars(adapter)) == before  # nothing stored on the caller's object
    x = tf.constant(np.random.default_rng(0).uniform(size=(2, *toy_models.SHAPE)), tf.float32)
    np.testing.assert_allclose(engine.adapter(x), tf.nn.softmax(adapter(x)), atol=1e-6)
    count = len(metrics._ENGINES)
    del adapter, engine
    gc.collect()
    assert len(metrics._ENGINES) == count - 1  # the entry goes with the adapter
