"""The gradient engine: every "gradients of target scores at many points" job, compiled and chunked.

A method describes its work as a :class:`Plan`: for each image ``i`` there are ``groups`` groups
(e.g. noise samples) of ``points`` rows (e.g. interpolation steps). Row ``(i, g, j)`` is a point
built on the device from image ``i`` by ``plan.make_rows``, and contributes ``coef * gradient``
(or whatever ``plan.attribute`` computes) to its group's sum. The engine streams the ``N*G*P``
rows in chunks of ``batch_size`` through one ``tf.function``:

- rows are numbered image-major and built inside the compiled step, so no interpolation point is
  materialised outside the chunk being computed and memory does not grow with steps or samples;
- the last chunk is padded (padding rows are masked out), so every call has the same shapes and
  the step traces once per image shape, whatever the number of images, steps or samples;
- group sums are reduced on the device with a segment sum; the host only does integer
  bookkeeping (no device-to-host transfer inside the loop);
- finished groups are folded into per-image statistics (sum, sum of squares), which is how
  NoiseTunnel computes means and variances of whole attributions without storing them.
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

from tfattr.core.adapter import ModelAdapter

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
    """Indices of the rows of one chunk, as int32 tensors of shape (batch_size,)."""

    image: tf.Tensor
    group: tf.Tensor
    point: tf.Tensor


@dataclasses.dataclass
class Plan:
    """The work of one explanation, for :meth:`GradientEngine.run`.

    Attributes:
        points: P, rows per group (gradient evaluations whose weighted sum is one attribution).
        make_rows: ``(x_rows, rows, tensors) -> (points, coef)``, traced into the compiled step.
            ``x_rows`` are the images of the chunk's rows; ``coef`` multiplies the gradient
            (None for 1).
        key: hashable description of what ``make_rows`` does beyond ``tensors`` (same key, same
            code): the compiled step is cached under it.
        tensors: tensors ``make_rows`` reads (baselines, weights, seeds); changing their values
            or their leading dimension does not retrace.
        groups: G, groups per image.
        transform: optional elementwise map of each row's ``coef * gradient`` before summing;
            only meaningful when ``points == 1`` (e.g. ``abs`` for Saliency).
        attribute: optional replacement of the default row computation, ``(points, targets,
            coef, score_fn) -> rows``, for methods that need more than the input gradient.
        statistics: per-image reductions over groups: ``"sum"`` and/or ``"sumsq"`` (of whole
            group attributions).
        argmax_targets: with target None, each row may take the argmax of its own scores (valid
            only when the rows are the images themselves, e.g. Saliency), sparing a forward pass.
    """

    points: int
    make_rows: Callable[..., tuple[tf.Tensor, tf.Tensor | None]]
    key: tuple
    tensors: dict[str, Any] = dataclasses.field(default_factory=dict)
    groups: int = 1
    transform: Callable[[tf.Tensor], tf.Tensor] | None = None
    attribute: Callable[..., tf.Tensor] | None = None
    statistics: tuple[str, ...] = ("sum",)
    argmax_targets: bool = False


def gradients(adapter, points: tf.Tensor, targets: tf.Tensor | None, overrides=None):
    """Gradients of each row's target score w.r.t. its point, and the scores.

    With ``targets`` None each row uses its own top class. ``overrides`` are extra call
    overrides for this pass (e.g. the gradient rules of Guided Backprop).
    """
    with tf.GradientTape() as tape:
        tape.watch(points)
        scores = adapter(points, overrides=overrides)
        if targets is None:
            targets = tf.argmax(scores, axis=-1, output_type=tf.int32)
        picked = tf.gather(scores, targets, axis=1, batch_dims=1)
    # Rows are independent (inference mode), so the gradient of the sum is per-row gradients.
    return tape.gradient(picked, points), scores


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
    """

    def __init__(
        self,
        adapter: ModelAdapter,
        batch_size: int = 32,
        jit_compile: bool = False,
        progress: bool | None = None,
    ):
        self.adapter = adapter
        self.batch_size = int(batch_size)
        self.jit_compile = bool(jit_compile)
        self.progress = progress
        self.trace_count = 0
        self._steps: dict[tuple, Callable] = {}
        self._forwards: dict[tuple, Callable] = {}
        self._warned_oom = False

    # ---------------------------------------------------------------------------------------
    def run(self, x: tf.Tensor, targets: tf.Tensor | None, plan: Plan) -> dict[str, tf.Tensor]:
        """Computes the plan for images ``x`` and int32 ``targets`` (None: top class).

        Returns a dict with the requested statistics, each of shape ``(N, *row_shape)``: the sum
        over each image's groups of the group sums of rows (and of their squares).
        """
        n = int(x.shape[0])
        groups, points = int(plan.groups), int(plan.points)
        total = n * groups * points
        argmax = targets is None
        if argmax and not plan.argmax_targets:
            raise ValueError("internal: this plan needs resolved targets")
        if argmax:
            targets = tf.zeros((n,), tf.int32)
        counts = tf.constant([groups, points], tf.int32)
        tensors = {k: tf.convert_to_tensor(v) for k, v in plan.tensors.items()}

        results: dict[str, tf.Variable] = {}
        carry = None  # partial sum of the group that the previous chunk left unfinished
        start = 0
        bar = self._bar(total, plan)
        while start < total:
            step = self._step(plan, tuple(x.shape[1:]), argmax, tensors)
            try:
                sums = step(x, targets, tf.constant(start, tf.int32), counts, tensors)
            except tf.errors.ResourceExhaustedError as error:
                self._shrink(error)
                continue
            end = min(start + self.batch_size, total)
            first, last = start // points, (end - 1) // points
            if carry is not None:
                sums = tf.tensor_scatter_nd_add(sums, [[0]], carry[None])
            done = last - first + (1 if end % points == 0 or end == total else 0)
            carry = sums[done] if done <= last - first else None
            if done:
                self._fold(results, sums[:done], first, groups, n, plan.statistics)
            bar.update(end - start)
            start = end
        bar.close()
        return {name: tf.convert_to_tensor(v) for name, v in results.items()}

    def _fold(self, results, group_sums, first_group, groups, n, statistics):
        """Adds finished groups ``first_group...`` into per-image statistics."""
        count = int(group_sums.shape[0])
        images = (np.arange(first_group, first_group + count) // groups).astype(np.int32)
        lo, hi = int(images[0]), int(images[-1]) + 1
        for name in statistics:
            values = group_sums if name == "sum" else tf.square(group_sums)
            if groups == 1:  # one group per image: nothing to combine
                update = values
            else:
                update = tf.math.unsorted_segment_sum(values, tf.constant(images - lo), hi - lo)
            if name not in results:
                results[name] = tf.Variable(tf.zeros((n, *group_sums.shape[1:]), tf.float32))
            results[name].scatter_add(tf.IndexedSlices(update, tf.range(lo, hi)))

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

    def _bar(self, total: int, plan: Plan):
        chunks = -(-total // self.batch_size)
        show = self.progress
        if show is None:
            show = chunks >= 64 and sys.stderr.isatty()
        if not show:
            return _NoBar()
        from tqdm.auto import tqdm  # imported on demand: its notebook probe warns at import

        return tqdm(total=total, unit="grad", leave=False, desc="tfattr")

    def _step(self, plan: Plan, image_shape: tuple, argmax: bool, tensors: dict) -> Callable:
        key = (plan.key, image_shape, self.batch_size, argmax, self.jit_compile)
        step = self._steps.get(key)
        if step is None:
            step = self._compile_step(plan, image_shape, argmax, tensors)
            self._steps[key] = step
        return step

    def _compile_step(self, plan: Plan, image_shape, argmax, tensors) -> Callable:
        batch_size = self.batch_size
        adapter = self.adapter

        def step(x, targets, start, counts, tensors):
            self.trace_count += 1  # Python side effect: runs once per trace
            groups, points = counts[0], counts[1]
            total = tf.shape(x)[0] * groups * points
            flat = start + tf.range(batch_size, dtype=tf.int32)
            valid = flat < total
            flat = tf.minimum(flat, total - 1)
            group_id = flat // points
            rows = Rows(image=group_id // groups, group=group_id % groups, point=flat % points)
            x_rows = tf.gather(x, rows.image)
            row_targets = None if argmax else tf.gather(targets, rows.image)
            pts, coef = plan.make_rows(x_rows, rows, tensors)
            if plan.attribute is not None:
                values = plan.attribute(pts, row_targets, coef, adapter)
            else:
                values, _ = gradients(adapter, pts, row_targets)
                if coef is not None:
                    values = values * coef
            if plan.transform is not None:
                values = plan.transform(values)
            # Padding rows get segment -1, which the segment sum drops (no masking pass).
            segment = tf.where(valid, group_id - start // points, -1)
            return tf.math.unsorted_segment_sum(values, segment, batch_size)

        signature = [
            tf.TensorSpec((None, *image_shape), tf.float32),
            tf.TensorSpec((None,), tf.int32),
            tf.TensorSpec((), tf.int32),
            tf.TensorSpec((2,), tf.int32),
            {k: _relaxed_spec(v) for k, v in tensors.items()},
        ]
        # No autograph: the step has no tensor-dependent Python control flow, and errors raised
        # while tracing (e.g. a bad layer choice) keep their type instead of becoming StagingError.
        return tf.function(
            step, input_signature=signature, jit_compile=self.jit_compile, autograph=False
        )

    # ---------------------------------------------------------------------------------------
    def scores(self, x: tf.Tensor) -> tf.Tensor:
        """Model scores ``(N, classes)`` for images ``x``, in compiled chunks of batch_size."""
        n = int(x.shape[0])
        forward = self._forward(tuple(x.shape[1:]))
        out = []
        start = 0
        while start < n:
            chunk = x[start : start + self.batch_size]
            pad = self.batch_size - int(chunk.shape[0])
            if pad:
                chunk = tf.concat([chunk, tf.zeros((pad, *chunk.shape[1:]), chunk.dtype)], 0)
            try:
                result = forward(chunk)
            except tf.errors.ResourceExhaustedError as error:
                self._shrink(error)
                forward = self._forward(tuple(x.shape[1:]))
                continue
            out.append(result[: self.batch_size - pad])
            start += self.batch_size - pad
        return tf.concat(out, axis=0)

    def target_scores(self, x: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
        """The score of each image's target class, F(x): (N,)."""
        return tf.gather(self.scores(x), targets, axis=1, batch_dims=1)

    def _forward(self, image_shape: tuple) -> Callable:
        key = (image_shape, self.batch_size, self.jit_compile)
        if key not in self._forwards:

            def forward(x):
                self.trace_count += 1
                return self.adapter(x)

            self._forwards[key] = tf.function(
                forward,
                input_signature=[tf.TensorSpec((self.batch_size, *image_shape), tf.float32)],
                jit_compile=self.jit_compile,
                autograph=False,
            )
        return self._forwards[key]
