"""The gradient engine: every "sum of weighted gradients at many points" job, compiled and chunked.

A method describes its work as a :class:`Plan`: for each image there are ``groups`` groups (e.g.
noise samples) of ``points`` rows (e.g. interpolation steps). ``plan.build`` turns each row's
image into its point and weight inside the compiled step; the row's value is ``weight *
gradient of the target score`` (or ``plan.value``), and each group's values are summed. The
engine returns per image the sum of its groups (and, on request, of their squares).

- Rows are numbered group by group (within a group, image by image, then point), so the rows of
  a chunk share few groups (NoiseTunnel draws one noise per sample, not per row), and are built
  inside the compiled step: memory does not grow with steps or samples.
- Chunks hold at most ``batch_size`` rows, with sizes from a small set (powers of two up to 8,
  then multiples of 4) so few steps are compiled; padding rows count zero.
- A chunk's rows are summed per image (per group when squares of multi-point groups are asked
  for) by one product with a one-hot matrix, on the device; the host only adds the chunk's sums
  into the per-image results (no device-to-host transfer inside the loop). Compiled steps are
  shared by every engine on the same model.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from tfattr.core import memory, model_cache
from tfattr.core import targets as target_kinds
from tfattr.core.adapter import ModelAdapter
from tfattr.errors import NonFiniteError

log = logging.getLogger("tfattr")


class _OwnRetracingFilter(logging.Filter):
    """Hides TF's "triggered tf.function retracing" warning about the engine's own steps.

    Each explainer compiles its own step (its own model), which TF's frequent-retracing detector
    counts as retracing of one function; real retracing is caught by the tests' trace counter.
    """

    def filter(self, record):
        message = record.getMessage()
        return not ("triggered tf.function retracing" in message and "GradientEngine" in message)


tf.get_logger().addFilter(_OwnRetracingFilter())


@dataclasses.dataclass(frozen=True)
class Rows:
    """Which image, group and point each row of a chunk is (int32 tensors of shape (rows,)).

    The chunk's groups are ``first_group ... first_group + group_span - 1`` (``group_span`` a
    Python int), so a plan can draw one random quantity per group instead of one per row.
    ``source``: all N images, of which the build's ``images`` are rows ``image`` (so a fused
    build can gather them itself, without a copy), or None when a wrapper passes other images.
    """

    image: tf.Tensor
    group: tf.Tensor
    point: tf.Tensor
    first_group: tf.Tensor
    group_span: int
    source: tf.Tensor | None = None

    def gathered(self, images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """``(source, index)`` with ``tf.gather(source, index)`` equal to ``images``, for a
        fused build that gathers its images itself (one pass instead of a copy first): all N
        images and each row's image, or ``images`` and ``0 .. rows - 1`` without a source."""
        if self.source is None:
            return images, tf.range(tf.shape(images)[0])
        return self.source, self.image


@dataclasses.dataclass
class Plan:
    """The work of one explanation, for :meth:`GradientEngine.run`.

    Attributes:
        points: rows per image and group, whose values are summed into one result.
        build: ``(images, rows, tensors) -> (points, weight)``, traced into the compiled step:
            ``images`` are the rows' images, ``rows`` a :class:`Rows`. ``weight`` multiplies
            each row's gradient: None (1), a ``(rows,)`` vector or a tensor broadcastable to
            the gradients.
        key: hashable description of what ``build`` and ``value`` do beyond ``tensors``: the
            compiled step is cached under it.
        tensors: tensors ``build`` reads (baselines, weights, seeds); other values, or another
            leading dimension, do not retrace.
        value: optional ``(points, targets, weight, adapter) -> values`` replacing
            ``weight * gradient`` (forward-only methods, layer maps, backward rules), or ``->
            (values, target scores)``, whose non-finite scores make their rows' results NaN.
            ``targets`` is None when each row takes its own top class.
        groups: groups per image (e.g. noise samples).
        statistics: what is returned per image: ``"sum"`` of its group sums, ``"sumsq"``, the
            sum of their squares, and/or ``"scores"`` ``(N, points)``, the target score at
            each point summed over the groups (plans without ``value``: the scores the
            gradients are taken of, at no extra model call).
    """

    points: int
    build: Callable[..., tuple[tf.Tensor, Any]]
    key: tuple
    tensors: dict[str, Any] = dataclasses.field(default_factory=dict)
    value: Callable[..., tf.Tensor] | None = None
    groups: int = 1
    statistics: tuple[str, ...] = ("sum",)


