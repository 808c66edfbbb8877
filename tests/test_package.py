"""The package surface: lazy top-level names agree with the modules that define them."""

import subprocess
import sys

import tfattr
import tfattr.methods


def test_the_registry_is_the_one_list_of_methods():
    """Top-level names, ``tfattr.methods`` and the CLI's methods all come from the registry, and
    every explainer class defined in ``tfattr.methods`` is in it."""
    import importlib
    import inspect
    import pkgutil

    from tfattr import registry
    from tfattr.core.explainer import Explainer

    assert sorted(tfattr.methods.__all__) == sorted(registry.CLASSES)
    for name in registry.CLASSES:
        assert name in tfattr.__all__
        assert getattr(tfattr, name) is getattr(tfattr.methods, name)
    defined = set()
    families = pkgutil.walk_packages(tfattr.methods.__path__, "tfattr.methods.")
    for info in families:
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Explainer)
                and value.__module__ == module.__name__
                and not name.startswith("_")
                and not inspect.isabstract(value)
            ):
                defined.add(name)
    assert defined <= set(registry.CLASSES), defined - set(registry.CLASSES)
    own_names = {n for n in registry.CLASSES if getattr(tfattr, n).__name__ == n}
    assert own_names <= defined, own_names - defined  # the walk reached every family
    # Methods sit in their family's folder: gradient, rules, cam, perturbation.
    for module in set(registry.CLASSES.values()):
        assert module.split(".")[2] in {"gradient", "rules", "cam", "perturbation"}, module
    for entry in registry.METHODS.values():
        assert entry.cls is getattr(tfattr, entry.class_name)


def test_import_tfattr_does_not_import_tensorflow():
    code = "import sys, tfattr; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_every_core_dependency_imports():
    """pip's choice of versions can be importable one by one yet broken together (protobuf)."""
    code = (
        "import tensorflow, keras, tf_keras, tensorflow_hub, tensorflow_datasets, numpy, "
        "matplotlib, tqdm, h5py, PIL\n"
        "from tensorflow_datasets.core.proto import dataset_info_pb2\n"
        "print(tensorflow.__version__, keras.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
