"""The gradient engine: every "gradients of target scores at many points" job, compiled and chunked.

A method describes its work as a :class:`Plan`: for each image ``i`` there are ``groups`` groups
(e.g. noise samples) of ``points`` rows (e.g. interpolation steps). Row ``(i, g, j)`` is a point
built on the device from image ``i`` by ``plan.make_rows``, and contributes ``coef * gradient``
(or whatever ``plan.attribute`` computes) to its group's sum, times ``plan.factor`` of its image
if any. The engine streams the ``N*G*P`` rows through one compiled step, a chunk at a time:

- rows are numbered image-major (or group-major, so that consecutive rows share a noise draw)
  and built inside the compiled step, so no interpolation point is materialised outside the
  chunk being computed and memory does not grow with steps or samples;
- chunks hold at most ``batch_size`` rows, balanced so the last one is nearly full, with sizes
  from a small set (powers of two up to 8, then multiples of 4): 8 images of Saliency run as one
  chunk of 8, not a padded chunk of 32; padding rows are masked out; when balancing cannot
  keep the padding small (more than 3 rows and 1 % of the work), the last chunk gets its own
  smaller step (compiled once);
- a call with the same shapes reuses the compiled step (no retracing); other numbers of images
  or steps reuse it too unless they change the chunk layout, which compiles once more;
- inside the step, rows are reduced into per-image (or per-group) slots by one matrix product
  with the per-row weights (a one-hot matrix of a few slots), and ``factor`` is applied once per
  slot; the host only does integer bookkeeping (no device-to-host transfer inside the loop);
- per-image statistics (sum, sum of squares of whole group attributions) accumulate on the
  device: chunks that give images their first value are joined once at the end, later
  contributions are scattered into a variable; groups that span chunks are carried over, which is how NoiseTunnel computes means and
  variances of whole attributions without storing them.
"""

from __future__ import annotations

import dataclasses
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
    """Indices of the rows of one chunk (int32 tensors of shape (chunk,)) and draw helpers.

    ``first_group`` and ``group_span`` describe the groups the chunk touches when rows are
    numbered group-major (``Plan.order == "group"``): their group indices lie in
    ``first_group ... first_group + group_span - 1`` (``group_span`` is a Python int), so a
    plan can draw one random quantity per distinct group instead of one per row.
    """

    image: tf.Tensor
    group: tf.Tensor
    point: tf.Tensor
    first_group: tf.Tensor | None = None
    group_span: int | None = None
    # All N images when x_rows == images[image] (for make_rows that gather inside `fused`);
    # None when a wrapper (NoiseTunnel) passes other x_rows.
    images: tf.Tensor | None = None


@dataclasses.dataclass
class Plan:
    """The work of one explanation, for :meth:`GradientEngine.run`.

    Attributes:
        points: P, rows per group (gradient evaluations whose weighted sum is one attribution).
        make_rows: ``(x_rows, rows, tensors) -> (points, coef)``, traced into the compiled step.
            ``x_rows`` are the images of the chunk's rows; ``coef`` multiplies the gradient:
            None for 1, a ``(rows,)`` vector of per-row weights (cheapest: applied inside the
            reduction), or a tensor broadcastable to the gradients.
        key: hashable description of what ``make_rows`` does beyond ``tensors`` (same key, same
            code): the compiled step is cached under it.
        tensors: tensors ``make_rows`` reads (baselines, weights, seeds); changing their values
            or their leading dimension does not retrace.
        groups: G, groups per image.
        factor: optional ``(x_images, image_ids, tensors) -> tensor`` multiplying each group's
            sum (e.g. IG's ``x - b``). It must depend on the row only through its image, so the
            engine applies it once per image or group instead of once per row.
        transform: optional elementwise map of each row's ``coef * gradient`` before summing;
            only meaningful when ``points == 1`` (e.g. ``abs`` for Saliency).
        attribute: optional replacement of the default row computation, ``(points, targets,
            coef, score_fn) -> rows``, for methods that need more than the input gradient.
        statistics: per-image reductions over groups: ``"sum"`` and/or ``"sumsq"`` (of whole
            group attributions).
        argmax_targets: with target None, each row may take the argmax of its own scores (valid
            only when the rows are the images themselves, e.g. Saliency), sparing a forward pass.
        order: ``"image"`` (rows numbered image, group, point) or ``"group"`` (group, image,
            point: consecutive rows share a group, e.g. a noise sample, across images).
    """

    points: int
    make_rows: Callable[..., tuple[tf.Tensor, Any]]
    key: tuple
    tensors: dict[str, Any] = dataclasses.field(default_factory=dict)
    groups: int = 1
    factor: Callable[..., tf.Tensor] | None = None
    transform: Callable[[tf.Tensor], tf.Tensor] | None = None
    attribute: Callable[..., tf.Tensor] | None = None
    statistics: tuple[str, ...] = ("sum",)
    argmax_targets: bool = False
    order: str = "image"


