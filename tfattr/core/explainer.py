"""The explainer contract: settings in the constructor, data in ``explain()``.

Every method is a subclass that declares its options (``defaults``), checks them
(``check_options``) and computes (``attribute``, usually by building a :class:`Plan` for the
engine). Input checking, target resolution, option merging and single-image handling live here.
"""

from __future__ import annotations

import abc
import copy
import types
from collections.abc import Callable
from typing import Any, ClassVar

import tensorflow as tf

from tfattr.core import baselines as base
from tfattr.core import layers
from tfattr.core import targets as target_kinds
from tfattr.core.adapter import ModelAdapter
from tfattr.core.engine import GradientEngine, Plan, gradients, images_as_points
from tfattr.core.inputs import as_images, check_positive_int, check_seed


class Explainer(abc.ABC):
    """Base class of all explainers.

    Args:
        model: a Keras 3 or tf-keras model, a SavedModel / ``hub.load`` object, a callable
            ``images -> scores``, or a :class:`tfattr.models.ModelSpec` (then targets may also be
            class names or WordNet ids: ``target="tabby"``).
        output: ``"logits"`` (default; a final softmax in the model is skipped),
            ``"probabilities"`` or ``"raw"``.
        batch_size: rows (model evaluations) per compiled call; bounds memory.
        output_index: which output of a multi-output model to explain.
        jit_compile: compile with XLA.
        progress: progress bar (None: automatic for long jobs on a terminal).
        allow_nonfinite: return NaN maps where the model's outputs or gradients are NaN or
            infinite; by default such a call raises :class:`tfattr.errors.NonFiniteError`
            naming the images.
        **options: the method's options (see each class); each can be overridden per call in
            :meth:`explain`.

    Example:
        >>> ig = tfattr.IntegratedGradients(model, steps=32, batch_size=64)
        >>> ig.options["steps"]
        32
        >>> attr = ig.explain(images, target=3, steps=8)   # this call only: 8 steps
        >>> attr.shape == images.shape
        True
    """

    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        model,
        *,
        output: str = "logits",
        batch_size: int = 32,
        output_index=None,
        jit_compile: bool = False,
        progress: bool | None = None,
        allow_nonfinite: bool = False,
        **options,
    ):
        self.spec = model if hasattr(model, "class_id") and hasattr(model, "model") else None
        if self.spec is not None:
            model = self.spec.model
        if isinstance(model, ModelAdapter):  # an explainer built on another's adapter
            self.adapter = model
        else:
            self.adapter = ModelAdapter(model, output=output, output_index=output_index)
        self.engine = GradientEngine(
            self.adapter,
            batch_size=check_positive_int(batch_size, "batch_size"),
            jit_compile=jit_compile,
            progress=progress,
            owner=type(self).__qualname__,
            allow_nonfinite=allow_nonfinite,
        )
        self.options = self.merge_options(self.defaults, options)

    @property
    def model(self):
        return self.adapter.model

    @property
    def options(self):
        """The method's options (read-only: checked once; pass changes to :meth:`explain`)."""
        return self._options

    @options.setter
    def options(self, checked: dict) -> None:
        self._options = types.MappingProxyType(dict(checked))

    def merge_options(self, base: dict, overrides: dict) -> dict:
        """``base`` options updated with ``overrides``, checked (unknown names, bad values)."""
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown option(s) {unknown}; its options are "
                f"{sorted(self.defaults) or 'none'}."
            )
        merged = {**base, **overrides}
        self.check_options(merged)
        return merged

    def check_options(self, options: dict) -> None:  # noqa: B027 (optional hook)
        """Raises ValueError/TypeError for invalid option values (override per method)."""

    def explain(self, inputs, target=None, **options):
        """Attributions for ``inputs`` w.r.t. the ``target`` class scores.

        Args:
            inputs: one image ``(H, W, C)`` or a batch ``(N, H, W, C)``, any real dtype, in the
                model's input scale.
            target: what score to explain (:mod:`tfattr.core.targets`): None (each image's
                top class), a class index or name, one per image, ``(N, classes)`` one-hot /
                multi-hot / weight vectors (the weighted sum of the scores), or a callable
                ``outputs -> (N,)`` scores (e.g. ``tfattr.targets.region(mask, class_id)`` for
                a segmentation model; a list of N callables gives one per image).
            **options: overrides of the constructor's method options for this call.

        Returns:
            A float32 tensor of the input's shape (CAM methods: ``(N, H, W)``), or a tuple when
            the method returns more (e.g. ``(attributions, convergence_delta)``).

        Example:
            >>> saliency = tfattr.Saliency(model)
            >>> saliency.explain(images, target=[3, 5]).shape    # one target per image
            TensorShape([2, 32, 32, 3])
            >>> saliency(images[0]).shape                         # one image, its top class
            TensorShape([32, 32, 3])
        """
        opts = self.merge_options(self.options, options) if options else self.options
        explainer, x, single, targets = self.prepare(inputs, target)
        result = explainer.attribute(x, targets, opts)
        if single:
            result = tf.nest.map_structure(lambda t: t[0], result)
        return result

    def prepare(self, inputs, target):
        """Checked images and resolved targets, and the explainer that computes them.

        Returns:
            ``(explainer, x, single, targets)``: ``self``, or for a callable target this
            explainer on the model followed by the callables (:meth:`with_head`); images
            ``(N, H, W, C)`` float32; whether one image was given; and the targets as
            :func:`tfattr.core.targets.resolve` returns them (None: each image's top class).
        """
        x, single = as_images(inputs, self.adapter)
        n = int(x.shape[0])
        head = target_kinds.head_of(target, n)
        if head is not None:
            explainer = self.with_head(head)
            # The head's columns: one callable for every image (column 0), or one per image.
            ids = tf.zeros((n,), tf.int32) if len(head) == 1 else tf.range(n, dtype=tf.int32)
            explainer.adapter.num_classes(x.shape[1:])  # checks the callables' outputs now
            return explainer, x, single, ids
        if self.spec is not None and _has_names(target):
            target = (
                self.spec.class_ids(target) if _is_sequence(target) else self.spec.class_id(target)
            )
        targets = target_kinds.resolve(target, n, self.adapter.num_classes(x.shape[1:]))
        return self, x, single, targets

    def with_head(self, head) -> Explainer:
        """This explainer on its model followed by callable targets (one score column each).

        A shallow copy whose adapter is ``self.adapter.with_head(head)``, with its own engine
        (compiled steps are still shared through the model's cache, keyed by the callables), and
        with every inner explainer that shares this one's adapter (e.g. Guided Grad-CAM's Guided
        Backprop, NoiseTunnel's wrapped explainer) moved onto the new adapter too. Kept for the
        next calls with the same callables.
        """
        adapter = self.adapter.with_head(head)
        views = self.__dict__.setdefault("_views", {})
        key = adapter.key()
        view = views.get(key)
        if view is not None:
            return view
        view = copy.copy(self)
        view._views = {}
        view.adapter = adapter
        engine = self.engine
        view.engine = GradientEngine(
            view.adapter,
            batch_size=engine.batch_size,
            jit_compile=engine.jit_compile,
            progress=engine.progress,
            owner=engine.owner,
            allow_nonfinite=engine.allow_nonfinite,
        )
        for name, value in list(vars(view).items()):
            if isinstance(value, Explainer) and value.adapter is self.adapter:
                setattr(view, name, value.with_head(head))
        if len(views) >= 8:
            views.pop(next(iter(views)))
        views[key] = view
        return view

    __call__ = explain

    @abc.abstractmethod
    def attribute(self, x: tf.Tensor, targets: tf.Tensor | None, options: dict):
        """Computes attributions for a checked batch ``x`` and resolved targets: int32 ``(N,)``
        class ids, float32 ``(N, classes)`` class weights, or None (each image's top class)."""

    def top_classes(self, x: tf.Tensor) -> tf.Tensor:
        """Each image's top class, int32 (N,)."""
        return tf.argmax(self.engine.scores(x), axis=-1, output_type=tf.int32)

    def __repr__(self) -> str:
        options = ", ".join(f"{k}={v!r}" for k, v in self.options.items() if not _is_tensor(v))
        return f"{type(self).__name__}({options})"


