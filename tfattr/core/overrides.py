"""Layer overrides that never touch the user's objects.

An *override* changes how one layer computes during one forward pass: a tap that records the
layer's output, a backward rule (Guided Backprop, DeepLift, LRP), the final softmax skipped. It
is a function ``override(call) -> new_call`` of the layer's own ``call``.

tfattr applies overrides to a **mirror** of the model, a structure tfattr owns: the model's graph
rebuilt with Keras' public ``clone_model`` over the *same* layer objects (so the user's weights,
live), each leaf layer wrapped in a tfattr proxy. A proxy runs its layer unchanged unless the
forward pass in progress on the calling thread asked for an override of that layer. The user's
model, its layers and their attributes are never modified, so other threads calling the model,
and other explainers sharing it, see it exactly as it is. Nested Functional and Sequential models
are mirrored recursively.

Subclassed models, and subclassed models nested inside a Functional one, have no graph that
Keras can rebuild. Their inner layers are reached by a *transient* override: the layer gets an
instance-level ``call`` for the duration of one forward pass, under a lock held per model, and is
restored exactly afterwards, also when the pass raises. tfattr's own concurrent calls are
serialised by that lock, but a thread of the user's that calls such a model *while* tfattr runs a
forward pass through it may see the override. Only subclassed models take this path.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger("tfattr")

# An override takes the layer's own call and returns the call to use instead.
Override = Callable[[Callable[..., Any]], Callable[..., Any]]

_local = threading.local()  # .active: the overrides of the forward pass running on this thread


def _active() -> dict:
    return getattr(_local, "active", None) or {}


@contextlib.contextmanager
def _on_this_thread(overrides: dict) -> Iterator[None]:
    previous = _active()
    _local.active = {**previous, **overrides}
    try:
        yield
    finally:
        _local.active = previous


def is_container(layer) -> bool:
    return hasattr(layer, "layers") and hasattr(layer, "get_layer")


def keras_module(model):
    """The Keras package a model belongs to: ``keras`` (Keras 3) or ``tf_keras`` (legacy)."""
    if any(cls.__module__.startswith("tf_keras") for cls in type(model).__mro__):
        import tf_keras

        return tf_keras
    import keras

    return keras


_PROXY_CLASSES: dict = {}


def _proxy_class(module):
    """The proxy layer class for one Keras package (Keras 3 and tf-keras layers don't mix)."""
    if module.__name__ not in _PROXY_CLASSES:

        class LayerProxy(module.layers.Layer):
            """Runs ``layer`` as it is, or as the current forward pass overrides it."""

            def __init__(self, layer):
                super().__init__(name=layer.name, dtype=layer.dtype_policy)
                self.layer = layer
                # Keyword arguments the layer's own call takes (None: any), for overrides that
                # call it directly (Keras adds e.g. ``training`` for the proxy's **kwargs).
                parameters = inspect.signature(layer.call).parameters.values()
                self.keywords = (
                    None
                    if any(p.kind is p.VAR_KEYWORD for p in parameters)
                    else {p.name for p in parameters}
                )

            def compute_output_spec(self, *args, **kwargs):
                return self.layer.compute_output_spec(*args, **kwargs)

            def call(self, *args, **kwargs):
                override = _active().get(self.layer)
                if override is None:
                    return self.layer(*args, **kwargs)
                if self.keywords is not None:
                    kwargs = {k: v for k, v in kwargs.items() if k in self.keywords}
                return override(self.layer.call)(*args, **kwargs)

        _PROXY_CLASSES[module.__name__] = LayerProxy
    return _PROXY_CLASSES[module.__name__]


class Mirror:
    """A model's graph rebuilt over its own layers, each leaf behind a tfattr proxy.

    ``reached`` holds the layers the mirror's proxies can override; the others (inside
    subclassed parts) take the transient path of :func:`forward`.
    """

    def __init__(self, model):
        self.reached: set[int] = set()
        self.model = self._rebuild(model)

    def _rebuild(self, model):
        module = keras_module(model)
        proxy = _proxy_class(module)

        def clone_layer(layer):
            if is_container(layer):
                rebuilt = self._try_rebuild(layer)
                if rebuilt is not None:
                    return rebuilt
            self.reached.add(id(layer))
            return proxy(layer)

        return module.models.clone_model(model, clone_function=clone_layer)

    def _try_rebuild(self, model):
        reached = set(self.reached)
        try:
            return self._rebuild(model)
        except (TypeError, ValueError, NotImplementedError, AttributeError) as error:
            self.reached = reached
            log.debug("tfattr: %s is not rebuildable (%s)", getattr(model, "name", model), error)
            return None


_MIRRORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> Mirror | None
_LOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> transient-path lock
_GUARD = threading.Lock()


def mirror(model) -> Mirror | None:
    """The model's mirror (built once per model, shared by every adapter), or None when the
    model has no graph Keras can rebuild (a subclassed model)."""
    with _GUARD:
        if model not in _MIRRORS:
            built = None
            if _is_graph_model(model):
                try:
                    built = Mirror(model)
                except (TypeError, ValueError, NotImplementedError, AttributeError) as error:
                    log.debug("tfattr: %s is not rebuildable (%s)", model.name, error)
            _MIRRORS[model] = built
            _LOCKS[model] = threading.RLock()
        return _MIRRORS[model]


def _is_graph_model(model) -> bool:
    if type(model).__name__ == "Sequential":
        return True
    return bool(getattr(model, "inputs", None)) and bool(getattr(model, "outputs", None))


def forward(model, x, overrides: dict, **call_kwargs):
    """``model(x, **call_kwargs)`` with ``overrides`` (layer -> override) applied for this call.

    Without overrides the user's model runs as it is. Otherwise the mirror runs, with the
    overrides visible to its proxies on this thread only; overrides of layers the mirror does not
    reach are applied transiently under the model's lock (see the module docstring).
    """
    if not overrides:
        return model(x, **call_kwargs)
    built = mirror(model)
    if built is None:
        reached, transient, runner = {}, overrides, model
    else:
        reached = {k: v for k, v in overrides.items() if id(k) in built.reached}
        transient = {k: v for k, v in overrides.items() if id(k) not in built.reached}
        runner = built.model
    with _on_this_thread(reached):
        if not transient:
            return runner(x, **call_kwargs)
        with _LOCKS[model], _transient_calls(transient):
            return runner(x, **call_kwargs)


@contextlib.contextmanager
def _transient_calls(overrides: dict) -> Iterator[None]:
    """Gives each layer an instance-level ``call`` for the block, restored exactly after."""
    saved = []
    try:
        for layer, override in overrides.items():
            had_own = "call" in vars(layer)
            replacement = override(layer.call)  # may raise: nothing changed for this layer yet
            previous = vars(layer).get("call")
            object.__setattr__(layer, "call", replacement)
            saved.append((layer, had_own, previous))
        yield
    finally:
        for layer, had_own, previous in reversed(saved):
            if had_own:
                object.__setattr__(layer, "call", previous)
            else:
                object.__delattr__(layer, "call")


def with_activation(layer, activation: Callable) -> Callable:
    """``layer.call`` computed with another fused ``activation=``, the layer left untouched.

    A shallow twin of the layer (the same weight variables, read live) carries the other
    activation; the user's layer object is not modified.
    """
    twin = object.__new__(type(layer))
    twin.__dict__.update(vars(layer))
    twin.__dict__["activation"] = activation
    return twin.call
