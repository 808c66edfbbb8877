"""Integrated Gradients to a requested accuracy: steps="auto" against the fewest fixed steps.

    python benchmarks/bench_ig_accuracy.py                       # MobileNet + CNN, 12 photos
    python benchmarks/bench_ig_accuracy.py --model mobilenet --images 24 --tolerances 0.01

For each model and each tolerance (5 %, 1 %, 0.1 % of ``|F(x) - F(b)|``, black baseline, each
photo's top class), it measures:

- ``steps="auto"``: the gradient evaluations per image (the points each image used) and the
  wall time of one call on all images;
- the smallest fixed ``steps`` at which *every* image meets the same tolerance, for the
  trapezoid rule (tfattr's default) and Gauss-Legendre (Captum's default), searched on a grid of
  steps spaced by ``--grid`` (5 % by default, so the fixed run found is at most that much above
  the true smallest); its evaluations are ``images x steps`` and its wall time is one call;
- the ratios adaptive / fixed of evaluations and of time (times: medians of rounds that
  alternate the runs, after a warm-up call that compiles every step; ratios: medians of the
  per-round ratios).

All runs go through ``tfattr.IntegratedGradients.explain`` with the same batch size; both the
adaptive and the fixed runs read ``F(x)`` and ``F(b)`` off the path's end points (no extra
model call). Results go to ``out/bench_ig_accuracy/`` (git-ignored) as JSON and a text table.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402  (models, photos, timers)
import _models  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfattr  # noqa: E402
from tfattr.core import convergence  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def fixed_delta(ig, x, target, steps, method):
    """The convergence delta of one image's fixed-steps run."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", convergence.ConvergenceWarning)
        _, delta = ig.explain(
            x, target=target, steps=steps, method=method, return_convergence_delta=True
        )
    return float(delta[0])


def smallest_fixed_steps(ig, x, targets, reference, tolerance, method, grid, most):
    """The smallest ``steps`` on the grid at which every image meets the tolerance; trying
    images hardest first and moving on at the first failure. Returns (steps, gradients spent)
    or (None, spent) when no grid value up to ``most`` meets it."""
    start = 2 if method == "riemann_trapezoid" else 1
    candidates, value = [], float(start)
    while value <= most:
        if not candidates or round(value) > candidates[-1]:
            candidates.append(round(value))
        value *= 1 + grid
    order = list(range(len(x)))
    spent = 0
    for steps in candidates:
        ok = True
        for i in list(order):
            delta = fixed_delta(ig, x[i : i + 1], targets[i : i + 1], steps, method)
            spent += steps
            if abs(delta) > tolerance * reference[i]:
                order.remove(i)
                order.insert(0, i)  # the image that failed goes first next time
                ok = False
                break
        if ok:
            return steps, spent
    return None, spent


