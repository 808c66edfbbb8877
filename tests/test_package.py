"""The package surface: lazy top-level names agree with the modules that define them."""

import subprocess
import sys

import tfattr
import tfattr.methods


def test_top_level_method_names_are_exactly_the_methods_package():
    # tfattr/__init__.py lists them again so that `import tfattr` does not import TensorFlow.
    assert sorted(tfattr._METHODS) == sorted(tfattr.methods.__all__)
    for name in tfattr._METHODS:
        assert getattr(tfattr, name) is getattr(tfattr.methods, name)


def test_import_tfattr_does_not_import_tensorflow():
    code = "import sys, tfattr; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
