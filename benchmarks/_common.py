"""Shared pieces of the benchmarks: models, images, floors, alternating timers, memory and syncs.

A method's *floor* is the compiled, batched model work it cannot avoid -- the forward(+backward)
passes over exactly its points, prepared in advance as device tensors and cut into chunks of
the same batch size -- and nothing else (no point construction, weighting or accumulation).
Timings alternate the runs being compared, in rounds, and report medians; ratios are medians of
per-round ratios (:func:`paired_ratio`), so background load on a shared machine hits both sides
alike; report ratios measured in one run, never across runs.
"""

from __future__ import annotations

import contextlib
import math
import os
import pathlib
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _models  # noqa: E402  (the benchmarks folder is not a package)

SAMPLE_IMAGES = pathlib.Path(_models.ASSETS).resolve() / "sample_images"


def build(name: str, size: int, weights: str | None = None):
    """Benchmark model ``name`` (``cnn`` or ``mobilenet``) under Keras 3, logits out."""
    import keras

    return _models.build(keras, name, size, weights)


def images(count: int, size: int, model_name: str = "cnn") -> np.ndarray:
    """``count`` images ``(N, size, size, 3)`` float32 in MobileNet's [-1, 1] input scale.

    Real photos from the shared ImageNet samples when they are there (resized), else seeded
    uniform noise, so the benchmarks also run in a checkout without the shared folder.
    """
    files = sorted(SAMPLE_IMAGES.glob("*.JPEG"))[:count] if SAMPLE_IMAGES.is_dir() else []
    if len(files) < count:
        rng = np.random.default_rng(0)
        return rng.uniform(-1, 1, (count, size, size, 3)).astype(np.float32)
    out = []
    for path in files:
        image = tf.io.decode_jpeg(tf.io.read_file(str(path)), channels=3)
        out.append(tf.image.resize(image, (size, size), antialias=True).numpy())
    return (np.stack(out) / 127.5 - 1.0).astype(np.float32)


def machine() -> str:
    """One line naming the machine, for the record of every measurement."""
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs ({cpu}), "
        f"Python {platform.python_version()}, TF {tf.__version__}, oneDNN {_onednn()}"
    )


def _onednn() -> str:
    """Whether TF runs its oneDNN CPU kernels (2-3x faster model passes than its Eigen ones).

    TF turns them on by default only on CPUs with AVX-512 VNNI/BF16 or AMX;
    ``TF_ENABLE_ONEDNN_OPTS`` overrides that. The effective state is only exposed privately.
    """
    try:
        from tensorflow.python.util import _pywrap_util_port

        return "on" if _pywrap_util_port.IsMklEnabled() else "off"
    except (ImportError, AttributeError):
        return "unknown"


# --------------------------------------------------------------------------------------------
# Timing


def time_rounds(
    runs: dict[str, Callable[[], object]], repeats: int, min_sample: float = 0.25
) -> dict[str, list[float]]:
    """Seconds per call of each run, one value per round (``repeats`` rounds).

    After one warm-up call each, a round makes ``calls`` calls of every run (the same number
    for all runs, enough for the fastest run to last ``min_sample`` seconds, so that jobs of a
    few milliseconds are not measured at the resolution of the machine's jitter), interleaved
    call by call in alternating order (a, b, then b, a, ...): the runs' calls are neighbours in
    time, and a machine that speeds up or slows down, even within a round, favours none of them.
    """
    for run in runs.values():  # compile and warm up
        run()
    fastest = min(seconds(run, 1) for run in runs.values())
    calls = max(1, math.ceil(min_sample / max(fastest, 1e-6)))
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for round_ in range(repeats):
        spent = dict.fromkeys(names, 0.0)
        for call in range(calls):
            for name in names if (round_ + call) % 2 == 0 else reversed(names):
                spent[name] += seconds(runs[name], 1)
        for name in names:
            times[name].append(spent[name] / calls)
    return times


def time_runs(
    runs: dict[str, Callable[[], object]], repeats: int, min_sample: float = 0.25
) -> dict[str, float]:
    """Median seconds per call of each run over :func:`time_rounds`' rounds."""
    rounds = time_rounds(runs, repeats, min_sample)
    return {name: statistics.median(t) for name, t in rounds.items()}


def paired_ratio(times: dict[str, list[float]], name: str, reference: str) -> dict[str, float]:
    """``name``'s time over ``reference``'s, measured within each round: the median of the
    per-round ratios (a slow phase of a shared machine scales both runs of a round alike and
    cancels out; the median ignores rounds that a burst hit on one side only), with the lowest
    and highest round for the spread; and ``name``'s fastest round over ``reference``'s
    (``ratio_min``: each run's time with the least interference from the rest of the machine)."""
    ratios = [a / b for a, b in zip(times[name], times[reference], strict=True)]
    return {
        "ratio": statistics.median(ratios),
        "ratio_low": min(ratios),
        "ratio_high": max(ratios),
        "ratio_min": min(times[name]) / min(times[reference]),
    }


