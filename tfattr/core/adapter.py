"""The model adapter: one differentiable score function for any kind of model.

Whatever the user has -- a Keras 3 model (Functional, Sequential, nested, subclassed), a legacy
tf-keras model (e.g. with a ``hub.KerasLayer``), a TF SavedModel or ``hub.load`` object, or a plain
callable -- becomes ``adapter(x) -> scores`` of shape ``(batch, classes)`` in float32.

Changes to how the model computes (dropping the final softmax, taps, activation rules) are
*overrides* applied to a structure tfattr owns, never to the user's objects: see
:mod:`tfattr.core.overrides`.
"""

from __future__ import annotations

import copy
import logging
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from tfattr.core import model_cache
from tfattr.core import overrides as _overrides
from tfattr.core.overrides import Override, with_activation
from tfattr.errors import ModelError

log = logging.getLogger("tfattr")

OUTPUTS = ("logits", "probabilities", "raw")


def model_kind(model) -> str:
    """Classifies a model object: ``keras``, ``tf_keras``, ``saved_model`` or ``callable``."""
    modules = [cls.__module__ for cls in type(model).__mro__]
    if any(m.startswith("tf_keras") for m in modules):
        return "tf_keras" if hasattr(model, "layers") else "callable"
    if any(m.startswith("keras") for m in modules):
        return "keras" if hasattr(model, "layers") else "callable"
    if (isinstance(model, tf.Module) or hasattr(model, "signatures")) and (
        callable(model) or "serving_default" in getattr(model, "signatures", {})
    ):
        return "saved_model"
    if callable(model):
        return "callable"
    raise TypeError(
        f"model: expected a Keras model, a SavedModel/TF-Hub object or a callable "
        f"images -> scores, got {type(model).__name__}. To load from a path or a TF-Hub handle "
        f"use tfattr.models.load(...)."
    )


def is_softmax(fn) -> bool:
    """Whether an activation function (Keras 3 or tf-keras) is the softmax."""
    return getattr(fn, "__name__", "") == "softmax"


def _producer(model, tensor):
    """The layer of a Functional model whose output is ``tensor`` (None if none is found)."""
    for layer in reversed(model.layers):
        try:
            outputs = tf.nest.flatten(layer.output)
        except (AttributeError, ValueError, RuntimeError):  # no single output (a shared layer)
            continue
        if any(out is tensor for out in outputs):
            return layer
    return None


def output_layer(model, output_index: int | None = None):
    """The layer that produces the model's (selected) output, searched into nested models.

    Returns None when the model has no inspectable graph (subclassed models).
    """
    outputs = getattr(model, "outputs", None)
    if not getattr(model, "layers", None):
        return None
    if type(model).__name__ == "Sequential":
        layer = model.layers[-1]
    elif outputs:
        tensor = outputs[output_index or 0] if len(outputs) > 1 else outputs[0]
        # A nested model's ``output`` is its own graph's, not its call's in this model: the
        # layers are in graph order, so the last one produces a single output.
        layer = _producer(model, tensor) or (model.layers[-1] if len(outputs) == 1 else None)
    else:
        return None
    if layer is not None and hasattr(layer, "layers") and layer is not model:
        inner = output_layer(layer)
        return inner if inner is not None else layer
    return layer


def final_activation(layer) -> str | None:
    """``"softmax"`` or ``"sigmoid"`` when `layer` ends in that activation (a ``Softmax`` layer,
    an ``Activation`` layer, or a fused ``activation=``), else None."""
    if type(layer).__name__ == "Softmax":
        return "softmax"
    name = getattr(getattr(layer, "activation", None), "__name__", None)
    return name if name in ("softmax", "sigmoid") else None


def activation_removal(layer) -> Override | None:
    """An override that makes `layer` skip its final softmax or sigmoid, or None."""
    if final_activation(layer) is None:
        return None
    if type(layer).__name__ in ("Softmax", "Activation"):
        return lambda call: lambda inputs, *args, **kwargs: inputs
    return lambda call: with_activation(layer, _identity)


def softmax_override(layer) -> Override | None:
    """An override that makes `layer` skip its softmax, or None if it applies none."""
    return activation_removal(layer) if final_activation(layer) == "softmax" else None


def _identity(x):
    return x