def measure(model_name, args):
    model = _common.build(model_name, args.size)
    x = _common.images(args.images, args.size, model_name)
    xd = tf.constant(x)
    targets = np.argmax(model(x, training=False).numpy(), axis=-1).astype(np.int32)
    ig = tfattr.IntegratedGradients(model, batch_size=args.batch_size)
    # F(x) - F(b) and the floor, from a fixed run (exact: the path's ends).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", convergence.ConvergenceWarning)
        attr, delta = ig.explain(xd, target=targets, steps=2, return_convergence_delta=True)
    difference = convergence.score_difference(attr, delta)
    scores = model(x, training=False).numpy()[np.arange(len(x)), targets]
    baseline = model(np.zeros_like(x[:1]), training=False).numpy()[0, targets]
    reference = convergence.reference(difference, (np.abs(scores) + np.abs(baseline)) / 2)

    rows = []
    for tolerance in args.tolerances:
        attr, delta, steps = ig.explain(
            xd,
            target=targets,
            steps="auto",
            tolerance=tolerance,
            max_steps=args.max_steps,
            return_convergence_delta=True,
            return_steps=True,
        )
        steps = steps.numpy()
        met = np.abs(delta.numpy()) <= tolerance * reference * (1 + 1e-4) + 1e-6
        row = {
            "tolerance": tolerance,
            "auto_steps_per_image": steps.tolist(),
            "auto_evaluations_per_image": float(steps.mean()),
            "auto_all_met": bool(met.all()),
            "auto_relative_errors": (np.abs(delta.numpy()) / reference).tolist(),
        }
        runs = {
            "auto": lambda t=tolerance: ig.explain(
                xd, target=targets, steps="auto", tolerance=t, max_steps=args.max_steps
            ).numpy()
        }
        for method, label in (("riemann_trapezoid", "trapezoid"), ("gausslegendre", "gl")):
            tick = time.perf_counter()
            fixed, spent = smallest_fixed_steps(
                ig, x, targets, reference, tolerance, method, args.grid, args.max_fixed
            )
            row[f"{label}_steps"] = fixed
            row[f"{label}_search_gradients"] = spent
            row[f"{label}_search_seconds"] = round(time.perf_counter() - tick, 1)
            if fixed is None:
                continue
            row[f"{label}_evaluations_per_image"] = fixed
            row[f"{label}_evaluation_ratio"] = float(steps.mean()) / fixed
            runs[label] = lambda s=fixed, m=method: ig.explain(
                xd, target=targets, steps=s, method=m
            ).numpy()
        times = _common.time_rounds(runs, args.repeats, min_sample=0.0)
        for name, values in times.items():
            row[f"{name}_seconds"] = float(np.median(values))
        for name in runs:
            if name != "auto":
                row[f"{name}_time_ratio"] = _common.paired_ratio(times, "auto", name)
        rows.append(row)
        print(_line(model_name, row), flush=True)
    return {
        "model": model_name,
        "size": args.size,
        "images": args.images,
        "targets": targets.tolist(),
        "score_differences": difference.tolist(),
        "rows": rows,
    }


def _line(model_name, row):
    parts = [
        f"{model_name:9s} tol {row['tolerance']:<6g} auto {row['auto_evaluations_per_image']:7.1f} "
        f"ev/img {row['auto_seconds']:7.2f} s (all met: {row['auto_all_met']})"
    ]
    for label in ("trapezoid", "gl"):
        steps = row.get(f"{label}_steps")
        if steps is None:
            parts.append(f"{label}: none <= max")
            continue
        ratio = row[f"{label}_time_ratio"]["ratio"]
        parts.append(
            f"{label} {steps:5d} steps {row[f'{label}_seconds']:7.2f} s -> ev x"
            f"{row[f'{label}_evaluation_ratio']:.2f}, time x{ratio:.2f}"
        )
    return " | ".join(parts)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("cnn", "mobilenet", "both"), default="both")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--images", type=int, default=12)
    parser.add_argument("--tolerances", default="0.05,0.01,0.001")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-steps", type=int, default=4097, help="steps='auto' cap")
    parser.add_argument("--max-fixed", type=int, default=4097, help="largest fixed steps tried")
    parser.add_argument("--grid", type=float, default=0.05, help="fixed steps grid spacing")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "out" / "bench_ig_accuracy"))
    parser.add_argument(
        "--assets", default=None, help="the imagenet_assets folder (default: ../shared/ beside)"
    )
    args = parser.parse_args(argv)
    if args.assets is not None:  # a checkout whose ../shared is elsewhere (e.g. a worktree)
        assets = pathlib.Path(args.assets).resolve()
        _models.MOBILENET_WEIGHTS = str(assets / "mobilenet_2_5_128_tf.h5")
        _common.SAMPLE_IMAGES = assets / "sample_images"
    args.tolerances = [float(t) for t in args.tolerances.split(",")]
    models = ("mobilenet", "cnn") if args.model == "both" else (args.model,)
    record = {"machine": _common.machine(), "args": vars(args), "models": []}
    for name in models:
        record["models"].append(measure(name, args))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
    path = out / f"ig-accuracy-{stamp}.json"
    path.write_text(json.dumps(record, indent=1))
    print(f"{record['machine']}\nwrote {path}")


if __name__ == "__main__":
    main()