def seconds(run: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        run()
    return time.perf_counter() - start


# --------------------------------------------------------------------------------------------
# Floors


def chunks(rows: np.ndarray, size: int) -> list[tf.Tensor]:
    """``rows`` cut into device tensors of ``size`` rows (the last one shorter: no padding)."""
    return [tf.constant(rows[i : i + size]) for i in range(0, len(rows), size)]


def _work(points: np.ndarray, targets: np.ndarray, batch_size: int) -> list:
    """(points, targets) chunk pairs."""
    targets = targets.astype(np.int32)
    return list(zip(chunks(points, batch_size), chunks(targets, batch_size), strict=True))


def _target_scores(model, points, targets):
    return tf.gather(model(points, training=False), targets, axis=1, batch_dims=1)


def gradient_floor(model, points: np.ndarray, targets: np.ndarray, batch_size: int):
    """Gradients of each row's target score w.r.t. its point, over all rows, in chunks."""
    work = _work(points, targets, batch_size)

    @tf.function
    def grads(p, t):
        with tf.GradientTape() as tape:
            tape.watch(p)
            scores = _target_scores(model, p, t)
        return tape.gradient(scores, p)

    def run():
        out = None
        for p, t in work:
            out = grads(p, t)
        return out.numpy()  # one sync at the end, as tfattr

    return run


def forward_floor(model, points: np.ndarray, targets: np.ndarray, batch_size: int):
    """Target scores of all rows, forward only, in chunks (Occlusion's floor)."""
    work = _work(points, targets, batch_size)
    forward = tf.function(lambda p, t: _target_scores(model, p, t))

    def run():
        out = None
        for p, t in work:
            out = forward(p, t)
        return out.numpy()

    return run


def layer_gradient_floor(model, layer: str, x: np.ndarray, targets: np.ndarray, batch_size: int):
    """One forward + backward down to ``layer``'s output per image (Grad-CAM's floor)."""
    import keras

    taps = keras.Model(model.inputs, [model.get_layer(layer).output, model.outputs[0]])
    work = _work(x, targets, batch_size)

    @tf.function
    def grads(p, t):
        with tf.GradientTape() as tape:
            activations, scores = taps(p, training=False)
            picked = tf.gather(scores, t, axis=1, batch_dims=1)
        # Grad-CAM uses both. Returning the gradient alone lets TF prune the whole forward pass
        # when the head is linear (pooling + dense: the gradient does not depend on the input).
        return activations, tape.gradient(picked, activations)

    def run():
        out = None
        for p, t in work:
            out = grads(p, t)
        return out[1].numpy()

    return run


def paired_gradient_floor(
    model, x: np.ndarray, baseline: np.ndarray, targets: np.ndarray, batch_size: int
):
    """Gradients over input and baseline rows together, ``2 x batch_size`` rows a chunk
    (DeepLift's floor: one forward+backward of both halves)."""
    both = []
    for i in range(0, len(x), batch_size):
        xs = x[i : i + batch_size]
        both.append(np.concatenate([xs, np.broadcast_to(baseline, xs.shape)]))
    rows = np.concatenate(both)
    pair_targets = np.concatenate(
        [np.tile(targets[i : i + batch_size], 2) for i in range(0, len(x), batch_size)]
    )
    return gradient_floor(model, rows, pair_targets, 2 * batch_size)


# --------------------------------------------------------------------------------------------
# Memory and host round-trips


class PeakRSS:
    """Peak resident memory above the level at entry, sampled every 2 ms from /proc."""

    def __enter__(self):
        self.start = self._rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.increase = self.peak - self.start

    def _watch(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._rss())
            time.sleep(0.002)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class SyncCounter:
    """Counts device-to-host reads of eager tensors during the block.

    Host reads of an eager tensor through Python -- ``.numpy()``, ``int()``, ``float()``,
    ``bool()`` (``if tensor:``), ``__array__`` -- all go through ``_EagerTensorBase._numpy``;
    ``np.asarray``/``np.array`` read through the buffer protocol instead, so those two numpy
    functions are wrapped too (calls through other numpy entry points are not seen). Each is a
    point where Python waits for the device. A loop free of round-trips shows the same count
    whatever its number of chunks.
    """

    def __enter__(self):
        from tensorflow.python.framework import ops

        self.count = 0
        counter = self
        self._patched = []

        def patch(owner, name, is_read):
            original = getattr(owner, name)

            def counted(*args, **kwargs):
                if is_read(args):
                    counter.count += 1
                return original(*args, **kwargs)

            setattr(owner, name, counted)
            self._patched.append((owner, name, original))

        patch(ops._EagerTensorBase, "_numpy", lambda args: True)
        for name in ("asarray", "array"):
            patch(np, name, lambda args: bool(args) and isinstance(args[0], ops._EagerTensorBase))
        return self

    def __exit__(self, *exc):
        for owner, name, original in reversed(self._patched):
            setattr(owner, name, original)
