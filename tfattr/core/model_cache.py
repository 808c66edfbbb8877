"""Per-model caches shared by every explainer of a model, without storing anything on it.

Compiled steps, forward passes and the number of classes depend on the model and the adapter's
configuration, not on the explainer: a second explainer with the same settings reuses them (a
notebook that builds an explainer per cell traces once). Entries are keyed by the model's
identity, checked through a weak reference; the most recently used models are kept, older ones
dropped (a compiled step holds the model's variables).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable

MODELS = 16
_caches: OrderedDict[int, tuple[Callable, dict]] = OrderedDict()
_lock = threading.Lock()


def for_model(model, name: str) -> dict:
    """The cache called ``name`` (e.g. ``"steps"``) of ``model``: a dict shared by everyone who
    asks for the same model and name (a private one if the model is not weak-referenceable)."""
    with _lock:
        entry = _caches.get(id(model))
        if entry is None or entry[0]() is not model:
            try:
                ref = weakref.ref(model)
            except TypeError:
                return {}
            entry = _caches[id(model)] = (ref, {})
            while len(_caches) > MODELS:
                _caches.popitem(last=False)
        _caches.move_to_end(id(model))
        return entry[1].setdefault(name, {})
