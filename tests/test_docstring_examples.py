"""The ``Example:`` sections of the top-level API run as written (doctest), on a tiny model.

The examples use the names a reader has at hand: ``model`` (a small CNN whose layers are named
as VGG16's, 1000 classes), ``images``/``x`` (two 32x32 images), ``y`` (their labels),
``background_images`` / ``background`` (baselines), ``labels`` (a segmentation of the image),
``masks`` (object masks), ``cat`` and ``dog`` (two images). Every explainer class, the explainer
contract, the error types, the registry, and every public name of ``tfattr.metrics``,
``tfattr.sanity``, ``tfattr.adversarial`` and ImageNet-A's label helpers in ``tfattr.data`` that
has an example are covered; a new method in
the registry is covered automatically.
"""

import doctest
import inspect

import numpy as np
import pytest

import tfattr
from tfattr import registry

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _tiny_vgg():
    import keras

    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, padding="valid", activation="relu", name="block1_conv1")(inputs)
    x = keras.layers.MaxPooling2D(name="block1_pool")(x)
    x = keras.layers.Conv2D(6, 3, padding="valid", activation="relu", name="block3_conv3")(x)
    x = keras.layers.MaxPooling2D(name="block3_pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="valid", activation="relu", name="block5_conv3")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(1000, activation="softmax", name="predictions")(x)
    keras.utils.set_random_seed(0)
    return keras.Model(inputs, outputs, name="tiny_vgg")


@pytest.fixture(scope="module")
def namespace():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    segments = np.arange(16).reshape(4, 4).repeat(8, axis=0).repeat(8, axis=1)
    return {
        "tfattr": tfattr,
        "np": np,
        "model": _tiny_vgg(),
        "images": images,
        "x": images,
        "background_images": rng.uniform(0, 1, (3, 32, 32, 3)).astype("float32"),
        "background": rng.uniform(0, 1, (3, 32, 32, 3)).astype("float32"),
        "labels": segments,
        "registry": registry,
        "y": np.array([3, 5]),
        "masks": np.zeros((2, 32, 32), bool) | (np.arange(32)[:, None] < 16),
        "cat": images[0],
        "dog": images[1],
    }


def _documented():
    """``(name, object)`` whose docstring examples are run here."""
    objects = [(name, getattr(tfattr, name)) for name in registry.CLASSES]
    objects += [
        ("tfattr", tfattr),
        ("tfattr.registry", registry),
        ("Explainer", tfattr.Explainer),
        ("Explainer.explain", tfattr.Explainer.explain),
        *[(name, getattr(tfattr, name)) for name in ("TfattrError", "ModelError")],
        *[(name, getattr(tfattr, name)) for name in ("LayerNotFoundError", "OpaqueModelError")],
    ]
    for module in ("metrics", "sanity", "adversarial", "data"):
        module_object = getattr(tfattr, module)
        for name in module_object.__all__:
            value = getattr(module_object, name)
            if module == "data" and (
                name == "imagenet_a" or not getattr(value, "__module__", "").endswith("imagenet_a")
            ):
                continue  # file and network examples (photos/, cat.jpg, TFDS downloads)
            objects.append((f"{module}.{name}", value))
            if inspect.isclass(value):
                objects += [
                    (f"{module}.{name}.{attr}", method)
                    for attr, method in vars(value).items()
                    if not attr.startswith("_") and inspect.isfunction(method)
                ]
    return objects


@pytest.mark.slow
@pytest.mark.parametrize("name, obj", _documented(), ids=[n for n, _ in _documented()])
def test_docstring_example_runs(name, obj, namespace):
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs=dict(namespace))
    examples = [t for t in tests if t.examples]
    if not examples:
        pytest.skip(f"{name} has no Example (python scripts/docstring_coverage.py lists them)")
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    for test in examples:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} example lines failed"


def test_every_explainer_documents_args_and_an_example():
    """Google-style sections on the classes users construct (coverage of the rest:
    ``python scripts/docstring_coverage.py``)."""
    for name in registry.CLASSES:
        doc = inspect.getdoc(getattr(tfattr, name)) or ""
        assert "Example:" in doc, f"{name} has no Example"
        assert "Args:" in doc, f"{name} has no Args"
