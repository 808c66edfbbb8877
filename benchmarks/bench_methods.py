"""Every tfattr method against its floor: the compiled, batched model passes it needs, nothing else.

    python benchmarks/bench_methods.py                          # CNN 224x224, 8 images, all methods
    python benchmarks/bench_methods.py --model mobilenet        # the real MobileNet (shared assets)
    python benchmarks/bench_methods.py --methods ig,gradcam --repeats 9
    python benchmarks/bench_methods.py --methods gradcam --repeats 1000 --min-sample 0  # call pairs
    python benchmarks/bench_methods.py --checks                 # + host syncs and peak memory
    python benchmarks/bench_methods.py --json out.json          # also write the rows as JSON
    python benchmarks/bench_methods.py --new-explainer          # first call of a second explainer
    python benchmarks/bench_methods.py summarize a.json b.json  # pool the rounds of several runs

Floors (same points, same chunk size, prepared in advance as device tensors; see _common.py;
tfattr gets the images and targets as device tensors too):

- IG: gradients at images x steps path points;  SmoothGrad: at images x samples noisy points;
- Occlusion: one forward per window position and image, and one per image (its clean score);
- Grad-CAM: one forward + backward down to the CAM layer per image;
- DeepLift: one forward + backward over input and baseline rows together;
- Saliency: one forward + backward per image.

``--new-explainer`` times, per method, the first call of a new explainer with the same settings
on a model another explainer has already explained (compiled steps are shared per model, so it
should cost no more than a steady-state call), against the floor.

``--checks`` adds, per method, the number of device-to-host reads (``SyncCounter``) at a small
and a large amount of work (a loop without host round-trips reads the same number of times
whatever its number of chunks) and the peak RSS increase at both (flat memory: the ratio large /
small stays near 1 while the work grows 4-16x).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import statistics
import sys
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import tfattr  # noqa: E402

METHODS = ("ig", "smoothgrad", "occlusion", "gradcam", "deeplift", "saliency")


@dataclasses.dataclass
class Case:
    """One method's benchmark: its floor, tfattr's run, and a run at a chosen amount of work."""

    name: str
    work: str  # what the floor computes, for the report
    floor: Callable[[], object]
    tfattr: Callable[[], object]
    scaled: Callable[[int, int], object] | None = None  # (steps/samples/stride, images)
    sizes: tuple[int, int] = (0, 0)  # small and large values of the `scaled` parameter
    size_name: str = ""


def occlusion_positions(size: int, window: int, stride: int) -> list[tuple[int, int]]:
    """Window corners per Captum's placement: 0, s, 2s, ... up to the last overlapping start."""
    count = math.ceil((size - window) / stride) + 1
    return [(i * stride, j * stride) for i in range(count) for j in range(count)]


def occlusion_rows(x: np.ndarray, window: int, stride: int) -> np.ndarray:
    """Each image with each window zeroed (image by image), then the images themselves: every
    drop is measured from the unoccluded score. Written in place, one array."""
    n, size = len(x), x.shape[1]
    corners = occlusion_positions(size, window, stride)
    rows = np.empty((n * (len(corners) + 1), *x.shape[1:]), np.float32)
    occluded = rows[: n * len(corners)].reshape(n, len(corners), *x.shape[1:])
    occluded[:] = x[:, None]
    for k, (i, j) in enumerate(corners):
        occluded[:, k, i : i + window, j : j + window] = 0.0
    rows[n * len(corners) :] = x
    return rows


def _lazy(make: Callable[[], Callable[[], object]]) -> Callable[[], object]:
    """A floor whose points are prepared on its first call: a run that never times a floor
    (``--new-explainer`` after its first round, ``--repeats 0``) never builds its arrays."""
    made = []

    def run():
        if not made:
            made.append(make())
        return made[0]()

    return run


