"""Layer access for methods that need the model's inside: lookup, taps and gradient rules.

Everything here works by overrides (:mod:`tfattr.core.overrides`): a tap or rule reaches a layer
wherever it lives -- a Functional model, a Sequential one, a base model nested as a layer of an
outer model (where ``keras.Model(inputs, layer.output)`` fails with "Graph disconnected"), or an
attribute of a subclassed model -- and the user's model is never modified.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import tensorflow as tf

from tfattr import registry
from tfattr.core import model_cache
from tfattr.core.adapter import CacheKey, ModelAdapter
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
    """The default CAM layer: a convolutional feature map, or the token layer of a token model.

    Convolutional models: the last layer (in execution order, inside nested models too) with
    a 4-D output; maps of a single position (1 x 1, e.g. after global pooling kept as 4-D) are
    skipped, having no spatial extent to explain.

    Token models (ViT, DeiT: layers with ``(N, tokens, D)`` outputs whose patch tokens tile the
    image, after the last feature map): KerasHub's ViT uses the last encoder block's first
    layer norm (:func:`tfattr.models.kerashub.vit_cam_layer`); other token models the last
    token layer whose patch tokens still reach the score. In a ViT that reads the class token, the patch tokens of the last block's output
    have no path to the score (their gradient is 0, as pytorch-grad-cam's ViT guide notes), so
    the layer is one before the last token mixing -- found by one gradient pass, kept per input
    shape.
    """
    key = ("default", tuple(image_shape))
    memo = _memo(adapter)
    if key not in memo:
        memo[key] = _default_cam_layer(adapter, tuple(image_shape))
    layer = memo[key]
    log.info("tfattr: using layer %r as the CAM layer", layer.name)
    return layer


def _default_cam_layer(adapter: ModelAdapter, image_shape: tuple):
    from tfattr.models.kerashub import vit_cam_layer

    known = vit_cam_layer(adapter.model)
    if known is not None:
        return known
    order = execution_order(adapter, image_shape)
    runs: dict = {}
    for layer, _ in order:
        runs[id(layer)] = runs.get(id(layer), 0) + 1
    last_map = -1
    for index, (_, shape) in enumerate(order):
        if len(shape) == 4 and shape[1] * shape[2] > 1:
            last_map = index
    tokens = [
        (layer, grid)
        for layer, shape in order[last_map + 1 :]
        if len(shape) == 3 and runs[id(layer)] == 1
        for grid in [token_layout(adapter.model, shape[1], image_shape)]
        if grid is not None
    ]
    if tokens:
        reaching = _reaching(adapter, tokens, image_shape)
        if not reaching:
            log.warning(
                "tfattr: no token layer's patch tokens reach the score; gradient CAMs will "
                "give zero maps on %r",
                tokens[-1][0].name,
            )
        return (reaching or tokens)[-1][0]
    if last_map >= 0:
        return order[last_map][0]
    raise LayerNotFoundError(
        "layer: the model has no layer with a 4-D (N, H, W, C) output nor a token layer "
        "(N, tokens, D) whose tokens tile the image; pass layer= (and reshape= for tokens)."
    )


def _reaching(adapter: ModelAdapter, tokens: list, image_shape: tuple) -> list:
    """The token layers whose patch tokens reach the top score of a random image."""
    stores = {id(layer): [] for layer, _ in tokens}
    x = tf.random.stateless_uniform((1, *image_shape), (0, 0))
    with tf.GradientTape() as tape:
        scores = adapter(
            x, overrides={layer: capture(stores[id(layer)], tape) for layer, _ in tokens}
        )
        top = tf.reduce_max(scores, axis=-1)
    outputs = [stores[id(layer)][0] for layer, _ in tokens]
    grads = tape.gradient(top, outputs, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return [
        (layer, grid)
        for (layer, grid), grad in zip(tokens, grads, strict=True)
        if float(tf.reduce_max(tf.abs(grid.to_grid(grad)))) > 0
    ]


def _memo(adapter) -> dict:
    """Resolved CAM layers, shared by every explainer of the model with the same adapter
    settings: the same objects key the compiled steps, which they then share too."""
    return model_cache.for_model(adapter.model, ("cam_layers", adapter.key()))


def token_layout(model, tokens: int, image_shape: tuple):
    """How ``tokens`` tokens tile an image of ``image_shape``: a TokenGrid, or None.

    KerasHub ViT/DeiT models say it in their config (:func:`tfattr.models.token_grid`);
    otherwise the grid is the one with the image's aspect ratio (``rows * W == cols * H``) after
    0, 1 or 2 leading tokens (class / distillation tokens). At most one of these fits, since
    grids of one aspect ratio differ by at least 3 tokens.
    """
    from tfattr.models.kerashub import TokenGrid, token_grid

    try:
        grid = token_grid(model)
    except ValueError:
        grid = None
    if grid is not None and grid.tokens == tokens:
        return grid
    height, width = int(image_shape[0]), int(image_shape[1])
    for prefix in (0, 1, 2):
        count = tokens - prefix
        if count < 2:
            continue
        rows = round(math.sqrt(count * height / width))
        if rows > 0 and count % rows == 0 and rows * width == (count // rows) * height:
            return TokenGrid(rows, count // rows, prefix)
    return None


@dataclasses.dataclass(frozen=True, eq=False)
class CamLayer:
    """A CAM layer: a model layer and how its output becomes an ``(N, h, w, K)`` feature map.

    Attributes:
        layer: the model's layer (overrides and taps are keyed by it).
        path: its path in the model (``"base/conv"``).
        reshape: None (the output is a feature map), or ``(N, ...) -> (N, h, w, K)`` applied
            to the layer's output and to the gradient w.r.t. it (pytorch-grad-cam's
            ``reshape_transform``): a token grid, or the user's ``reshape=``.
        grid: the :class:`tfattr.models.TokenGrid` of an automatic token reshape, else None.
    """

    layer: Any
    path: str
    reshape: Callable | None = None
    grid: Any = None

    @property
    def name(self) -> str:
        return self.layer.name

    def feature_map(self, output: tf.Tensor) -> tf.Tensor:
        """The layer's output (or a gradient w.r.t. it) as the ``(N, h, w, K)`` map."""
        return output if self.reshape is None else self.reshape(output)


