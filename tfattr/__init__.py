"""tfattr: attribution methods for TensorFlow/Keras image classifiers.

Example:
    >>> import tfattr
    >>> ig = tfattr.IntegratedGradients(model, steps=50)
    >>> attr, delta = ig.explain(images, target=386, return_convergence_delta=True)

Everything loads on first use, so ``import tfattr`` is instant and a command-line tool can
configure TensorFlow (log level, devices) before TensorFlow starts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from tfattr import registry as _registry


def _version() -> str:
    # One source of truth: the version in pyproject.toml, as the installed metadata records it.
    from importlib import metadata

    try:
        return metadata.version("tfattr")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


__version__ = _version()

# Public name -> the module that defines it.
# Explainer classes come from the method registry, the one list of methods.
_EXPORTS = {
    **_registry.CLASSES,
    "Explainer": "tfattr.core",
    "ModelAdapter": "tfattr.core",
    "adapt": "tfattr.core",
    "LayerNotFoundError": "tfattr.errors",
    "ModelError": "tfattr.errors",
    "OpaqueModelError": "tfattr.errors",
    "TfattrError": "tfattr.errors",
}
# Submodules (``tfattr.viz`` pulls in matplotlib, ``tfattr.data`` TFDS).
_SUBMODULES = (
    "adversarial",
    "callbacks",
    "apps",
    "compat",
    "core",
    "data",
    "errors",
    "methods",
    "metrics",
    "models",
    "registry",
    "report",
    "sanity",
    "targets",
    "viz",
)

__all__ = sorted([*_EXPORTS, "__version__"], key=str.lower)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"tfattr.{name}")
    raise AttributeError(f"module 'tfattr' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_EXPORTS, *_SUBMODULES])


if TYPE_CHECKING:  # for IDEs and type checkers: the same names, imported eagerly
    from tfattr.core import Explainer, ModelAdapter, adapt  # noqa: F401
    from tfattr.errors import (  # noqa: F401
        LayerNotFoundError,
        ModelError,
        OpaqueModelError,
        TfattrError,
    )
    from tfattr.methods import *  # noqa: F403
