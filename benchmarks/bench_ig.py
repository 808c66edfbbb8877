"""Integrated Gradients against its floor: one compiled, batched forward+backward over the same points.

    python benchmarks/bench_ig.py                     # CNN at 224x224, 8 images, 50 steps
    python benchmarks/bench_ig.py --model mobilenet   # the real MobileNet 0.25 (shared assets)
    python benchmarks/bench_ig.py --memory            # peak memory at 400 vs 25 steps

The floor computes exactly the gradients IG needs (images x steps points, prepared in advance,
in chunks of the same batch size) and nothing else: no interpolation, no weighting, no
accumulation. Timings alternate floor and tfattr runs (median times); the ratio is the median of
the per-round ratios, so background load hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  (models, floors, timers and the memory probe are shared)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfattr  # noqa: E402


def floor_runner(model, x, targets, steps, batch_size):
    """The floor: compiled gradients of target scores over all IG points, in chunks."""
    alphas = np.linspace(0, 1, steps, dtype=np.float32)
    points = (alphas[None, :, None, None, None] * x[:, None]).reshape(-1, *x.shape[1:])
    return _common.gradient_floor(model, points, np.repeat(targets, steps), batch_size)


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

    model = _common.build(args.model, args.size)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (args.images, args.size, args.size, 3)).astype(np.float32)
    targets = np.arange(args.images) % 10
    xd = tf.constant(x)  # on the device, as the floor's points
    ig = tfattr.IntegratedGradients(
        model, steps=args.steps, method="riemann_trapezoid", batch_size=args.batch_size
    )
    times = _common.time_rounds(
        {
            "floor": floor_runner(model, x, targets, args.steps, args.batch_size),
            "tfattr": lambda: ig.explain(xd, target=targets).numpy(),
        },
        args.repeats,
    )
    medians = {name: statistics.median(t) for name, t in times.items()}
    paired = _common.paired_ratio(times, "tfattr", "floor")
    points = args.images * args.steps
    print(
        f"IG {args.model} {args.size}x{args.size}, {args.images} images x {args.steps} steps, "
        f"batch {args.batch_size}, {os.cpu_count()} CPUs, TF {tf.__version__}"
    )
    for name, seconds in medians.items():
        print(f"  {name:7s} {seconds:8.3f} s  ({points / seconds:7.1f} gradients/s)")
    print(
        f"  ratio tfattr / floor: {paired['ratio']:.3f} (median of per-round ratios; rounds "
        f"{paired['ratio_low']:.3f}-{paired['ratio_high']:.3f})"
    )

    if args.memory:
        ig.explain(x[:1], target=0, steps=25)
        increases = {}
        for steps in (25, 400):
            with _common.PeakRSS() as peak:
                ig.explain(x, target=targets, steps=steps).numpy()
            increases[steps] = peak.increase
            print(f"  peak memory increase at {steps:3d} steps: {peak.increase / 2**20:8.1f} MiB")
        print(f"  ratio 400 / 25 steps: {increases[400] / max(increases[25], 1):.3f}")
    return medians


if __name__ == "__main__":
    main()