def images_as_points(images, rows, tensors):
    """A :attr:`Plan.build` for methods evaluated at the images themselves, weight 1."""
    return images, None


def gradients(adapter, points: tf.Tensor, targets: tf.Tensor | None, overrides=None, scale=None):
    """Gradients of each row's target score w.r.t. its point, and the scores.

    With ``targets`` None each row uses its own top class. ``overrides`` are extra call
    overrides for this pass (e.g. the gradient rules of Guided Backprop). ``scale``: optional
    per-row factors of the scores, so the gradients come out multiplied by them at no cost
    (the backward pass carries them instead of a pass over the gradients).

    A NaN or infinite target score can have a finite gradient (log of a negative number): such
    a row's gradient is made NaN so that the call's check names its image. Rows scaled by 0
    (padding) are left alone, so they cannot spoil the sums of other images.
    """
    grads, scores, picked = target_gradients(adapter, points, targets, overrides, scale)
    bad = ~tf.math.is_finite(picked)
    if scale is not None:
        bad = bad & (tf.cast(scale, picked.dtype) != 0)
    return grads * _column(tf.where(bad, _nan(grads), 1.0), grads), scores


def target_gradients(adapter, points, targets, overrides=None, scale=None):
    """``(gradients, scores, target scores)`` of the rows, as :func:`gradients` but with the
    gradients of rows with a non-finite target score left as they are: a :attr:`Plan.value`
    returning ``(values, target scores)`` lets the engine catch those rows at no cost."""
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = adapter(points, overrides=overrides)
        if targets is None:
            targets = target_kinds.top(scores)
        picked = target_kinds.pick(scores, targets)
        scaled = picked if scale is None else picked * tf.cast(scale, picked.dtype)
    # Rows are independent (inference mode), so the gradient of the sum is per-row gradients.
    return tape.gradient(scaled, points), scores, picked


def _relaxed_spec(value) -> tf.TensorSpec:
    tensor = value if isinstance(value, tf.Tensor) else tf.convert_to_tensor(value)
    shape = tensor.shape.as_list()
    if shape:
        shape[0] = None
    return tf.TensorSpec(shape, tensor.dtype)


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


