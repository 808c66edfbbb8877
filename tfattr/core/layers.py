"""Layer access for methods that need the model's inside: lookup, taps and gradient rules.

Everything here works by overrides (:mod:`tfattr.core.overrides`): a tap or rule reaches a layer
wherever it lives -- a Functional model, a Sequential one, a base model nested as a layer of an
outer model (where ``keras.Model(inputs, layer.output)`` fails with "Graph disconnected"), or an
attribute of a subclassed model -- and the user's model is never modified.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterator

import tensorflow as tf

from tfattr import registry
from tfattr.core.adapter import ModelAdapter
from tfattr.core.overrides import Override, is_container, with_activation
from tfattr.core.targets import pick, top
from tfattr.errors import LayerNotFoundError, ModelError, OpaqueModelError

log = logging.getLogger("tfattr")

OPAQUE_HINT = (
    "This model exposes no layers (a SavedModel, TF-Hub module or plain callable). Methods that "
    "work on it: {methods}. For {method}, load the model as a Keras model "
    "(keras.models.load_model / keras.applications / tfattr.models.load of a .keras file)."
)


def require_layers(adapter: ModelAdapter, method: str) -> None:
    """Raises :class:`OpaqueModelError` when ``method`` cannot see inside the adapter's model."""
    if adapter.opaque:
        methods = ", ".join(registry.opaque_methods())
        raise OpaqueModelError(OPAQUE_HINT.format(method=method, methods=methods))


def walk(model, prefix: str = "") -> Iterator[tuple[str, object]]:
    """All layers below ``model`` as ``(path, layer)``, depth first, paths like ``base/conv``."""
    for layer in getattr(model, "layers", []):
        path = f"{prefix}{layer.name}"
        yield path, layer
        if is_container(layer):
            yield from walk(layer, path + "/")


def find_layer(model, layer) -> tuple[str, object]:
    """Finds a layer by object, name (searched at any depth) or path ``"outer/inner"``.

    Raises:
        LayerNotFoundError: no such layer, or a name that several nested layers share (the
            message lists the candidates' paths).
    """
    if isinstance(layer, str):
        return _find_by_name(model, layer)
    for path, candidate in walk(model):
        if candidate is layer:
            return path, candidate
    raise LayerNotFoundError(
        f"layer: {getattr(layer, 'name', layer)!r} is not a layer of this model."
    )


_FOUND: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {name: found}


def _find_by_name(model, layer: str) -> tuple[str, object]:
    """Name lookups are remembered per model (and number of top-level layers: a Sequential
    may grow); explainers look their layer up at every call."""
    key = (layer, len(getattr(model, "layers", ())))
    try:
        found = _FOUND.setdefault(model, {})
    except TypeError:  # not weak-referenceable
        found = {}
    if key not in found:
        found[key] = _search(model, layer)
    return found[key]


def _search(model, layer: str) -> tuple[str, object]:
    layers = list(walk(model))
    matches = [(p, c) for p, c in layers if p == layer]
    if not matches:
        matches = [(p, c) for p, c in layers if c.name == layer]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise LayerNotFoundError(
            f"layer: the name {layer!r} is ambiguous; use one of the paths "
            f"{[p for p, _ in matches]}."
        )
    names = [p for p, _ in layers]
    shown = names if len(names) <= 30 else names[:15] + ["..."] + names[-15:]
    raise LayerNotFoundError(f"layer: no layer named {layer!r}; the model's layers are {shown}.")


def recorder(calls: list) -> Callable[[object], Override]:
    """Override factory that appends ``(layer, output)`` to ``calls`` at each call."""

    def for_layer(layer) -> Override:
        def override(call):
            def run(*args, **kwargs):
                out = call(*args, **kwargs)
                calls.append((layer, out))
                return out

            return run

        return override

    return for_layer


def execution_order(adapter: ModelAdapter, image_shape: tuple) -> list[tuple[object, tuple]]:
    """``(layer, output shape)`` of each leaf layer in the order a forward pass calls them.

    Found by one recorded forward pass per input shape, kept by the adapter: a method that
    picks its layer this way on every call (Grad-CAM's default) must not pay a pass each time.
    """
    order = adapter.execution_orders.get(tuple(image_shape))
    if order is None:
        calls: list = []
        record = recorder(calls)
        leaves = [layer for _, layer in walk(adapter.model) if not is_container(layer)]
        adapter(tf.zeros((1, *image_shape)), overrides={layer: record(layer) for layer in leaves})
        order = [(layer, tuple(out.shape)) for layer, out in calls if hasattr(out, "shape")]
        adapter.execution_orders[tuple(image_shape)] = order
    return order


def default_cam_layer(adapter: ModelAdapter, image_shape: tuple):
    """The last layer (in execution order, inside nested models too) with a 4-D output.

    Maps of a single position (1 x 1, e.g. after global pooling kept as 4-D) are skipped: they
    have no spatial extent to explain.
    """
    for layer, shape in reversed(execution_order(adapter, image_shape)):
        if len(shape) == 4 and shape[1] * shape[2] > 1:
            path, _ = find_layer(adapter.model, layer)
            log.info("tfattr: using layer %r (output %s) as the CAM layer", path, shape)
            return layer
    raise LayerNotFoundError(
        "layer: the model has no layer with a 4-D (N, H, W, C) output to explain; pass layer=."
    )


