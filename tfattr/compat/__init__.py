"""Compatibility layers: other libraries' APIs computed by tfattr.

- :mod:`tfattr.compat.tf_explain` -- tf-explain's explainers and callbacks (change
  ``tf_explain`` to ``tfattr.compat.tf_explain`` in the imports and the rest of the code runs).
"""


def __getattr__(name):
    # ``tfattr.compat.tf_explain`` without importing it first, as ``tfattr.compat`` itself loads.
    if name == "tf_explain":
        import importlib

        return importlib.import_module("tfattr.compat.tf_explain")
    raise AttributeError(f"module 'tfattr.compat' has no attribute {name!r}")
