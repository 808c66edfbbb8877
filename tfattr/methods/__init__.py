"""Attribution methods: one small module each, on the shared engine and model adapter.

The classes exported here are those of the method registry (:data:`tfattr.registry.CLASSES`).
"""

import importlib

from tfattr.registry import CLASSES

for _name, _module in CLASSES.items():
    globals()[_name] = getattr(importlib.import_module(_module), _name)

__all__ = sorted(CLASSES, key=str.lower)