def keras_layer(layer):
    """The model layer of a :class:`CamLayer`, or ``layer`` itself."""
    return layer.layer if isinstance(layer, CamLayer) else layer


def cam_layer(adapter: ModelAdapter, layer, reshape, image_shape: tuple) -> CamLayer:
    """Resolves a CAM method's ``layer=`` and ``reshape=`` options to a :class:`CamLayer`.

    ``layer`` None takes :func:`default_cam_layer`. A layer with a 4-D output is used as it
    is; one with an ``(N, tokens, D)`` output has its patch tokens reshaped to their grid
    (:func:`token_layout`), class tokens dropped. ``reshape`` (a callable) replaces that
    reshape for any layer. The same arguments give the same object, also when threads resolve
    them at once, so compiled steps keyed by it are reused. Compiled steps hold the object in
    their keys, never its ``id``: an id is reused once its object is freed.

    Raises:
        LayerNotFoundError: no such layer (see :func:`find_layer`).
        ValueError: a token layer whose tokens do not tile the image, without ``reshape``.
    """
    image_shape = tuple(image_shape)
    chosen = default_cam_layer(adapter, image_shape) if layer is None else layer
    key = ("cam", CacheKey.of(chosen), CacheKey.of(reshape), image_shape)  # (kept alive)
    memo = _memo(adapter)
    if key in memo:
        return memo[key]
    path, found, shape = _find_cam_layer(adapter, chosen, image_shape)
    if reshape is not None:
        resolved = CamLayer(found, path, _checked(reshape, path))
    else:
        resolved = CamLayer(found, path)
        if shape is not None and len(shape) == 3:
            grid = token_layout(adapter.model, shape[1], image_shape)
            if grid is None:
                raise ValueError(
                    f"layer: {path!r} outputs {_shape(shape)}: {shape[1]} tokens do not tile "
                    f"a {image_shape[0]}x{image_shape[1]} image as a grid of its aspect ratio "
                    f"after 0, 1 or 2 class tokens. Pass reshape=fn mapping the layer's output "
                    f"{_shape(shape)} to a (N, h, w, {shape[2]}) feature map, or pick another "
                    f"layer."
                )
            resolved = CamLayer(found, path, grid.to_grid, grid)
    # The first thread's object wins: another's would be freed after its call.
    return memo.setdefault(key, resolved)