def _is_sequence(value) -> bool:
    return isinstance(value, list | tuple)


def _has_names(target) -> bool:
    """Whether a target (or a list of them) contains class names."""
    values = target if _is_sequence(target) else [target]
    return any(isinstance(v, str) for v in values)


def _is_tensor(value) -> bool:
    return hasattr(value, "shape") and getattr(value, "ndim", 0) > 0


class GradientExplainer(Explainer):
    """An explainer whose work is one engine :class:`Plan` (all pure-gradient methods).

    ``plan_is_attribution``: whether the plan's per-image sum is the attribution itself, so
    that :class:`~tfattr.NoiseTunnel` can run the plan on noisy copies; False for methods that
    turn it into something else afterwards (Occlusion spreads window scores over pixels).
    ``at_inputs``: whether the plan evaluates the model at the inputs themselves, so that
    without a target each row takes its own top class, sparing a forward pass.
    """

    plan_is_attribution: ClassVar[bool] = True
    at_inputs: ClassVar[bool] = False

    @abc.abstractmethod
    def plan(self, x: tf.Tensor, options: dict) -> Plan:
        """The engine's work for images ``x`` with these options."""

    def attribute(self, x, targets, options):
        if targets is None and not self.at_inputs:
            targets = self.top_classes(x)
        return self.engine.run(x, targets, self.plan(x, options))["sum"]