class ModelAdapter:
    """Wraps a model as ``adapter(x) -> scores (batch, classes)``, float32 and differentiable.

    Args:
        model: a Keras 3 or tf-keras model, a SavedModel / ``hub.load`` object, or a callable.
        output: ``"logits"`` (default; a final softmax or sigmoid inside the model is skipped),
            ``"probabilities"`` (a softmax is applied unless the model ends in a softmax or a
            sigmoid; a single-logit model gets a sigmoid), or ``"raw"`` (what the model
            returns). Opaque models (SavedModel, callable) cannot have their softmax removed: if
            they return probabilities, ``"logits"`` warns and ``"raw"`` is the honest choice.
            A model with a single output score (a binary classifier) has two classes: class 1
            is its score and class 0 the negative class, ``-z`` for a logit ``z`` and ``1 - p``
            for a probability ``p`` (with ``"raw"``, only when the model ends in a sigmoid;
            otherwise its one score is class 0). Multi-label sigmoid models explain each
            label's logit.
        output_index: for models with several outputs, which one to explain (an index or a key
            of a dict output).

    Example:
        >>> adapter = tfattr.ModelAdapter(model)               # model ends in a softmax
        >>> scores = adapter(x)
        >>> scores.shape, adapter.softmax_removed               # logits, not probabilities
        (TensorShape([2, 1000]), True)
        >>> ig = tfattr.IntegratedGradients(adapter, steps=16)  # explainers share its steps
    """

    def __init__(self, model, *, output: str = "logits", output_index: int | str | None = None):
        if isinstance(model, ModelAdapter):
            model = model.model
        if output not in OUTPUTS:
            raise ValueError(f"output: expected one of {OUTPUTS}, got {output!r}.")
        self.model = model
        self.kind = model_kind(model)
        self.output = output
        self.output_index = output_index
        self.opaque = self.kind in ("saved_model", "callable")
        self._forward = self._make_forward()
        self._input_shape = None  # (H, W, C), read once the model declares it
        # Leaf layers and output shapes in call order, per input shape (layers.execution_order).
        self.execution_orders: dict[tuple, list] = {}
        self._final_layer, self.final_activation = None, None
        if not self.opaque:
            layer = output_layer(model, output_index if isinstance(output_index, int) else None)
            if layer is not None and final_activation(layer) is not None:
                self._final_layer, self.final_activation = layer, final_activation(layer)
        self.overrides: dict[Any, Override] = {}
        if self._final_layer is not None and output == "logits":
            self.overrides[self._final_layer] = activation_removal(self._final_layer)
        self.head: tuple | None = None  # callable targets (see with_head)

    def with_head(self, head) -> ModelAdapter:
        """This adapter followed by callable targets: scores ``(batch, len(head))``.

        Each callable of ``head`` maps the model's selected output (after the ``output=``
        handling: a final softmax skipped for ``"logits"``, probabilities for
        ``"probabilities"``, but no binary two-class expansion) to one score per row, ``(batch,)``,
        and becomes one score column. The model's output may then have any shape (regression
        ``(N,)`` or ``(N, 1)``, segmentation ``(N, H, W, K)``, ...). The new adapter shares this
        one's model and overrides; its :meth:`key` includes the callables, so compiled steps
        are shared only by adapters with the same (or equal) callables.

        Args:
            head: a sequence of callables ``outputs -> (batch,)`` scores.

        Returns:
            A new :class:`ModelAdapter` whose scores are ``(batch, len(head))``; this one is
            unchanged.

        Example:
            >>> contrast = tfattr.adapt(model).with_head([lambda out: out[:, 3] - out[:, 5]])
            >>> contrast(images).shape
            TensorShape([2, 1])
        """
        head = tuple(head)
        if not head or not all(callable(fn) for fn in head):
            raise TypeError(f"head: expected one or more callables, got {head!r}.")
        adapter = copy.copy(self)
        adapter.overrides = dict(self.overrides)
        adapter.head = head
        return adapter

    # ----------------------------------------------------------------------------------------
    @property
    def input_shape(self) -> tuple | None:
        """``(H, W, C)`` the model expects (entries may be None), or None if it does not say
        (yet: a subclassed model knows its input once built; a known one is kept)."""
        if self._input_shape is None:
            self._input_shape = self._read_input_shape()
        return self._input_shape

    def _read_input_shape(self) -> tuple | None:
        shape = None
        if self.kind in ("keras", "tf_keras"):
            inputs = getattr(self.model, "inputs", None)
            if inputs:
                if len(inputs) != 1:
                    raise ModelError(
                        f"model: tfattr explains models with one image input; this model has "
                        f"{len(inputs)} inputs ({[getattr(t, 'name', '?') for t in inputs]})."
                    )
                shape = tuple(inputs[0].shape)
        elif self.kind == "saved_model":
            shape = _saved_model_input_shape(self.model)
        if shape is None or len(shape) != 4:
            return None
        return tuple(None if d is None else int(d) for d in shape[1:])

    @property
    def softmax_removed(self) -> bool:
        """Whether the model's final softmax (or sigmoid) is skipped."""
        return self._final_layer is not None and self.output == "logits"

    def _make_forward(self) -> Callable[[tf.Tensor], Any]:
        model = self.model
        if self.kind in ("keras", "tf_keras"):
            return lambda x: model(x, training=False)
        if self.kind == "saved_model" and not callable(model):
            signature = model.signatures["serving_default"]
            (name,) = signature.structured_input_signature[1].keys()
            return lambda x: signature(**{name: x})
        return model

    def _select(self, outputs) -> tf.Tensor:
        if isinstance(outputs, dict):
            keys = list(outputs)
            if self.output_index is not None:
                key = (
                    keys[self.output_index]
                    if isinstance(self.output_index, int)
                    else self.output_index
                )
                if key not in outputs:
                    raise ModelError(f"output_index: {key!r} is not an output; outputs: {keys}.")
                return outputs[key]
            if len(keys) != 1:
                raise ModelError(
                    f"model returns several outputs {keys}; choose one with output_index=<key>."
                )
            return outputs[keys[0]]
        if isinstance(outputs, list | tuple):
            if self.output_index is not None:
                if not isinstance(self.output_index, int) or not (
                    -len(outputs) <= self.output_index < len(outputs)
                ):
                    raise ModelError(
                        f"output_index: {self.output_index!r} is not valid for a model with "
                        f"{len(outputs)} outputs; use an int in [0, {len(outputs)})."
                    )
                return outputs[self.output_index]
            if len(outputs) != 1:
                raise ModelError(
                    f"model returns {len(outputs)} outputs; choose one with output_index=<int>."
                )
            return outputs[0]
        return outputs

    def __call__(self, x: tf.Tensor, overrides: dict[Any, Override] | None = None) -> tf.Tensor:
        """Scores ``(batch, classes)`` in float32 for images ``x``; differentiable w.r.t. ``x``.

        ``overrides`` adds call overrides (layer -> override) for this forward pass only, e.g.
        taps that capture a layer's output or gradient rules; a layer given here replaces the
        adapter's own override of the same layer.
        """
        combined = {**self.overrides, **(overrides or {})}
        if combined and self.kind in ("keras", "tf_keras"):
            outputs = _overrides.forward(self.model, x, combined, training=False)
        else:
            outputs = self._forward(x)
        scores = tf.cast(self._select(outputs), tf.float32)
        if self.head is None and scores.shape.rank != 2:
            raise ModelError(
                f"model output has shape {tuple(scores.shape)}; class targets need an output "
                f"(batch, classes). For another output (regression, detection, segmentation) "
                f"give a callable target returning one score per image, e.g. "
                f"target=lambda out: out[:, 0], or target=tfattr.targets.region(mask, class_id) "
                f"for a segmentation model's class over a region; or select an output with "
                f"output_index."
            )
        probabilities = self.final_activation == "sigmoid" and self.output != "logits"
        if self.output == "probabilities" and self._final_layer is None:
            if scores.shape[-1] == 1:
                scores, probabilities = tf.sigmoid(scores), True
            else:
                scores = tf.nn.softmax(scores, axis=-1)
        if self.head is not None:
            return tf.stack([_head_scores(fn, scores) for fn in self.head], axis=1)
        binary = self.output != "raw" or self.final_activation == "sigmoid"
        if scores.shape[-1] == 1 and binary:  # a binary classifier: class 0 is the negative one
            scores = tf.concat([1.0 - scores if probabilities else -scores, scores], axis=-1)
        return scores

    def key(self) -> tuple:
        """What makes this adapter's forward pass differ from another's on the same model (the
        engine's compiled steps are shared between adapters with the same key).

        Returns:
            A hashable tuple: the output kind, the output index and the overrides.

        Example:
            >>> logits, raw = tfattr.adapt(model), tfattr.adapt(model, output="raw")
            >>> logits.key() == tfattr.adapt(model).key(), logits.key() == raw.key()
            (True, False)
        """
        overrides = tuple(
            sorted(
                (id(layer), getattr(fn, "__qualname__", id(fn)))
                for layer, fn in self.overrides.items()
            )
        )
        head = None if self.head is None else tuple(CacheKey.of(fn) for fn in self.head)
        return (self.output, self.output_index, overrides, head)

    def num_classes(self, image_shape: tuple) -> int:
        """Number of classes, from one probing forward pass per input shape (cached per model
        and adapter configuration).

        Args:
            image_shape: the shape ``(H, W, C)`` of one input image.

        Returns:
            The number of scores per image.

        Example:
            >>> tfattr.adapt(model).num_classes((32, 32, 3))
            1000
        """
        probed = model_cache.for_model(self.model, "classes")
        key = (self.key(), tuple(image_shape))
        if key not in probed:
            scores = self(tf.zeros((1, *image_shape), tf.float32) + 0.5)
            if self.output == "logits" and not self.softmax_removed:
                self._warn_if_probabilities(scores.numpy())
            probed[key] = int(scores.shape[-1])
        return probed[key]

    def _warn_if_probabilities(self, scores: np.ndarray) -> None:
        looks_like_probabilities = (
            scores.shape[-1] > 1
            and np.all(scores >= 0)
            and np.allclose(scores.sum(-1), 1.0, atol=1e-4)
        )
        if looks_like_probabilities:
            warnings.warn(
                "The model's outputs look like probabilities (non-negative, summing to 1) but its "
                "final softmax could not be located and removed (opaque or subclassed model). "
                "Gradients of probabilities saturate; pass output='raw' to explain them knowingly, "
                "or give tfattr a model that returns logits (tfattr.models.logits_model).",
                stacklevel=4,
            )