def _find_cam_layer(adapter: ModelAdapter, layer, image_shape: tuple):
    """``(path, layer, output shape)`` of a CAM layer.

    Besides the model's layers (:func:`find_layer`), a layer object that runs inside another
    layer is accepted -- e.g. a block of KerasHub's ViT encoder, which runs all its blocks in
    one layer: it is found by a forward pass that records it, and reached by a call override
    for one pass at a time (as the inner layers of subclassed models).
    """
    try:
        path, found = find_layer(adapter.model, layer)
    except LayerNotFoundError:
        if isinstance(layer, str) or not callable(getattr(layer, "call", None)):
            raise
        calls: list = []
        adapter(tf.zeros((1, *image_shape)), overrides={layer: recorder(calls)(layer)})
        if not calls:
            raise LayerNotFoundError(
                f"layer: {getattr(layer, 'name', layer)!r} is not a layer of this model: it "
                f"does not run in a forward pass."
            ) from None
        return layer.name, layer, tuple(calls[0][1].shape)
    order = execution_order(adapter, image_shape)
    return path, found, next((s for candidate, s in order if candidate is found), None)


def _shape(shape) -> str:
    return "(" + ", ".join("N" if i == 0 else str(d) for i, d in enumerate(shape)) + ")"


def _checked(reshape: Callable, path: str) -> Callable:
    """The user's reshape, with its result checked to be a 4-D map."""

    def run(output):
        mapped = tf.convert_to_tensor(reshape(output))
        if mapped.shape.rank != 4:
            raise ValueError(
                f"reshape: mapped the output {tuple(output.shape)} of layer {path!r} to shape "
                f"{tuple(mapped.shape)}; it must return an (N, h, w, K) feature map."
            )
        return mapped

    return run


def tapped_output(adapter: ModelAdapter, points, layer) -> tf.Tensor:
    """The output of ``layer`` (a layer or :class:`CamLayer`, as its feature map) for
    ``points``: one forward pass, no gradient.

    Raises:
        ModelError: the layer runs more or less than once per forward pass.
    """
    store: list = []
    adapter(points, overrides={keras_layer(layer): capture(store)})
    if len(store) != 1:
        raise ModelError(
            f"layer: {layer.name!r} runs {len(store)} times in one forward pass; pick a layer "
            f"that runs once."
        )
    return layer.feature_map(store[0]) if isinstance(layer, CamLayer) else store[0]


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
    """A layer's output ``A``, the gradient of each row's target score w.r.t. it, and the scores
    (a NaN score can have a finite gradient: callers check the scores).

    With ``targets`` None each row uses its own top class. Raises ModelError when the layer runs
    more than once per forward pass (a shared layer has no single output to explain). For a
    :class:`CamLayer` both are its feature map (a token layer's reshaped to its grid).
    """
    store: list = []
    tap = keras_layer(layer)
    with tf.GradientTape() as tape:
        scores = adapter(points, overrides={**(overrides or {}), tap: capture(store, tape)})
        if targets is None:
            targets = top(scores)
        picked = pick(scores, targets)
    if len(store) != 1:
        raise ModelError(
            f"layer: {layer.name!r} runs {len(store)} times in one forward pass; pick a layer "
            f"that runs once."
        )
    grads = tape.gradient(picked, store[0])
    if isinstance(layer, CamLayer):
        return layer.feature_map(store[0]), layer.feature_map(grads), picked
    return store[0], grads, picked


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