class ReferenceExplainer(GradientExplainer):
    """A gradient explainer that compares each input with baselines (IG, DeepLift, ...).

    Subclasses name their baseline option (``baseline_option``) and get the baseline resolution
    and ``return_convergence_delta`` (``sum(attr) - (F(x) - mean_k F(b_k))`` per image) here.
    Their ``defaults`` include ``return_convergence_delta``, ``seed``, ``value_range`` and
    ``blur_sigma``.
    """

    baseline_option: ClassVar[str] = "baseline"

    def baselines(self, x, options):
        """The resolved :class:`tfattr.core.baselines.Baselines` for images ``x``."""
        return base.resolve(
            options[self.baseline_option],
            x,
            seed=check_seed(options["seed"]),
            value_range=options["value_range"],
            blur_sigma=options["blur_sigma"],
            spec=self.spec,
            name=self.baseline_option,
        )

    def attribute(self, x, targets, options):
        if targets is None and options["return_convergence_delta"]:
            targets = self.top_classes(x)
        attributions = super().attribute(x, targets, options)
        if not options["return_convergence_delta"]:
            return attributions
        delta = base.convergence_delta(
            self.engine, x, attributions, targets, self.baselines(x, options)
        )
        return attributions, delta


class ActivationRuleExplainer(GradientExplainer):
    """The input gradient with a backward rule on every activation (Guided Backprop, DeconvNet).

    Subclasses set ``rule(activation_fn, name) -> replacement or None`` (see
    :func:`tfattr.core.layers.activation_overrides`); the model must expose its layers.
    """

    rule: ClassVar[Callable]
    at_inputs = True

    def check_options(self, options):
        layers.require_layers(self.adapter, type(self).__name__)

    def plan(self, x, options):
        overrides = layers.activation_overrides(
            self.model, type(self).rule, skip=self.adapter.overrides
        )

        def value(points, targets, weight, adapter):
            return gradients(adapter, points, targets, overrides)[0]

        return Plan(1, images_as_points, (type(self).__name__,), value=value)
