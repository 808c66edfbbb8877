"""The applications built on the library: the command line (``tfattr``), dataset evaluation
(``tfattr evaluate``: tf.distribute and Apache Beam), HTML reports and the demo.

The library (``tfattr.core``, ``tfattr.methods``, ``tfattr.models``, ...) never imports them.
Submodules load on first use, e.g. ``tfattr.apps.evaluate.read_maps("run")`` after ``import tfattr``.
"""

import importlib

_SUBMODULES = ("beam", "cli", "demo", "evaluate", "progress", "report")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"tfattr.apps.{name}")
    raise AttributeError(f"module 'tfattr.apps' has no attribute {name!r}")