def _head_scores(fn, outputs: tf.Tensor) -> tf.Tensor:
    """A callable target's scores for ``outputs``, checked to be one float per row."""
    scores = fn(outputs)
    try:
        scores = tf.convert_to_tensor(scores)
    except (TypeError, ValueError):
        raise TypeError(
            f"target: the callable {_name(fn)} returned {type(scores).__name__}; it must return "
            f"a tensor of one score per image."
        ) from None
    if not (scores.dtype.is_floating or scores.dtype.is_integer):
        raise TypeError(
            f"target: the callable {_name(fn)} returned dtype {scores.dtype.name}; it must return "
            f"real scores, one per image."
        )
    rows = outputs.shape[0]
    if scores.shape.rank != 1 or (
        rows is not None and scores.shape[0] is not None and scores.shape[0] != rows
    ):
        shown = "?" if rows is None else rows
        raise ValueError(
            f"target: the callable {_name(fn)} returned shape {tuple(scores.shape)} for model "
            f"outputs of shape {tuple(outputs.shape)}; it must return one score per image, shape "
            f"({shown},). E.g. lambda out: out[:, 0] for a regression output, or "
            f"tfattr.targets.region(mask, class_id) for a segmentation output."
        )
    return tf.cast(scores, tf.float32)


def _name(fn) -> str:
    return repr(fn) if not hasattr(fn, "__qualname__") else fn.__qualname__


