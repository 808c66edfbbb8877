"""Every public function and class documents Args, Returns and an Example, and the examples run.

The public names are those ``scripts/docstring_coverage.py`` lists (``__all__`` of ``tfattr`` and
of its public modules, and the methods those classes define); a name without an Example, or
without Args/Returns where it needs them, fails here. The Examples of the public modules'
docstrings (the top of their API pages) run too. Each ``Example:`` section runs as written
(doctest) with the names a reader has at hand:

- ``model``: a small CNN whose layers are named as VGG16's (``block5_conv3``), 1000 classes;
  ``spec``: its :class:`tfattr.models.ModelSpec` (caffe preprocessing, 32x32, ImageNet classes);
- ``images``/``x``: two 32x32 float images, ``y``: their labels; ``cat`` and ``dog``: the two
  images; ``photo``: a uint8 photograph of a cat (32x32), ``photos``: two uint8 photographs;
- ``attr``: Integrated Gradients of ``images`` (pixel maps), ``cam``: Grad-CAM of ``images``;
- ``background_images``/``background``: baselines; ``labels``: a segmentation of the image;
  ``masks``: object masks;
- in the current folder: ``cat.jpg``, ``a.jpg``, ``broken.jpg`` (not an image) and ``photos/``
  (one folder per class); TFDS datasets are TFDS's mock data (no download).

Examples that import ``keras_hub`` run where the optional keras-hub is installed.
"""

import contextlib
import doctest
import importlib
import importlib.util
import inspect
import pathlib
import shutil

import numpy as np
import pytest

import tfattr
from tfattr import registry

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
ROOT = pathlib.Path(__file__).resolve().parents[1]


def _coverage_script():
    spec = importlib.util.spec_from_file_location(
        "docstring_coverage", ROOT / "scripts" / "docstring_coverage.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


COVERAGE = _coverage_script()


def _tiny_vgg():
    import keras

    keras.utils.set_random_seed(0)  # before the layers are built: the same weights every run
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, padding="valid", activation="relu", name="block1_conv1")(inputs)
    x = keras.layers.MaxPooling2D(name="block1_pool")(x)
    x = keras.layers.Conv2D(6, 3, padding="valid", activation="relu", name="block3_conv3")(x)
    x = keras.layers.MaxPooling2D(name="block3_pool")(x)
    x = keras.layers.Conv2D(8, 3, padding="valid", activation="relu", name="block5_conv3")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(1000, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="tiny_vgg")


def _photographs():
    """Two real uint8 photographs, 32x32: a cat and a cup of coffee."""
    import skimage.data
    import skimage.transform

    return np.stack(
        [
            (skimage.transform.resize(image, (32, 32), anti_aliasing=True) * 255).astype("uint8")
            for image in (skimage.data.chelsea(), skimage.data.coffee())
        ]
    )


def _files(folder: pathlib.Path, photos: np.ndarray) -> None:
    """``cat.jpg``, ``a.jpg``, ``broken.jpg`` and ``photos/<class>/*.jpg`` in ``folder``."""
    import tensorflow as tf

    def write(path, image):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(tf.io.encode_jpeg(image).numpy())

    write(folder / "cat.jpg", photos[0])
    write(folder / "a.jpg", photos[1])
    (folder / "broken.jpg").write_bytes(b"not a JPEG")
    write(folder / "photos" / "cat" / "chelsea.jpg", photos[0])
    write(folder / "photos" / "coffee" / "cup.jpg", photos[1])


@pytest.fixture(scope="module")
def namespace(tmp_path_factory):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    segments = np.arange(16).reshape(4, 4).repeat(8, axis=0).repeat(8, axis=1)
    model = _tiny_vgg()
    photos = _photographs()
    spec = tfattr.models.ModelSpec(
        name="tiny_vgg",
        model=model,
        preprocess=tfattr.models.Preprocess("caffe"),
        input_size=(32, 32),
        num_classes=1000,
        cam_layer="block5_conv3",
    )
    folder = tmp_path_factory.mktemp("docstring_examples")
    _files(folder, photos)
    return {
        "tfattr": tfattr,
        "np": np,
        "model": model,
        "spec": spec,
        "images": images,
        "x": images,
        "attr": tfattr.IntegratedGradients(model, steps=64).explain(images, target=3),
        "cam": tfattr.GradCAM(model).explain(images, target=3),
        "photo": photos[0],
        "photos": photos,
        "background_images": rng.uniform(0, 1, (3, 32, 32, 3)).astype("float32"),
        "background": rng.uniform(0, 1, (3, 32, 32, 3)).astype("float32"),
        "labels": segments,
        "registry": registry,
        "y": np.array([3, 5]),
        "masks": np.zeros((2, 32, 32), bool) | (np.arange(32)[:, None] < 16),
        "cat": images[0],
        "dog": images[1],
        "_folder": folder,
    }


def _documented():
    """``(name, object)`` whose docstring examples are run here: the modules' own pages and
    every public name."""
    objects = [
        (name, importlib.import_module(name)) for name in COVERAGE.MODULES
    ]  # the modules' docstrings open their API pages
    objects += [
        ("tfattr.Explainer", tfattr.Explainer),
        ("tfattr.Explainer.explain", tfattr.Explainer.explain),
    ]

    seen = {id(obj) for _, obj in objects}
    for name, obj in COVERAGE.public_objects():
        if id(obj) not in seen:
            seen.add(id(obj))
            objects.append((name, obj))
    return objects


DOCUMENTED = _documented()


@pytest.mark.slow
@pytest.mark.parametrize("name, obj", DOCUMENTED, ids=[n for n, _ in DOCUMENTED])
def test_docstring_example_runs(name, obj, namespace, monkeypatch, tmp_path):
    import matplotlib.pyplot as plt
    import tensorflow_datasets as tfds

    globs = {k: v for k, v in namespace.items() if not k.startswith("_")}
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, globs=globs)
    examples = [t for t in tests if t.examples]
    if inspect.ismodule(obj) and not examples:
        pytest.skip(f"the module {name} shows no example")
    assert examples, f"{name} has no Example (python scripts/docstring_coverage.py lists them)"

    source = "".join(e.source for t in examples for e in t.examples)
    if "import keras_hub" in source and importlib.util.find_spec("keras_hub") is None:
        pytest.skip("keras-hub is not installed (optional: pip install 'tfattr[keras-hub]')")

    folder = tmp_path / "work"

    shutil.copytree(namespace["_folder"], folder)
    monkeypatch.chdir(folder)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    # TFDS datasets are TFDS's mock data: the loading code runs, nothing is downloaded.
    tfds_data = "tfds_dataset" in source or "imagenet_a(" in source
    with tfds.testing.mock_data(num_examples=4) if tfds_data else contextlib.nullcontext():
        for test in examples:
            runner.run(test)
    plt.close("all")
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} example lines failed"


def test_every_public_name_documents_args_returns_and_an_example():
    """Google-style sections on every public name: ``Args`` where there are parameters,
    ``Returns`` where something is returned, ``Example`` everywhere."""
    lacking = []
    for name, obj in COVERAGE.public_objects():
        missing = [key for key, ok in COVERAGE.check(obj).items() if ok is False]
        if missing:
            lacking.append(f"{name}: lacks {', '.join(missing)}")
    assert not lacking, "\n".join(lacking)


def test_every_explainer_documents_args_and_an_example():
    for name in registry.CLASSES:
        doc = inspect.getdoc(getattr(tfattr, name)) or ""
        assert "Example:" in doc, f"{name} has no Example"
        assert "Args:" in doc, f"{name} has no Args"