class GradientEngine:
    """Runs :class:`Plan`s and batched forward passes for one model adapter.

    Args:
        adapter: the model as a :class:`~tfattr.core.adapter.ModelAdapter`.
        batch_size: rows per compiled call (points, not images). Halved automatically, with a
            warning, when the device runs out of memory.
        jit_compile: compile the step with XLA.
        progress: show a progress bar (None: only for long jobs on a terminal).
        owner: who runs the plans (an explainer class); part of the compiled steps' key, which
            engines on the same model share.
        allow_nonfinite: return NaN or infinite results as they are; by default a call whose
            results (attributions, model scores) are not finite for some images raises
            :class:`~tfattr.errors.NonFiniteError` naming them.

    Before a call runs, ``batch_size`` is lowered (with a warning) when a chunk's estimated
    working set would not fit in half the memory the process may still allocate
    (:mod:`tfattr.core.memory`), so a too-large ``batch_size`` runs in smaller chunks instead of
    crashing.
    """

    def __init__(
        self,
        adapter: ModelAdapter,
        batch_size: int = 32,
        jit_compile: bool = False,
        progress: bool | None = None,
        owner: str = "",
        allow_nonfinite: bool = False,
    ):
        self.adapter = adapter
        self.owner = owner
        self.allow_nonfinite = bool(allow_nonfinite)
        self._isolate = False  # steps that keep non-finite rows to their groups (see run)
        self._fits: set[tuple] = set()  # (image shape, batch_size) whose chunks fit memory
        self._row_bytes = model_cache.for_model(adapter.model, "row_bytes")  # per image shape
        self.batch_size = int(batch_size)
        self.jit_compile = bool(jit_compile)
        self.progress = progress
        self.trace_count = 0
        self._steps = model_cache.for_model(adapter.model, "steps")
        self._forwards = model_cache.for_model(adapter.model, "forwards")
        self._warned_oom = False

    # ---------------------------------------------------------------------------------------
    def run(self, x: tf.Tensor, targets: tf.Tensor | None, plan: Plan) -> dict[str, tf.Tensor]:
        """Computes the plan for images ``x`` and ``targets``: int32 ``(N,)`` class ids,
        float32 ``(N, classes)`` class weights (:mod:`tfattr.core.targets`), or None (each
        row's top class, which is each image's only when the rows are the images themselves).

        Returns a dict with the requested statistics, each of shape ``(N, *row_shape)``.

        Raises:
            NonFiniteError: a result is NaN or infinite for some images (unless
                ``allow_nonfinite``).
        """
        self._bound_memory(x)
        result, finite = self._run(x, targets, plan)
        if finite:
            return result
        # One product sums a chunk's rows, where a NaN row spoils every group of its chunk (0 *
        # NaN): run again keeping non-finite rows to their own groups, to name the right images.
        self._isolate = True
        try:
            result, _ = self._run(x, targets, plan)
        finally:
            self._isolate = False
        self._check_finite(result, "attributions")
        return result

    def _run(self, x, targets, plan: Plan) -> tuple[dict[str, tf.Tensor], bool]:
        """The plan's results, and whether all of them are finite."""
        n, groups, points = int(x.shape[0]), int(plan.groups), int(plan.points)
        total = n * groups * points
        argmax = targets is None
        if argmax:
            targets = tf.zeros((n,), tf.int32)
        target_spec = _relaxed_spec(targets)  # class ids (N,) or class weights (N, classes)
        counts = _int32((groups, points))
        tensors = {k: tf.convert_to_tensor(v) for k, v in plan.tensors.items()}
        totals = _Totals(n, plan.statistics)
        steps = {}  # (chunk, size) -> (layout, compiled step): looked up once per call
        start = 0
        bar = self._bar(total)
        while start < total:
            size, tail = chunk_sizes(total, self.batch_size)
            chunk = tail if tail is not None and total - start <= tail else size
            try:  # tracing can run out of memory too (eager model code)
                if (chunk, size) not in steps:
                    aligned = size % (n * points) == 0
                    layout = _layout(n, groups, points, chunk, plan.statistics, aligned)
                    step = self._step(
                        plan, tuple(x.shape[1:]), argmax, tensors, layout, target_spec
                    )
                    steps[chunk, size] = layout, step
                layout, step = steps[chunk, size]
                sums = step(x, targets, _int32(start), counts, tensors)
            except tf.errors.ResourceExhaustedError as error:
                self._shrink(error)
                continue
            end = min(start + chunk, total)
            totals.add(layout, sums, start, end, points)
            bar.update(end - start)
            start = end
        bar.close()
        return totals.result(), totals.finite(self._finite)

    def _bound_memory(self, x: tf.Tensor) -> None:
        """Lowers ``batch_size`` so a chunk's estimated working set fits available memory
        (once per image shape and batch size: reading the memory figures took ~0.2 ms, 1 % of a
        Grad-CAM call; running out of memory later still halves the chunks, :meth:`_shrink`)."""
        shape = tuple(x.shape[1:])
        if (shape, self.batch_size) in self._fits:
            return
        per_row = self._row_bytes.get(shape)
        if per_row is None:
            per_row = self._row_bytes[shape] = memory.row_bytes(self.adapter.model, shape)
        rows = memory.bound_rows(self.batch_size, per_row)
        self._fits.add((shape, rows))
        if rows < self.batch_size:
            warnings.warn(
                f"batch_size={self.batch_size} needs about "
                f"{self.batch_size * per_row / 2**30:.1f} GiB per chunk, more than half the "
                f"memory available; tfattr runs chunks of {rows} rows (pass a smaller "
                f"batch_size to avoid this warning).",
                ResourceWarning,
                stacklevel=3,
            )
            self.batch_size = rows

    def _check_finite(self, results: dict, what: str) -> None:
        """Raises NonFiniteError naming the images whose results hold NaN or infinity."""
        if self.allow_nonfinite:
            return
        finite = self._finite(results)
        if finite.all():
            return
        bad = np.flatnonzero(~finite).tolist()
        shown = ", ".join(map(str, bad[:10])) + (", ..." if len(bad) > 10 else "")
        source = "the model's outputs" if what == "scores" else "the model's outputs or gradients"
        raise NonFiniteError(
            f"{what}: NaN or infinite for {len(bad)} of {finite.size} images (indices {shown}), "
            f"although the inputs are finite: {source} are not finite there. Likely causes: a "
            f"log or division by zero, an overflow (float16 / mixed precision, huge logits), or "
            f"NaN weights. Check model(x) for these images; pass allow_nonfinite=True to the "
            f"explainer to get NaN maps instead."
        )

    @staticmethod
    def _finite(results: dict) -> np.ndarray:
        """Per image, whether every result is finite: (N,) bools. One sum per result and one
        scalar transfer when all is finite (a NaN or infinity makes the sum non-finite); the
        per-image test runs only when the sum is not finite."""
        floats = [v for v in results.values() if v.dtype.is_floating]
        if not floats:
            return np.ones((0,), bool)
        sums = [tf.reduce_sum(tf.cast(v, tf.float32)) for v in floats]
        if np.isfinite(float(sums[0] if len(sums) == 1 else tf.add_n(sums))):
            return np.ones((int(floats[0].shape[0]),), bool)
        flags = [
            tf.reduce_all(tf.math.is_finite(tf.reshape(v, (tf.shape(v)[0], -1))), axis=1)
            for v in floats
        ]
        return np.asarray(flags[0] if len(flags) == 1 else tf.reduce_all(tf.stack(flags), 0))

    def _shrink(self, error: Exception):
        if self.batch_size == 1:
            raise error
        self.batch_size //= 2
        if not self._warned_oom:
            self._warned_oom = True
            warnings.warn(
                f"Out of device memory: tfattr retries with batch_size={self.batch_size} "
                f"(pass a smaller batch_size to avoid this).",
                ResourceWarning,
                stacklevel=3,
            )

    def _bar(self, total: int):
        chunks = -(-total // self.batch_size)
        show = self.progress
        if show is None:
            show = chunks >= 64 and sys.stderr.isatty()
        if not show:
            return _NoBar()
        from tqdm.auto import tqdm  # imported on demand: its notebook probe warns at import

        return tqdm(total=total, unit="grad", leave=False, desc="tfattr")

    def _step(self, plan: Plan, image_shape, argmax: bool, tensors: dict, layout, target_spec):
        if "scores" in plan.statistics and (plan.value is not None or layout.slots == "groups"):
            raise ValueError("Plan: 'scores' needs a plan without value and without 'sumsq'.")
        specs = tuple((name, _relaxed_spec(value)) for name, value in sorted(tensors.items()))
        specs += (("targets", target_spec),)
        key = (self.owner, self.adapter.key(), plan.key, plan.value is None, plan.statistics, specs)
        key += (image_shape, layout, argmax, self.jit_compile, self._isolate)
        step = self._steps.get(key)
        if step is None:
            step = self._steps[key] = self._compile_step(
                plan, image_shape, argmax, tensors, layout, self._isolate, target_spec
            )
        return step

    def _compile_step(
        self, plan: Plan, image_shape, argmax, tensors, layout, isolate, target_spec
    ) -> Callable:
        adapter = self.adapter

        def step(x, targets, start, counts, tensors):
            self.trace_count += 1  # Python side effect: runs once per trace
            rows, valid, slot = _chunk_rows(layout, tf.shape(x)[0], start, counts)
            # A chunk of exactly the N images (Saliency, CAMs) takes them as they are.
            if layout.whole:
                images = tf.reshape(x, (layout.chunk, *image_shape))
            else:
                images = tf.gather(x, rows.image)
            row_targets = None if argmax else tf.gather(targets, rows.image)
            # (An unused gather is pruned from the graph when the build gathers from the source.)
            points, weight = plan.build(images, dataclasses.replace(rows, source=x), tensors)
            picked = None  # the rows' target scores, where known
            if plan.value is not None:
                values = plan.value(points, row_targets, weight, adapter)
                if isinstance(values, tuple):  # (values, target scores)
                    values, picked = values
            else:
                # Per-row weights, and zeros for padding rows, scale the scores: the gradients
                # come out weighted, at no cost.
                scale = tf.cast(valid, tf.float32)
                if weight is not None and weight.shape.rank == 1:
                    scale, weight = scale * weight, None
                values, _, picked = target_gradients(adapter, points, row_targets, scale=scale)
                if weight is not None:
                    values = values * weight
            # Rows whose results must be NaN: a NaN score can have a finite gradient (padding
            # rows spoil nothing). They fail the chunk's check; the results are marked only in
            # the run that isolates them (run), at no cost to finite runs.
            spoiled = None if picked is None else ~tf.math.is_finite(picked) & valid
            if isolate and layout.slots == "rows" and spoiled is not None:
                values = values * _column(tf.where(spoiled, _nan(values), 1.0), values)
            elif isolate and layout.slots != "rows":  # a non-finite row spoils its own slot only
                flat = tf.reshape(values, (layout.chunk, -1))
                broken = ~tf.reduce_all(tf.math.is_finite(flat), axis=1)  # (padding rows too)
                values = tf.where(_column(broken, values), tf.zeros_like(values), values)
                spoiled = broken & valid if spoiled is None else spoiled | (broken & valid)
            # Rows that are whole groups (one point) are squared here; longer groups on the host.
            stats = {"sum": values}
            if "scores" in plan.statistics:  # each row's target score, in its point's column
                known = tf.where(spoiled, tf.zeros_like(picked), picked)
                stats["scores"] = tf.one_hot(rows.point, counts[1]) * known[:, None]
            if layout.squares:
                stats["sumsq"] = tf.square(values)
            if layout.slots == "rows":  # one row per image: nothing to sum
                return _with_finite(stats, spoiled)
            onehot = tf.one_hot(tf.where(valid, slot, -1), layout.count, dtype=values.dtype)
            if isolate:  # slots holding a spoiled row are NaN
                hits = tf.linalg.matvec(onehot, tf.cast(spoiled, onehot.dtype), transpose_a=True)
            out = {}
            for name, value in stats.items():
                summed = tf.matmul(onehot, tf.reshape(value, (layout.chunk, -1)), transpose_a=True)
                summed = tf.reshape(summed, tf.concat([[layout.count], tf.shape(value)[1:]], 0))
                if isolate:
                    summed = tf.where(_column(hits > 0, summed), _nan(summed), summed)
                out[name] = summed
            return _with_finite(out, spoiled)

        signature = [
            tf.TensorSpec((None, *image_shape), tf.float32),
            target_spec,
            tf.TensorSpec((), tf.int32),
            tf.TensorSpec((2,), tf.int32),
            {k: _relaxed_spec(v) for k, v in tensors.items()},
        ]
        # No autograph: the step has no tensor-dependent Python control flow, and errors raised
        # while tracing (e.g. a bad layer choice) keep their type instead of becoming StagingError.
        function = tf.function(
            step, input_signature=signature, jit_compile=self.jit_compile, autograph=False
        )
        return function.get_concrete_function()

    # ---------------------------------------------------------------------------------------
    def scores(self, x: tf.Tensor) -> tf.Tensor:
        """Model scores ``(N, classes)`` for images ``x``, in compiled chunks of batch_size.

        Raises:
            NonFiniteError: the scores of some images are NaN or infinite (unless
                ``allow_nonfinite``).
        """
        result = self._scores(x)
        self._check_finite({"scores": result}, "scores")
        return result

    def _scores(self, x: tf.Tensor) -> tf.Tensor:
        n = int(x.shape[0])
        out = []
        start = 0
        while start < n:
            chunk = chunk_rows(n, self.batch_size)
            part = x[start : start + chunk]
            pad = chunk - int(part.shape[0])
            if pad:
                part = tf.concat([part, tf.zeros((pad, *part.shape[1:]), part.dtype)], 0)
            try:
                result = self._forward(tuple(x.shape[1:]), chunk)(part)
            except tf.errors.ResourceExhaustedError as error:
                self._shrink(error)
                continue
            out.append(result[: chunk - pad] if pad else result)
            start += chunk - pad
        return out[0] if len(out) == 1 else tf.concat(out, axis=0)

    def target_scores(self, x: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        """The score of each image's target class, F(x): (N,)."""
        return target_kinds.pick(self.scores(x), targets)

    def _forward(self, image_shape: tuple, chunk: int) -> Callable:
        key = (self.adapter.key(), "forward", image_shape, chunk, self.jit_compile)
        if key not in self._forwards:

            def forward(x):
                self.trace_count += 1
                return self.adapter(x)

            self._forwards[key] = tf.function(
                forward,
                input_signature=[tf.TensorSpec((chunk, *image_shape), tf.float32)],
                jit_compile=self.jit_compile,
                autograph=False,
            ).get_concrete_function()
        return self._forwards[key]


def fused(fn: Callable) -> Callable:
    """``fn`` compiled with XLA, for building points inside a :attr:`Plan.build`.

    Building a chunk's points is elementwise work (gather the image, mask, add noise,
    interpolate) that TF's default kernels run as one pass per op; XLA fuses it into one pass.
    """
    return tf.function(fn, jit_compile=True, autograph=False)


@dataclasses.dataclass(frozen=True)
class _Layout:
    """A chunk's shape, part of the compiled step's key: ``chunk`` rows summed into ``count``
    slots, one per image the chunk touches (``slots="images"``) or one per group (``"groups"``:
    squares need whole groups), or not summed (``"rows"``: one row per image); a chunk touches
    at most ``span`` groups per image."""

    chunk: int
    slots: str
    count: int
    span: int
    squares: bool  # rows are whole groups (one point): squared in the step
    whole: bool = False  # one chunk of exactly the N images


def _layout(n, groups, points, chunk, statistics, aligned) -> _Layout:
    """``aligned``: every chunk starts at a group boundary (chunks are whole groups of all
    images), so a chunk touches exactly ``chunk / (n * points)`` groups per image, not one more."""
    per_round = n * points
    span = min(groups, -(-chunk // per_round) if aligned else (chunk - 1) // per_round + 2)
    touched = (chunk - 1) // points + 2  # groups a chunk can touch
    if points == 1 and groups == 1:
        return _Layout(chunk, "rows", chunk, span, "sumsq" in statistics, whole=n == chunk)
    slots = "groups" if points > 1 and "sumsq" in statistics else "images"
    # Fewer slots when there are fewer images (groups), rounded up to a power of two so that
    # calls on 1, 2, 3, ... images share steps.
    available = n * groups if slots == "groups" else n
    count = min(touched, max(2, 1 << (available - 1).bit_length()))
    return _Layout(chunk, slots, count, span, points == 1 and "sumsq" in statistics)


def _chunk_rows(layout: _Layout, n, start, counts):
    """Inside the step: the chunk's :class:`Rows`, which rows are real (not padding), and each
    row's slot."""
    groups, points = counts[0], counts[1]
    total = n * groups * points
    flat = start + tf.range(layout.chunk, dtype=tf.int32)
    valid = flat < total
    flat = tf.minimum(flat, total - 1)  # padding rows repeat the last row (then count zero)
    group_id = flat // points  # group g of image i is g * n + i
    image, first = group_id % n, start // points
    rows = Rows(image, group_id // n, flat % points, first // n, layout.span)
    slot = group_id - first if layout.slots == "groups" else (image - first % n) % n
    return rows, valid, slot


def _with_finite(stats: dict, spoiled) -> dict:
    """``stats`` and ``"finite"``: whether they are all finite and no row is ``spoiled``
    (checked where they are made; one sum per statistic: a NaN or infinity makes it
    non-finite, and so may an overflow, which the run that isolates rows then tells apart)."""
    flags = [tf.math.is_finite(tf.reduce_sum(value)) for value in stats.values()]
    if spoiled is not None:
        flags.append(~tf.reduce_any(spoiled))
    return {**stats, "finite": flags[0] if len(flags) == 1 else tf.reduce_all(tf.stack(flags))}


@functools.lru_cache(maxsize=4096)
def _int32(value: int | tuple[int, ...]) -> tf.Tensor:
    """``value`` as an eager int32 tensor, made once: the steps' chunk offsets and counts
    (host work between compiled calls is slow, docs/performance.md)."""
    with tf.init_scope():
        return tf.constant(value, tf.int32)


def _nan(like):
    return tf.constant(np.nan, like.dtype)


def _column(flags, values):
    """``(rows,)`` booleans shaped to broadcast against ``values``."""
    return tf.reshape(flags, [-1] + [1] * (values.shape.rank - 1))


class _Totals:
    """The per-image results of one run, added up chunk by chunk on the device.

    Rows that are the images (``slots="rows"``) are kept in order and joined once at the end;
    slot sums are added into ``(N, ...)`` totals (a slot beyond the chunk's images holds zeros);
    the sums of groups (``slots="groups"``) are completed across chunks, then squared.
    """

    def __init__(self, n: int, statistics: tuple[str, ...]):
        self.n, self.statistics = n, statistics
        self.rows: dict[str, list] = {name: [] for name in statistics}
        self.totals: dict[str, tf.Tensor] = {}
        self.carry = None  # the sum so far of the group the previous chunk left unfinished
        self.flags: list[tf.Tensor] = []  # per chunk: are its outputs all finite
        self.squared = False  # squares taken on the host, after the chunks' checks

    def add(self, layout: _Layout, sums: dict, start: int, end: int, points: int) -> None:
        self.flags.append(sums["finite"])
        if layout.slots == "rows":  # row k is image start + k (the last chunk may be padded)
            for name in self.statistics:
                value = sums[name]
                self.rows[name].append(
                    value if end - start == layout.chunk else value[: end - start]
                )
            return
        first, last = start // points, (end - 1) // points
        if layout.slots == "images":  # slot k: image (first + k) % n; slots past n are empty
            ids = (first + np.arange(min(layout.count, self.n))) % self.n
            if layout.count > self.n:
                sums = {name: sums[name][: self.n] for name in self.statistics}
        else:  # slot k: group first + k, unfinished if it continues past `end`
            done = sums["sum"]
            if self.carry is not None:
                done = tf.tensor_scatter_nd_add(done, [[0]], self.carry[None])
            finished = last - first + (1 if end % points == 0 else 0)
            self.carry = done[finished] if finished <= last - first else None
            ids = np.arange(first, first + finished) % self.n  # group g of image i: g * n + i
            if not len(ids):
                return
            sums = {"sum": done[:finished], "sumsq": tf.square(done[:finished])}
            self.squared = True
        for name in self.statistics:
            self._scatter(name, sums[name], ids)

    def _scatter(self, name: str, update: tf.Tensor, ids: np.ndarray) -> None:
        if len(ids) == self.n:  # every image once, in rotated order: an add, not a scatter
            if ids[0]:
                update = tf.roll(update, int(ids[0]), axis=0)
            self.totals[name] = self.totals[name] + update if name in self.totals else update
            return
        if name not in self.totals:
            self.totals[name] = tf.zeros((self.n, *update.shape[1:]), update.dtype)
        self.totals[name] = tf.tensor_scatter_nd_add(self.totals[name], ids[:, None], update)

    def finite(self, check: Callable[[dict], np.ndarray]) -> bool:
        """Whether every result is finite: one read of the chunks' own checks (or ``check``
        of the results, for squares taken here)."""
        if self.squared:
            return bool(check(self.result()).all())
        if len(self.flags) == 1:
            return bool(self.flags[0])
        return bool(tf.reduce_all(tf.stack(self.flags)))

    def result(self) -> dict[str, tf.Tensor]:
        if any(self.rows.values()):
            return {
                name: parts[0] if len(parts) == 1 else tf.concat(parts, 0)
                for name, parts in self.rows.items()
            }
        return self.totals


def chunk_rows(total: int, batch_size: int) -> int:
    """Rows per compiled call for ``total`` rows: at most ``batch_size``, balanced over the
    chunks so the last one is nearly full, and taken from a small set of sizes (powers of two up
    to 8, then multiples of 4) so few distinct steps are ever compiled."""
    chunks = -(-total // batch_size)
    return min(_step_size(-(-total // chunks)), batch_size)


def chunk_sizes(total: int, batch_size: int) -> tuple[int, int | None]:
    """``(size, tail)``: chunks of ``chunk_rows`` rows, and a smaller last chunk (its own
    compiled step) when padding the last one would waste more than 3 rows and 1 % of the work,
    e.g. 1352 rows at ``batch_size=50``: 27 x 50 + 2, not 28 x 50 (48 padding rows)."""
    size = chunk_rows(total, batch_size)
    rest = _tail(total, size)
    if rest is not None and _step_size(rest) < size:
        return size, _step_size(rest)
    return size, None


def _tail(total: int, size: int) -> int | None:
    """The rows of a smaller last chunk when padding the last one to ``size`` would waste more
    than 3 rows and 1 % of the work; None otherwise."""
    rest = total % size
    return rest if rest and size - rest > max(3, total // 100) else None


def _step_size(rows: int) -> int:
    """The smallest step size >= rows: a power of two up to 8, then a multiple of 4."""
    return 1 << (rows - 1).bit_length() if rows <= 8 else -(-rows // 4) * 4