class CacheKey:
    """A cache-key entry for a callable or a layer: the object itself when it is hashable (equal
    ones, e.g. equal regions, share compiled steps), else its identity; the entry holds the
    object, so its id cannot be reused by another object while a cache keeps the key."""

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn

    @staticmethod
    def of(fn):
        try:
            hash(fn)
        except TypeError:
            return CacheKey(fn)
        return fn

    def __hash__(self):
        return id(self.fn)

    def __eq__(self, other):
        return isinstance(other, CacheKey) and other.fn is self.fn


def _saved_model_input_shape(obj) -> tuple | None:
    functions = []
    call = vars(obj).get("__call__") or vars(type(obj)).get("__call__")  # the tf.function
    if hasattr(call, "concrete_functions"):
        functions = list(call.concrete_functions)
    elif hasattr(obj, "signatures") and "serving_default" in obj.signatures:
        functions = [obj.signatures["serving_default"]]
    for fn in functions:
        specs = [
            s
            for s in tf.nest.flatten(fn.structured_input_signature)
            if isinstance(s, tf.TensorSpec)
        ]
        if len(specs) == 1 and specs[0].shape.rank == 4:
            return tuple(specs[0].shape.as_list())
    return None


def adapt(model, *, output: str = "logits", output_index=None) -> ModelAdapter:
    """Returns a :class:`ModelAdapter` for `model` (an adapter is returned re-wrapped).

    Args:
        model: a Keras 3 or tf-keras model, a SavedModel / ``hub.load`` object, a callable
            ``images -> scores``, or a ``ModelAdapter``.
        output: ``"logits"`` (default), ``"probabilities"`` or ``"raw"`` (see
            :class:`ModelAdapter`).
        output_index: for models with several outputs, which one to explain.

    Returns:
        A :class:`ModelAdapter`; pass it to several explainers or metrics to share their
        compiled steps.

    Example:
        >>> adapter = tfattr.adapt(model, output="probabilities")
        >>> probabilities = adapter(x).numpy()
        >>> probabilities.shape, bool(np.allclose(probabilities.sum(-1), 1.0, atol=1e-5))
        ((2, 1000), True)
        >>> saliency = tfattr.Saliency(adapter).explain(x, target=3)
    """

    return ModelAdapter(model, output=output, output_index=output_index)