def build_cases(model, model_name: str, x: np.ndarray, targets: np.ndarray, args) -> list[Case]:
    """The benchmark of each method in ``args.methods`` on ``model`` and images ``x``."""
    b = args.batch_size
    n, size = len(x), x.shape[1]
    # tfattr starts from the images on the device, as the floors do (a host array would add
    # one host-to-device copy of the images per call, which no floor pays).
    xd, td = tf.constant(x), tf.constant(targets)
    cases = []
    wanted = args.methods
    if "ig" in wanted:
        ig = tfattr.IntegratedGradients(model, steps=args.steps, batch_size=b)

        def ig_floor():
            alphas = np.linspace(0, 1, args.steps, dtype=np.float32)
            points = (alphas[None, :, None, None, None] * x[:, None]).reshape(-1, *x.shape[1:])
            return _common.gradient_floor(model, points, np.repeat(targets, args.steps), b)

        cases.append(
            Case(
                "IntegratedGradients",
                f"{n}x{args.steps} gradients",
                _lazy(ig_floor),
                lambda: ig.explain(xd, target=td).numpy(),
                lambda k, m: ig.explain(xd[:m], target=td[:m], steps=k).numpy(),
                (max(2, args.steps // 4), args.steps * 4),
                "steps",
            )
        )
    if "smoothgrad" in wanted:
        sg = tfattr.SmoothGrad(model, samples=args.samples, seed=0, batch_size=b)

        def sg_floor():
            noisy = np.repeat(x, args.samples, axis=0)
            noisy += np.random.default_rng(0).normal(0, 0.3, noisy.shape).astype(np.float32)
            return _common.gradient_floor(model, noisy, np.repeat(targets, args.samples), b)

        cases.append(
            Case(
                "SmoothGrad",
                f"{n}x{args.samples} gradients",
                _lazy(sg_floor),
                lambda: sg.explain(xd, target=td).numpy(),
                lambda k, m: sg.explain(xd[:m], target=td[:m], samples=k).numpy(),
                (max(2, args.samples // 4), args.samples * 4),
                "samples",
            )
        )
    if "occlusion" in wanted:
        w, s = args.window, args.stride
        occ = tfattr.Occlusion(model, window=(w, w), stride=(s, s), batch_size=b)
        positions = len(occlusion_positions(size, w, s))
        row_targets = np.concatenate([np.repeat(targets, positions), targets])
        cases.append(
            Case(
                "Occlusion",
                f"{n}x{positions} + {n} forwards ({w}px windows, stride {s})",
                _lazy(
                    lambda: _common.forward_floor(model, occlusion_rows(x, w, s), row_targets, b)
                ),
                lambda: occ.explain(xd, target=td).numpy(),
                lambda k, m: occ.explain(xd[:m], target=td[:m], stride=(k, k)).numpy(),
                # Strides to compare: larger = fewer windows (at most the window).
                (min(w, 2 * s), max(1, s // 2)),
                "stride",
            )
        )
    if "gradcam" in wanted:
        layer = _models_cam_layer(model_name)
        cam = tfattr.GradCAM(model, layer=layer, batch_size=b)
        cases.append(
            Case(
                "GradCAM",
                f"{n} forward+backward to {layer}",
                _lazy(lambda: _common.layer_gradient_floor(model, layer, x, targets, b)),
                lambda: cam.explain(xd, target=td).numpy(),
            )
        )
    if "deeplift" in wanted:
        dl = tfattr.DeepLift(model, batch_size=b)
        cases.append(
            Case(
                "DeepLift",
                f"{n}+{n} gradients (input and baseline rows)",
                _lazy(
                    lambda: _common.paired_gradient_floor(model, x, np.zeros_like(x[0]), targets, b)
                ),
                lambda: dl.explain(xd, target=td).numpy(),
            )
        )
    if "saliency" in wanted:
        sal = tfattr.Saliency(model, batch_size=b)
        cases.append(
            Case(
                "Saliency",
                f"{n} gradients",
                _lazy(lambda: _common.gradient_floor(model, x, targets, b)),
                lambda: sal.explain(xd, target=td).numpy(),
            )
        )
    return cases


def _models_cam_layer(model_name: str) -> str:
    return _common._models.CAM_LAYERS[model_name]


def checks(case: Case, images: int) -> dict:
    """Host reads and peak memory at the small and large amount of work of ``case``.

    Each size is first run on one image (which compiles its step and lets the allocator settle
    at one image's worth), then measured on all ``images``: memory that grew with the work
    would show as a larger increase at the large size.
    """
    out = {}
    if case.scaled is None:
        with _common.SyncCounter() as syncs:
            case.tfattr()
        return {"syncs": syncs.count}
    small, large = case.sizes
    for label, k in (("small", small), ("large", large)):
        case.scaled(k, 1)
        with _common.SyncCounter() as syncs, _common.PeakRSS() as peak:
            case.scaled(k, images)
        out[label] = {case.size_name: k, "syncs": syncs.count, "peak_mib": peak.increase / 2**20}
    return out


def run(args) -> list[dict]:
    """Builds the model and images, times every case, returns one dict per method."""
    model = _common.build(args.model, args.size)
    x = _common.images(args.images, args.size, args.model)
    targets = np.argmax(model.predict(x, verbose=0), axis=-1).astype(np.int32)
    rows = []
    if args.new_explainer:
        return new_explainer_rows(model, x, targets, args)
    for case in build_cases(model, args.model, x, targets, args):
        row = {"method": case.name, "work": case.work}
        if args.repeats:  # --repeats 0: only the checks
            runs = {"floor": case.floor, "tfattr": case.tfattr}
            times = _common.time_rounds(runs, args.repeats, args.min_sample)
            row.update(
                floor_s=statistics.median(times["floor"]),
                tfattr_s=statistics.median(times["tfattr"]),
                **_common.paired_ratio(times, "tfattr", "floor"),
                rounds=times,
            )
        if args.checks:
            row["checks"] = checks(case, len(x))
        rows.append(row)
        _print_row(row)
    return rows


def new_explainer_rows(model, x, targets, args) -> list[dict]:
    """Per round: a new set of explainers (same settings) makes its first call on the model the
    previous round's explainers already explained; timed against the floor."""
    warm = build_cases(model, args.model, x, targets, args)
    for case in warm:
        case.floor(), case.tfattr()
    times = {case.name: {"floor": [], "tfattr": []} for case in warm}
    floors = {case.name: case.floor for case in warm}  # compiled once: steady state
    for _ in range(args.repeats):
        for case in build_cases(model, args.model, x, targets, args):
            times[case.name]["floor"].append(_common.seconds(floors[case.name], 1))
            times[case.name]["tfattr"].append(_common.seconds(case.tfattr, 1))
    rows = []
    for name, t in times.items():
        row = {
            "method": name + " (new explainer)",
            "work": "first call",
            "floor_s": statistics.median(t["floor"]),
            "tfattr_s": statistics.median(t["tfattr"]),
            **_common.paired_ratio(t, "tfattr", "floor"),
            "rounds": t,
        }
        rows.append(row)
        _print_row(row)
    return rows


def _print_row(row: dict) -> None:
    timing = ""
    if "ratio" in row:
        timing = (
            f"floor {row['floor_s']:8.3f} s  tfattr {row['tfattr_s']:8.3f} s  "
            f"ratio {row['ratio']:.3f} ({row['ratio_low']:.3f}-{row['ratio_high']:.3f}), "
            f"of minima {row['ratio_min']:.3f}   "
        )
    print(f"  {row['method']:20s} {timing}({row['work']})", flush=True)
    check = row.get("checks")
    if check and "small" in check:
        (name, small), large = next(iter(check["small"].items())), check["large"]
        print(
            f"  {'':20s} syncs {check['small']['syncs']} at {name} {small}, "
            f"{large['syncs']} at {large[name]};  peak RSS +{check['small']['peak_mib']:.0f} MiB "
            f"vs +{large['peak_mib']:.0f} MiB",
            flush=True,
        )
    elif check:
        print(f"  {'':20s} syncs {check['syncs']}", flush=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=_common._models.MODELS, default="cnn")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--samples", type=int, default=50)
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--stride", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=40)
    p.add_argument("--repeats", type=int, default=5, help="0: no timing (with --checks)")
    p.add_argument(
        "--min-sample",
        type=float,
        default=0.25,
        help="seconds of calls per run and round (0: one call each, alternated, per round)",
    )
    p.add_argument("--methods", type=lambda s: tuple(s.split(",")), default=METHODS)
    p.add_argument("--checks", action="store_true", help="count host syncs, peak memory")
    p.add_argument(
        "--new-explainer", action="store_true", help="first calls of new explainers (same settings)"
    )
    p.add_argument("--json", help="write the rows (and the machine) to this file")
    return p


def summarize(paths: list[str]) -> list[dict]:
    """Pools the rounds of several ``--json`` files of the same code (e.g. two runs of the
    command): per model and method, the median of all per-round ratios, each file's own
    median, and tfattr's fastest round over the floor's. Prints a Markdown table."""
    pooled: dict[tuple[str, str], dict] = {}
    for path in paths:
        with open(path) as f:
            record = json.load(f)
        for row in record["rows"]:
            if "rounds" not in row:
                continue
            entry = pooled.setdefault(
                (record["args"]["model"], row["method"]),
                {"ratios": [], "medians": [], "floor": [], "tfattr": []},
            )
            rounds = row["rounds"]
            entry["ratios"] += [
                a / b for a, b in zip(rounds["tfattr"], rounds["floor"], strict=True)
            ]
            entry["medians"].append(row["ratio"])
            entry["floor"] += rounds["floor"]
            entry["tfattr"] += rounds["tfattr"]
    out = []
    print("| model | method | rounds | median of per-round ratios | per run | of minima |")
    print("|---|---|---|---|---|---|")
    for (model, method), entry in pooled.items():
        summary = {
            "model": model,
            "method": method,
            "rounds": len(entry["ratios"]),
            "ratio": statistics.median(entry["ratios"]),
            "per_run": entry["medians"],
            "ratio_min": min(entry["tfattr"]) / min(entry["floor"]),
        }
        out.append(summary)
        runs = ", ".join(f"{r:.2f}" for r in summary["per_run"])
        print(
            f"| {model} | {method} | {summary['rounds']} | {summary['ratio']:.3f} | {runs} | "
            f"{summary['ratio_min']:.3f} |"
        )
    return out


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    if argv and argv[0] == "summarize":
        return summarize(argv[1:])
    args = parser().parse_args(argv)
    unknown = set(args.methods) - set(METHODS)
    if unknown:
        raise SystemExit(f"--methods: unknown {sorted(unknown)}; choose from {METHODS}")
    print(
        f"{args.model} {args.size}x{args.size}, {args.images} images, batch {args.batch_size}, "
        f"{args.repeats} rounds; ratio = median of per-round ratios (lowest-highest round); "
        f"{_common.machine()}"
    )
    rows = run(args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": _common.machine(), "args": vars(args), "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