def gradients(adapter, points: tf.Tensor, targets: tf.Tensor | None, overrides=None, scale=None):
    """Gradients of each row's target score w.r.t. its point, and the scores.

    With ``targets`` None each row uses its own top class. ``overrides`` are extra call
    overrides for this pass (e.g. the gradient rules of Guided Backprop). ``scale``: optional
    per-row factors of the scores, so the gradients come out multiplied by them at no cost
    (the backward pass carries them instead of a pass over the gradients).
    """
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = adapter(points, overrides=overrides)
        if targets is None:
            targets = target_kinds.top(scores)
        picked = target_kinds.pick(scores, targets)
        score = picked
        if scale is not None:
            picked = picked * tf.cast(scale, picked.dtype)
    # Rows are independent (inference mode), so the gradient of the sum is per-row gradients.
    grads = tape.gradient(picked, points)
    # A NaN or infinite target score can have a finite gradient (log of a negative number):
    # the row's attribution is made NaN so that the call's check names its image. Rows scaled
    # by 0 (padding) are left alone, so they cannot spoil the sums of other images.
    bad = ~tf.math.is_finite(score)
    if scale is not None:
        bad = bad & (tf.cast(scale, score.dtype) != 0)
    marker = tf.where(bad, tf.constant(np.nan, grads.dtype), tf.constant(1.0, grads.dtype))
    return grads * tf.reshape(marker, [-1] + [1] * (grads.shape.rank - 1)), scores


