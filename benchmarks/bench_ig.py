"""Integrated Gradients against its floor: one compiled, batched forward+backward over the same points.

    python benchmarks/bench_ig.py                     # CNN at 224x224, 8 images, 50 steps
    python benchmarks/bench_ig.py --model mobilenet   # keras MobileNet (alpha 0.25, weights=None)
    python benchmarks/bench_ig.py --memory            # peak memory at 400 vs 25 steps

The floor computes exactly the gradients IG needs (images x steps points, prepared in advance,
in chunks of the same batch size) and nothing else: no interpolation, no weighting, no
accumulation. Timings alternate floor and tfattr runs and report medians, so background load
hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

import tfattr


def build(name: str, size: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    if name == "mobilenet":
        return keras.applications.MobileNet(
            alpha=0.25, weights=None, input_shape=(size, size, 3), classifier_activation=None
        )
    layers = [keras.Input((size, size, 3))]
    for filters in (16, 32, 64, 64):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
        ]
    layers += [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(1000)]
    return keras.Sequential(layers)


def floor_runner(model, x, targets, steps, batch_size):
    """The floor: compiled gradients of target scores over all IG points, in chunks."""
    alphas = np.linspace(0, 1, steps, dtype=np.float32)
    points = (alphas[None, :, None, None, None] * x[:, None]).reshape(-1, *x.shape[1:])
    point_targets = np.repeat(targets, steps).astype(np.int32)
    chunks = [
        (tf.constant(points[i : i + batch_size]), tf.constant(point_targets[i : i + batch_size]))
        for i in range(0, len(points), batch_size)
    ]

    @tf.function
    def grads(p, t):
        with tf.GradientTape() as tape:
            tape.watch(p)
            scores = tf.gather(model(p, training=False), t, axis=1, batch_dims=1)
        return tape.gradient(scores, p)

    def run():
        out = None
        for p, t in chunks:
            out = grads(p, t)
        return out.numpy()  # one sync at the end, as tfattr

    return run


def time_pair(runs: dict, repeats: int) -> dict:
    for run in runs.values():  # compile and warm up
        run()
    times = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("cnn", "mobilenet"), default="cnn")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory", action="store_true", help="also compare 25 vs 400 steps")
    args = parser.parse_args(argv)

    model = build(args.model, args.size)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (args.images, args.size, args.size, 3)).astype(np.float32)
    targets = np.arange(args.images) % 10
    ig = tfattr.IntegratedGradients(
        model, steps=args.steps, method="riemann_trapezoid", batch_size=args.batch_size
    )
    medians = time_pair(
        {
            "floor": floor_runner(model, x, targets, args.steps, args.batch_size),
            "tfattr": lambda: ig.explain(x, target=targets).numpy(),
        },
        args.repeats,
    )
    points = args.images * args.steps
    print(
        f"IG {args.model} {args.size}x{args.size}, {args.images} images x {args.steps} steps, "
        f"batch {args.batch_size}, {os.cpu_count()} CPUs, TF {tf.__version__}"
    )
    for name, seconds in medians.items():
        print(f"  {name:7s} {seconds:8.3f} s  ({points / seconds:7.1f} gradients/s)")
    print(f"  ratio tfattr / floor: {medians['tfattr'] / medians['floor']:.3f}")

    if args.memory:
        ig.explain(x[:1], target=0, steps=25)
        increases = {}
        for steps in (25, 400):
            with PeakRSS() as peak:
                ig.explain(x, target=targets, steps=steps).numpy()
            increases[steps] = peak.increase
            print(f"  peak memory increase at {steps:3d} steps: {peak.increase / 2**20:8.1f} MiB")
        print(f"  ratio 400 / 25 steps: {increases[400] / max(increases[25], 1):.3f}")


if __name__ == "__main__":
    main()