def capture(store: list, tape: tf.GradientTape | None = None) -> Override:
    """Override that records the layer's output (watched by ``tape``) into ``store``."""

    def override(call):
        def run(*args, **kwargs):
            out = call(*args, **kwargs)
            if tape is not None:
                tape.watch(out)
            store.append(out)
            return out

        return run

    return override


def layer_gradients(adapter: ModelAdapter, points, targets, layer, overrides=None):
    """A layer's output ``A`` and the gradient of each row's target score w.r.t. it.

    With ``targets`` None each row uses its own top class. Raises ModelError when the layer runs
    more than once per forward pass (a shared layer has no single output to explain).
    """
    store: list = []
    with tf.GradientTape() as tape:
        scores = adapter(points, overrides={**(overrides or {}), layer: capture(store, tape)})
        if targets is None:
            targets = top(scores)
        picked = pick(scores, targets)
    if len(store) != 1:
        raise ModelError(
            f"layer: {layer.name!r} runs {len(store)} times in one forward pass; pick a layer "
            f"that runs once."
        )
    grads = tape.gradient(picked, store[0])
    # A non-finite score makes its row's gradient non-finite too (x * 0 is NaN only for NaN and
    # inf), so the explainer's check of its results sees it.
    nan_if_nan = tf.cast(tf.reshape(picked * 0.0, [-1] + [1] * (grads.shape.rank - 1)), grads.dtype)
    grads = grads + nan_if_nan
    return store[0], grads


# --- Gradient rules on activations ------------------------------------------------------------

ACTIVATION_LAYERS = (
    "Activation",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "PReLU",
    "ThresholdedReLU",
    "Softmax",
)


def activation_name(layer) -> str | None:
    """The name of the elementwise activation a layer applies (``relu``, ``sigmoid``, ...).

    Covers activation layers (``Activation``, ``ReLU``, ``LeakyReLU``, ``ELU``, ...) and the
    fused ``activation=`` argument of Conv/Dense layers. None when it applies none (``linear``).
    """
    kind = type(layer).__name__
    if kind == "ReLU":
        slope = float(getattr(layer, "negative_slope", 0.0) or 0.0)
        threshold = float(getattr(layer, "threshold", 0.0) or 0.0)
        return "relu" if slope == 0 and threshold == 0 else "leaky_relu"
    if kind == "Softmax":
        return "softmax"
    if kind in ACTIVATION_LAYERS and kind != "Activation":
        return kind.lower()
    fn = getattr(layer, "activation", None)
    name = getattr(fn, "__name__", None) if fn is not None else None
    return None if name in (None, "linear") else name


def activation_overrides(model, rule: Callable[[Callable, str], Callable | None], skip=()) -> dict:
    """Overrides that apply ``rule(activation_fn, name) -> new_fn`` to every activation.

    ``activation_fn`` maps a tensor to the activation's output (for activation layers, the
    layer's own call); ``rule`` returns its replacement, or None to leave it alone. Activation
    layers have their call replaced; layers with a fused ``activation=`` run a twin of the layer that
    carries the new activation (:func:`tfattr.core.overrides.with_activation`). Layers in ``skip`` (e.g.
    the final softmax the adapter already removes) are left out.
    """
    overrides = {}
    for _, layer in walk(model):
        if is_container(layer) or layer in skip:
            continue
        name = activation_name(layer)
        if name is None:
            continue
        if type(layer).__name__ in ACTIVATION_LAYERS:
            overrides[layer] = _replace_call(rule, name)
        elif rule(layer.activation, name) is not None:
            overrides[layer] = _swap_activation(rule, name, layer)
    return overrides


def _replace_call(rule, name) -> Override:
    def override(call):
        new = rule(lambda x: call(x), name)
        if new is None:
            return call
        return lambda inputs, *args, **kwargs: new(inputs)

    return override


def _swap_activation(rule, name, layer) -> Override:
    return lambda call: with_activation(layer, rule(layer.activation, name))


def with_gradient(fn: Callable, backward: Callable) -> Callable:
    """``fn`` with its input gradient replaced by ``backward(x, y, upstream)``.

    Variables that ``fn`` may read (e.g. PReLU's slopes) get zero gradients: attribution never
    trains the model.
    """

    @tf.custom_gradient
    def wrapped(x):
        y = fn(x)

        def grad(upstream, variables=None):
            dx = backward(x, y, upstream)
            if variables:
                return dx, [tf.zeros_like(v) for v in variables]
            return dx

        return y, grad

    return wrapped


def local_derivative(fn: Callable, x: tf.Tensor, upstream: tf.Tensor | None = None):
    """``upstream * fn'(x)`` for an elementwise ``fn`` (ordinary backpropagation through it)."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x, output_gradients=upstream)