def _relaxed_spec(value) -> tf.TensorSpec:
    tensor = tf.convert_to_tensor(value)
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
        self._isolate = False  # steps that keep non-finite rows to their images (see run)
        self._row_bytes: dict[tuple, int] = {}
        self.batch_size = int(batch_size)
        self.jit_compile = bool(jit_compile)
        self.progress = progress
        self.trace_count = 0
        self._steps = model_cache.for_model(adapter.model, "steps")
        self._forwards = model_cache.for_model(adapter.model, "forwards")
        self._constants: dict = {}
        self._warned_oom = False

    # ---------------------------------------------------------------------------------------
    def run(self, x: tf.Tensor, targets: tf.Tensor | None, plan: Plan) -> dict[str, tf.Tensor]:
        """Computes the plan for images ``x`` and ``targets``: int32 ``(N,)`` class ids,
        float32 ``(N, classes)`` class weights (:mod:`tfattr.core.targets`), or None (each
        row's top class).

        Returns a dict with the requested statistics, each of shape ``(N, *row_shape)``: the sum
        over each image's groups of the group sums of rows (and of their squares).

        Raises:
            NonFiniteError: a result is NaN or infinite for some images (unless
                ``allow_nonfinite``).
        """
        self._bound_memory(x)
        result = self._run(x, targets, plan)
        if self._finite(result).all():
            return result
        # Chunks sum several images' rows in one product, where a NaN row spoils every image
        # of its chunk: run again with non-finite rows kept to their own images (slower steps,
        # only on this path) to name the right images and return NaN for those only.
        self._isolate = True
        try:
            result = self._run(x, targets, plan)
        finally:
            self._isolate = False
        self._check_finite(result, "attributions")
        return result

    def _run(self, x, targets, plan: Plan) -> dict[str, tf.Tensor]:
        n = int(x.shape[0])
        groups, points = int(plan.groups), int(plan.points)
        total = n * groups * points
        argmax = targets is None
        if argmax and not plan.argmax_targets:
            raise ValueError("internal: this plan needs resolved targets")
        if plan.order not in ("image", "group"):
            raise ValueError(f"internal: unknown row order {plan.order!r}")
        if argmax:
            targets = tf.zeros((n,), tf.int32)
        target_spec = _relaxed_spec(targets)  # class ids (N,) or class weights (N, classes)
        counts = self._constant((groups, points))
        tensors = {k: tf.convert_to_tensor(v) for k, v in plan.tensors.items()}

        sums = _Sums(n)
        carry = None  # partial sum of the group that the previous chunk left unfinished
        start = 0
        bar = self._bar(total)
        while start < total:
            size, tail = chunk_sizes(total, self.batch_size)
            chunk = tail if tail is not None and total - start <= tail else size
            layout = _layout(n, groups, points, chunk, plan, aligned=size % (n * points) == 0)
            # The image of each slot: computed here once, used by the step (factor) and below.
            ids, start_t, ids_t = self._chunk_constants(layout, start, n, groups, points)
            try:  # tracing can run out of memory too (eager model code)
                step = self._step(plan, tuple(x.shape[1:]), argmax, tensors, layout, target_spec)
                out = step(x, targets, start_t, counts, ids_t, tensors)
            except tf.errors.ResourceExhaustedError as error:
                self._shrink(error)
                continue
            end = min(start + layout.chunk, total)
            if layout.mode == "groups":
                carry = self._fold_groups(
                    sums, out, ids, start, end, carry, n, groups, points, plan.statistics
                )
            else:
                if layout.mode == "rows" and end - start < layout.chunk:  # drop padding rows
                    ids, out = ids[: end - start], {k: v[: end - start] for k, v in out.items()}
                for name, update in out.items():
                    sums.add(name, update, ids)
            bar.update(end - start)
            start = end
        bar.close()
        return sums.result()

    def _constant(self, value) -> tf.Tensor:
        """An int32 tensor of ``value`` (an int or a tuple), made once per engine: a call
        repeats the same few (chunk starts, slot images); a new host tensor per chunk is not free."""
        tensor = self._constants.get(value)
        if tensor is None:
            if len(self._constants) >= 4096:
                self._constants.clear()
            tensor = self._constants[value] = tf.constant(value, tf.int32)
        return tensor

    def _chunk_constants(self, layout, start, n, groups, points):
        """The slot images of the chunk at ``start`` (host ints), and start and slot images as
        tensors for the step."""
        ids = layout.slot_images(start, n, groups, points)
        return ids, self._constant(start), self._constant(tuple(ids.tolist()))

    @staticmethod
    def _fold_groups(sums, group_sums, ids, start, end, carry, n, groups, points, statistics):
        """Adds the groups a chunk finished into the statistics; returns the unfinished one.
        ``ids`` are the images of the chunk's group slots."""
        first, last = start // points, (end - 1) // points
        if carry is not None:
            group_sums = tf.tensor_scatter_nd_add(group_sums, [[0]], carry[None])
        total = n * groups * points
        done = last - first + (1 if end % points == 0 or end == total else 0)
        carry = group_sums[done] if done <= last - first else None
        if done:
            finished = group_sums[:done]
            for name in statistics:
                sums.add(name, finished if name == "sum" else tf.square(finished), ids[:done])
        return carry

    def _bound_memory(self, x: tf.Tensor) -> None:
        """Lowers ``batch_size`` so a chunk's estimated working set fits available memory."""
        shape = tuple(x.shape[1:])
        per_row = self._row_bytes.get(shape)
        if per_row is None:
            per_row = self._row_bytes[shape] = memory.row_bytes(self.adapter.model, shape)
        rows = memory.bound_rows(self.batch_size, per_row)
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
        specs = tuple((name, _relaxed_spec(value)) for name, value in sorted(tensors.items()))
        specs += (("targets", target_spec),)
        structure = (plan.statistics, plan.order, plan.argmax_targets) + tuple(
            f is not None for f in (plan.transform, plan.factor, plan.attribute)
        )
        key = (self.owner, self.adapter.key(), plan.key, structure, specs, image_shape, layout)
        key += (argmax, self.jit_compile, self._isolate)
        step = self._steps.get(key)
        if step is None:
            step = self._compile_step(
                plan, image_shape, argmax, tensors, layout, self._isolate, target_spec
            )
            self._steps[key] = step
        return step

    def _compile_step(
        self, plan: Plan, image_shape, argmax, tensors, layout, isolate=False, target_spec=None
    ) -> Callable:
        adapter = self.adapter

        def step(x, targets, start, counts, slot_image, tensors):
            self.trace_count += 1  # Python side effect: runs once per trace
            index = _ChunkIndex(layout, x, start, counts)
            rows = index.rows
            # The chunk's rows (pruned from the graph when make_rows ignores them); when the
            # chunk is the batch of images itself, no copy, only its static shape.
            if layout.whole:
                x_rows = tf.reshape(x, (layout.chunk, *image_shape))
            else:
                x_rows = tf.gather(x, rows.image)
            if argmax:
                row_targets = None
            elif layout.whole:  # the rows are the images in order: no index ops
                row_targets = targets
            else:
                row_targets = tf.gather(targets, rows.image)
            points, coef = plan.make_rows(x_rows, rows, tensors)
            weights = None  # per-row scalars, applied inside the reduction
            zeroed = False  # whether padding rows' values are zero
            if plan.attribute is not None:
                values = plan.attribute(points, row_targets, coef, adapter)
            else:
                # Per-row weights, and zeros for padding rows, scale the scores: the gradients
                # come out weighted, and the reduction is a plain sum.
                scale = None
                if coef is not None and coef.shape.rank == 1 and plan.transform is None:
                    scale, coef = coef, None
                if layout.mode != "rows":
                    valid = tf.cast(index.valid, tf.float32)
                    scale, zeroed = (valid if scale is None else scale * valid), True
                values, _ = gradients(adapter, points, row_targets, scale=scale)
                if coef is not None:
                    values = values * (_per_row(coef, values) if coef.shape.rank == 1 else coef)
            if plan.transform is not None:
                values = plan.transform(values)

            # Squares need each group whole before squaring: weights and factor go on the rows.
            squares = "sumsq" in plan.statistics and layout.mode != "groups"
            if plan.factor is not None and (squares or layout.mode == "rows"):
                factor = plan.factor(x_rows, rows.image, tensors)
                values, weights = values * _per_row(weights, values) * factor, None
            elif squares and weights is not None:
                values, weights = values * _per_row(weights, values), None
            if layout.mode == "rows":
                return _statistics(values, plan.statistics)
            spoiled = None
            if isolate:  # a non-finite row spoils its own slot only (0 * NaN is NaN)
                values, spoiled = _isolate_rows(values, index)
            if squares:
                stats = _statistics(values, plan.statistics)
                out = {name: index.reduce(v, None, zeroed) for name, v in stats.items()}
                return {k: _spoil(v, spoiled, index) for k, v in out.items()} if isolate else out
            sums = index.reduce(values, weights, zeroed)
            if plan.factor is not None:
                sums = sums * plan.factor(tf.gather(x, slot_image), slot_image, tensors)
            if isolate:
                sums = _spoil(sums, spoiled, index)
            return sums if layout.mode == "groups" else {"sum": sums}

        signature = [
            tf.TensorSpec((None, *image_shape), tf.float32),
            target_spec or tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((), tf.int32),
            tf.TensorSpec((2,), tf.int32),
            tf.TensorSpec((layout.slots,), tf.int32),
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
    """``fn`` compiled with XLA, for building rows inside ``make_rows``.

    Building a chunk's points is elementwise work (gather the image, mask, add noise,
    interpolate) that TF's default kernels run as one pass per op; XLA fuses it into one pass.
    """
    return tf.function(fn, jit_compile=True, autograph=False)


class _ChunkIndex:
    """Inside the step: which image, group and point each row of the chunk is, and which slot
    (image or group of the chunk) it is summed into."""

    def __init__(self, layout: _Layout, x, start, counts):
        self.layout = layout
        groups, points = counts[0], counts[1]
        n = tf.shape(x)[0]
        total = n * groups * points
        flat = start + tf.range(layout.chunk, dtype=tf.int32)
        self.valid = flat < total
        flat = tf.minimum(flat, total - 1)  # padding rows repeat the last row (masked later)
        group_id = flat // points  # in numbering order
        if layout.group_major:
            image, group = group_id % n, group_id // n
            first_group = (start // points) // n
        else:
            image, group = group_id // groups, group_id % groups
            first_group = tf.zeros((), tf.int32)
        self.rows = Rows(image, group, flat % points, first_group, layout.span, x)
        if layout.mode == "rows":  # row k is slot k
            return
        # Each row's slot; the slots' images come from the host (_Layout.slot_images).
        if layout.mode == "groups":
            self.local = group_id - start // points
        elif layout.group_major:  # images, sample-major: the chunk's images wrap around
            self.local = (image - (start // points) % n) % n
        else:  # images
            self.local = image - start // (groups * points)

    def reduce(self, values, weights, zeroed=False):
        """``(slots, *row_shape)``: each slot's sum of its rows' values (times ``weights``).

        Chunks of whole rounds of the images (group-major, aligned) whose padding rows hold
        zeros and no weights are left (``zeroed``) are summed over their rounds; otherwise one
        product with a one-hot matrix (padding rows have no slot).
        """
        slots, layout = self.layout.slots, self.layout
        if zeroed and weights is None and layout.rounds:
            return tf.reduce_sum(tf.reshape(values, (layout.rounds, slots, *values.shape[1:])), 0)
        onehot = tf.one_hot(tf.where(self.valid, self.local, -1), slots, dtype=values.dtype)
        if weights is not None:
            onehot = onehot * weights[:, None]
        summed = tf.matmul(onehot, tf.reshape(values, (layout.chunk, -1)), transpose_a=True)
        return tf.reshape(summed, tf.concat([[slots], tf.shape(values)[1:]], 0))


def _isolate_rows(values, index):
    """Zeros for the chunk's non-finite rows, and which rows they were (padding excluded)."""
    flat = tf.reshape(values, (index.layout.chunk, -1))
    spoiled = ~tf.reduce_all(tf.math.is_finite(flat), axis=1) & index.valid
    shape = [-1] + [1] * (values.shape.rank - 1)
    return tf.where(tf.reshape(spoiled, shape), tf.zeros_like(values), values), spoiled


def _spoil(sums, spoiled, index):
    """NaN in the slots ``(slots, ...)`` that received a non-finite row."""
    hits = index.reduce(tf.cast(spoiled, sums.dtype), None)  # (slots,): spoiled rows per slot
    shape = [-1] + [1] * (sums.shape.rank - 1)
    return tf.where(tf.reshape(hits > 0, shape), tf.constant(np.nan, sums.dtype), sums)


def _per_row(weights, values):
    if weights is None:
        return 1.0
    return tf.reshape(weights, [-1] + [1] * (values.shape.rank - 1))


def _statistics(values, statistics):
    return {name: values if name == "sum" else tf.square(values) for name in statistics}


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


@dataclasses.dataclass(frozen=True)
class _Layout:
    """How a run's rows are chunked and reduced; part of the compiled step's cache key.

    Modes: ``rows`` (one row per image slot, e.g. Saliency: no reduction), ``images`` (rows
    summed into per-image slots inside the step; for sums, and for squares when each row is a
    whole group), ``groups`` (rows summed into group slots; the host squares finished groups).
    """

    chunk: int
    mode: str
    slots: int
    span: int  # distinct groups a chunk touches (group-major order)
    group_major: bool
    whole: bool = False  # one chunk holding exactly the N images, in order
    rounds: int = 0  # > 0: the chunk is this many whole rounds of the N = slots images, in order

    def slot_images(self, start: int, n: int, groups: int, points: int) -> np.ndarray:
        """The image of each slot of the chunk starting at row ``start`` (host integers)."""
        slots = np.arange(self.slots)
        if self.mode == "rows":  # points == 1: row k is group start + k
            ids = (start + slots) % n if self.group_major else start + slots
            return np.minimum(ids, n - 1).astype(np.int32)  # (padding rows are dropped)
        if self.mode == "groups":
            group = np.minimum(start // points + slots, n * groups - 1)
            return (group % n if self.group_major else group // groups).astype(np.int32)
        if self.group_major:
            return (((start // points) % n + slots) % n).astype(np.int32)
        return np.minimum(start // (groups * points) + slots, n - 1).astype(np.int32)


def _layout(n: int, groups: int, points: int, chunk: int, plan: Plan, aligned: bool) -> _Layout:
    """``aligned``: every chunk starts at a group boundary (chunks are whole groups of all
    images), so a chunk touches exactly ``chunk / (n * points)`` groups, not one more."""
    group_major = plan.order == "group" and groups > 1
    if not group_major:
        span = groups
    elif aligned:
        span = min(groups, -(-chunk // (n * points)))
    else:
        span = min(groups, (chunk - 1) // (n * points) + 2)
    if points == 1 and (groups == 1 or group_major and n >= chunk):
        whole = groups == 1 and n == chunk
        return _Layout(chunk, "rows", chunk, span, group_major, whole)
    if points == 1 or plan.statistics == ("sum",):
        if group_major and points == 1 and aligned and chunk % n == 0:
            return _Layout(chunk, "images", n, span, group_major, rounds=chunk // n)
        per_slot = points if group_major else groups * points
        return _Layout(chunk, "images", _slots(n, (chunk - 1) // per_slot + 2), span, group_major)
    return _Layout(
        chunk, "groups", _slots(n * groups, (chunk - 1) // points + 2), span, group_major
    )


def _slots(available: int, bound: int) -> int:
    """Slots per chunk: ``bound``, or fewer when there are fewer images (groups) than that,
    rounded up to a power of two (at least 2) so that calls on 1, 2, 3, ... images share steps."""
    return min(bound, max(2, 1 << (available - 1).bit_length()))


class _Sums:
    """Per-image statistics. Updates for images that have no value yet are kept as they come
    and joined at the end (one copy: chunks of one row per image cost nothing more); an update
    for an image that already has a value joins everything into one tensor, which further
    updates are scattered into (the host passes only slot indices). Small updates (e.g.
    Occlusion's one score per window) wait and are scattered together, at most N rows or 1 MiB
    at a time, so a chunk does not cost one scatter op of its own. No variable is created, so
    the engine runs the same inside a ``tf.distribute`` replica context."""

    BATCH_BYTES = 1 << 20

    def __init__(self, n: int):
        self.n = n
        self.pieces: dict[str, list[tuple[np.ndarray, tf.Tensor]]] = {}
        self.seen: dict[str, np.ndarray] = {}  # images with a value, per statistic
        self.totals: dict[str, tf.Tensor] = {}
        self.waiting: dict[str, list[tuple[np.ndarray, tf.Tensor]]] = {}

    def add(self, name: str, update: tf.Tensor, ids: np.ndarray) -> None:
        ids = np.asarray(ids, np.int32)
        if name not in self.totals:
            seen = self.seen.setdefault(name, np.zeros(self.n, bool))
            if not seen[ids].any() and np.unique(ids).size == ids.size:
                seen[ids] = True
                self.pieces.setdefault(name, []).append((ids, update))
                return
            self.totals[name] = self._join(name, update.dtype, update.shape[1:])
        waiting = self.waiting.setdefault(name, [])
        waiting.append((ids, update))
        rows = sum(i.size for i, _ in waiting)
        if rows >= self.n or rows * update.shape[1:].num_elements() * 4 >= self.BATCH_BYTES:
            self._scatter(name)

    def _scatter(self, name: str) -> None:
        waiting = self.waiting.pop(name, [])
        if not waiting:
            return
        ids = np.concatenate([i for i, _ in waiting])
        updates = waiting[0][1] if len(waiting) == 1 else tf.concat([u for _, u in waiting], 0)
        if np.array_equal(ids, np.arange(self.n)):  # every image in order: a dense add
            self.totals[name] = self.totals[name] + updates
        else:
            indices = tf.constant(ids[:, None])
            self.totals[name] = tf.tensor_scatter_nd_add(self.totals[name], indices, updates)

    def _join(self, name: str, dtype, shape) -> tf.Tensor:
        """The pieces of ``name`` as one ``(n, *shape)`` tensor (zeros for images without)."""
        pieces = self.pieces.pop(name, [])
        missing = np.flatnonzero(~self.seen[name])
        if missing.size:
            pieces.append((missing.astype(np.int32), tf.zeros((missing.size, *shape), dtype)))
        order = np.concatenate([ids for ids, _ in pieces])
        if np.array_equal(order, np.arange(self.n)):  # in order: a concatenation
            return pieces[0][1] if len(pieces) == 1 else tf.concat([u for _, u in pieces], 0)
        return tf.dynamic_stitch([tf.constant(ids) for ids, _ in pieces], [u for _, u in pieces])

    def result(self) -> dict[str, tf.Tensor]:
        for name in self.totals:
            self._scatter(name)
        out = dict(self.totals)
        for name, pieces in list(self.pieces.items()):
            out[name] = self._join(name, pieces[0][1].dtype, pieces[0][1].shape[1:])
        return out
