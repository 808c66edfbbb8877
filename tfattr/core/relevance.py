"""Layer-wise relevance propagation rules, as backward passes of call overrides.

Every rule maps the relevance ``R`` at a layer's output to the relevance at its input and is
linear in ``R``; so one backward pass seeded with 1 at the target score, times the score, is
LRP. A rule replaces the backward pass of a Conv/Dense layer's whole call (a fused activation is
passed through, as LRP treats activations); activation layers pass relevance unchanged; a
BatchNormalization that directly follows a Conv/Dense layer with no activation is folded into it
(the pair is one affine map for the rule, and the BN passes relevance through). Everything else
keeps its ordinary gradient: flatten/reshape/dropout are identities and max-pooling gives the
relevance to the pooled maximum (winner takes all), average pooling and a lone BN use the
epsilon rule through their own call. As everywhere in tfattr, the user's model is untouched.

Rules (``a`` the layer input, ``z = a W + b`` its linear output, ``s = R / stab(z)``,
``stab(z) = z + eps sign(z)``):

- ``epsilon``: ``R_in = a * (s W^T)``.
- ``gamma``: the same with ``W + gamma W+`` and ``b + gamma b+``.
- ``alpha_beta``: positive and negative contributions ``z+`` = ``a+ W+ + a- W-`` (and ``z-``)
  apart, no bias; ``R_in = alpha R_in(z+) - beta R_in(z-)``.
- ``flat``: ``W`` and ``a`` replaced by ones (relevance spread over the receptive field).
- ``box`` (z^B): ``z = a W - l W+ - h W-`` for inputs bounded by ``[l, h]``;
  ``R_in = a * (s W^T) - l * (s W+^T) - h * (s W-^T)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

from tfattr.core import layers
from tfattr.errors import ModelError

RULES = ("epsilon", "gamma", "alpha_beta", "flat", "box")
WEIGHTED = ("Dense", "Conv1D", "Conv2D", "Conv3D")
CALL_EPSILON = (  # linear layers without weights of their own: the epsilon rule via their call
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "BatchNormalization",
)
STABILIZER = 1e-9  # of the rules other than epsilon


@dataclasses.dataclass(frozen=True)
class Rule:
    """A rule and its parameters."""

    name: str
    epsilon: float = 1e-6
    gamma: float = 0.25
    alpha: float = 1.0
    beta: float = 0.0
    bounds: tuple | None = None  # (low, high) for ``box``; None: each row's min and max


def _stab(z, eps):
    return z + eps * tf.where(z >= 0, 1.0, -1.0)


def affine(layer, fold=None) -> Callable:
    """``(a, kernel_map, with_bias) -> z``: the layer's linear map with a modified kernel.

    ``fold`` is a BatchNormalization layer to fold in (its scale multiplies the kernel's output
    channels, its shift joins the bias).
    """
    kind = type(layer).__name__
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ModelError(f"LRP: {layer.name!r} is channels_first; only channels_last is supported.")
    if kind != "Dense" and (getattr(layer, "groups", 1) != 1 or layer.padding == "causal"):
        raise ModelError(f"LRP: grouped or causal convolutions ({layer.name!r}) are not supported.")

    def parameters():
        # Read at call time (inside the compiled step), so later weight changes are seen.
        kernel = tf.convert_to_tensor(layer.kernel)
        bias = tf.convert_to_tensor(layer.bias) if layer.use_bias else tf.zeros(kernel.shape[-1])
        if fold is None:
            return kernel, bias
        scale = tf.math.rsqrt(tf.convert_to_tensor(fold.moving_variance) + fold.epsilon)
        if fold.scale:
            scale = scale * tf.convert_to_tensor(fold.gamma)
        shift = -tf.convert_to_tensor(fold.moving_mean) * scale
        if fold.center:
            shift = shift + tf.convert_to_tensor(fold.beta)
        return kernel * scale, bias * scale + shift

    def linear(a, kernel_map=None, with_bias=True):
        kernel, bias = parameters()
        k = kernel if kernel_map is None else kernel_map(kernel)
        if kind == "Dense":
            z = tf.tensordot(a, k, [[a.shape.rank - 1], [0]])
        else:
            z = tf.nn.convolution(
                a,
                k,
                strides=layer.strides,
                padding=layer.padding.upper(),
                dilations=layer.dilation_rate,
            )
        if with_bias:
            z = z + (bias if kernel_map is None else kernel_map(bias))
        return z

    return linear


def _pull(fn, inputs, s):
    """Gradients of ``sum(fn(*inputs) * s)`` w.r.t. each input: ``s`` sent back through fn."""
    with tf.GradientTape() as tape:
        for t in inputs:
            tape.watch(t)
        total = tf.reduce_sum(fn(*inputs) * tf.stop_gradient(s))
    return tape.gradient(total, inputs)


def backward(rule: Rule, linear: Callable) -> Callable:
    """``(a, y, R) -> R_in`` for a weighted layer whose linear map is ``linear``."""
    pos = tf.nn.relu

    def neg(t):
        return tf.minimum(t, 0.0)

    def run(a, y, relevance):
        name = rule.name
        if name in ("epsilon", "gamma"):
            if name == "epsilon":
                fn, eps = linear, rule.epsilon
            else:

                def fn(t):
                    return linear(t, lambda w: w + rule.gamma * pos(w))

                eps = STABILIZER
            s = relevance / _stab(fn(a), eps)
            return a * _pull(fn, [a], s)[0]
        if name == "alpha_beta":

            def part(wa, wb):
                def fn(p, n):
                    return linear(p, wa, False) + linear(n, wb, False)

                ap, an = pos(a), neg(a)
                s = relevance / _stab(fn(ap, an), STABILIZER)
                gp, gn = _pull(fn, [ap, an], s)
                return ap * gp + an * gn

            result = rule.alpha * part(pos, neg)
            if rule.beta:
                result -= rule.beta * part(neg, pos)
            return result
        if name == "flat":

            def fn(t):
                return linear(t, tf.ones_like, False)

            ones = tf.ones_like(a)
            s = relevance / _stab(fn(ones), STABILIZER)
            return _pull(fn, [ones], s)[0]
        if name == "box":
            axes = list(range(1, a.shape.rank))
            if rule.bounds is None:
                low = tf.broadcast_to(tf.reduce_min(a, axes, keepdims=True), tf.shape(a))
                high = tf.broadcast_to(tf.reduce_max(a, axes, keepdims=True), tf.shape(a))
            else:
                low = tf.fill(tf.shape(a), float(rule.bounds[0]))
                high = tf.fill(tf.shape(a), float(rule.bounds[1]))

            def fn(t, lo, hi):
                return linear(t, None, False) - linear(lo, pos, False) - linear(hi, neg, False)

            s = relevance / _stab(fn(a, low, high), STABILIZER)
            ga, gl, gh = _pull(fn, [a, low, high], s)
            return a * ga + low * gl + high * gh
        raise ValueError(f"rule: expected one of {RULES}, got {name!r}.")

    return run


def _epsilon_through_call(call, eps) -> Callable:
    def run(a, y, relevance):
        s = relevance / _stab(call(a), eps)
        return a * _pull(call, [a], s)[0]

    return run


def _passthrough(a, y, relevance):
    return relevance


def _override(backward_fn, store=None, layer=None) -> layers.Override:
    def override(call):
        def run(inputs, *args, **kwargs):
            def forward(a):
                return call(a, *args, **kwargs)

            def recorded(a, y, relevance):
                result = backward_fn(a, y, relevance)
                if store is not None:
                    store.append((layer, result))
                return result

            return layers.with_gradient(forward, recorded)(inputs)

        return run

    return override


def _calls(adapter, image_shape) -> list[tuple[object, object, object]]:
    """``(layer, input, output)`` of each leaf layer call, in execution order."""
    calls: list = []

    def recorder(layer):
        def override(call):
            def run(inputs, *args, **kwargs):
                out = call(inputs, *args, **kwargs)
                calls.append((layer, inputs, out))
                return out

            return run

        return override

    leaves = [layer for _, layer in layers.walk(adapter.model) if not layers.is_container(layer)]
    adapter(tf.zeros((1, *image_shape)), overrides={layer: recorder(layer) for layer in leaves})
    return calls


def overrides(adapter, image_shape, rule_for: Callable, store: list | None = None) -> dict:
    """Call overrides that turn the model's backward pass into LRP.

    ``rule_for(layer, first)`` returns the :class:`Rule` of a Conv/Dense layer (``first``: it
    reads the model's input). ``store``, if given, receives ``(layer, relevance at its input)``
    during eager backward passes (to check conservation).
    """
    calls = _calls(adapter, image_shape)
    result: dict = {}
    producers = {id(out): layer for layer, _, out in calls}
    first_seen = False
    folded: dict = {}
    for layer, inputs, _ in calls:
        kind = type(layer).__name__
        if kind == "BatchNormalization":
            source = producers.get(id(inputs))
            if (
                source is not None
                and type(source).__name__ in WEIGHTED
                and layers.activation_name(source) is None
                and layer.axis in (-1, len(inputs.shape) - 1, [-1])
            ):
                folded[source] = layer
    for layer, _, _ in calls:
        kind = type(layer).__name__
        removal = adapter.overrides.get(layer)  # the final softmax the adapter removes
        if kind in WEIGHTED:
            rule = rule_for(layer, not first_seen)
            first_seen = True
            linear = affine(layer, folded.get(layer))
            override = _override(backward(rule, linear), store, layer)
            if removal is not None:  # a fused softmax: keep it removed under the rule
                override = _compose(override, removal)
            result[layer] = override
        elif removal is not None:
            continue
        elif layer in folded.values() or kind in layers.ACTIVATION_LAYERS:
            result[layer] = _override(_passthrough, store, layer)
        elif kind in CALL_EPSILON:
            result[layer] = _call_epsilon_override(store, layer)
    return result


def _compose(outer: layers.Override, inner: layers.Override) -> layers.Override:
    return lambda call: outer(inner(call))


def _call_epsilon_override(store, layer, eps=1e-9) -> layers.Override:
    def override(call):
        def run(inputs, *args, **kwargs):
            def forward(a):
                return call(a, *args, **kwargs)

            rule = _epsilon_through_call(forward, eps)

            def recorded(a, y, relevance):
                result = rule(a, y, relevance)
                if store is not None:
                    store.append((layer, result))
                return result

            return layers.with_gradient(forward, recorded)(inputs)

        return run

    return override
