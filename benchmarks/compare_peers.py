"""tfattr against tf-explain, Xplique, tf-keras-vis, PAIR saliency and alibi: same model, images,
settings and machine, timed in one run.

    benchmarks/setup_peers.sh                     # once: one virtualenv per peer in benchmarks/.peers/
    python benchmarks/compare_peers.py            # CNN and the real MobileNet, 224x224, 8 images
    python benchmarks/compare_peers.py --models mobilenet --methods ig --repeats 9
    python benchmarks/compare_peers.py --plot     # + out/benchmarks/peers.png (git-ignored)
    python benchmarks/compare_peers.py --replot benchmarks/results/peers-*.json   # plot only

Each peer runs in its own virtualenv (their TensorFlow pins exclude each other's) as a
long-lived worker (``_peer_worker.py``) that builds the same architecture with the same weights
and reads the same images from a temporary folder. The driver alternates one run of tfattr, one
of the floor and one of each peer, ``--repeats`` times, and reports medians and each one's ratio
to tfattr from that same run, so background load hits everyone alike. Workers time themselves
(the pipe is not measured); every result is returned as ``.npy`` and compared with tfattr's
after aligning conventions (see ``ALIGN``).

Settings (the issue's): IG 50 steps, SmoothGrad 50 samples (noise 0.15 x the value range),
Occlusion 32 px windows at stride 32 (tf-explain's windows do not overlap), Grad-CAM on the last
feature map, batch size 50 where the peer has one, one target class for all images (tf-explain's
and PAIR's APIs take one class).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common  # noqa: E402
import bench_methods  # noqa: E402
import numpy as np  # noqa: E402

import tfattr  # noqa: E402

HERE = pathlib.Path(__file__).resolve().parent
PEERS_DIR = HERE / ".peers"
PEERS = ("xplique", "tf_explain", "tf_keras_vis", "saliency", "alibi")
METHODS = ("ig", "smoothgrad", "occlusion", "gradcam")
# (peer, variant) rows per method; a variant is a second way of calling the same peer.
ROWS = {
    "ig": [("xplique", None), ("tf_explain", None), ("saliency", "compiled"),
           ("saliency", None), ("alibi", None)],
    "smoothgrad": [("xplique", None), ("tf_explain", None), ("tf_keras_vis", None),
                   ("saliency", "compiled")],
    "occlusion": [("xplique", None), ("tf_explain", None)],
    "gradcam": [("xplique", None), ("tf_explain", None), ("tf_keras_vis", None)],
}  # fmt: skip
# What each peer computes, in tfattr's terms, and how its output is aligned before comparing.
NOTES = {
    ("ig", "xplique"): "trapezoid rule, x(x - b): same as tfattr",
    ("ig", "tf_explain"): "mean gradient over steps (no x(x - b); multiplied in here); equal "
    "weights with both ends: differs from the trapezoid by O(1/steps)",
    ("ig", "saliency"): "equal weights with both ends: differs from the trapezoid by O(1/steps)",
    ("ig", "alibi"): "Captum's trapezoid (weights sum to (steps-1)/steps): rescaled here",
    ("smoothgrad", "xplique"): "absolute noise; other random draws: agreement is statistical",
    ("smoothgrad", "tf_explain"): "differentiates the cross-entropy of the outputs, not the "
    "target score: not comparable numerically",
    ("smoothgrad", "tf_keras_vis"): "relative noise, signed gradients; other random draws",
    ("smoothgrad", "saliency"): "relative noise, signed; other random draws",
    ("occlusion", "xplique"): "sum of score drops over covering windows = tfattr's mean here "
    "(windows do not overlap)",
    ("occlusion", "tf_explain"): "1 - occluded score with a 127.5 patch, bilinear resize: "
    "compared at window centres after removing each image's mean",
    ("gradcam", "xplique"): "ReLU, bicubic upsampling (tfattr asked for bicubic too)",
    ("gradcam", "tf_explain"): "no ReLU, layer resolution (tfattr: relu=False, upsample=False)",
    ("gradcam", "tf_keras_vis"): "ReLU, spline (scipy zoom) upsampling: compared with tfattr's "
    "bilinear map",
}


class Worker:
    """A peer's worker process in its virtualenv, spoken to one JSON line at a time."""

    def __init__(self, peer: str, log):
        python = PEERS_DIR / peer / "bin" / "python"
        self.peer = peer
        self.process = subprocess.Popen(
            [str(python), str(HERE / "_peer_worker.py"), peer],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            bufsize=1,
        )

    def ask(self, **request) -> dict:
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except OSError:  # the worker died earlier (broken pipe)
            line = ""
        if not line:
            return {"error": f"{self.peer} worker exited (see the worker log)"}
        return json.loads(line)

    def close(self):
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.process.stdin.flush()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


def available_peers(wanted) -> dict[str, str]:
    """Peers whose virtualenv setup_peers.sh finished, else why not."""
    status = {}
    for peer in wanted:
        if (PEERS_DIR / peer / ".ok").exists():
            status[peer] = "ok"
        else:
            status[peer] = f"no environment: run benchmarks/setup_peers.sh {peer}"
    return status


# --------------------------------------------------------------------------------------------
# Agreement


def agreement(a: np.ndarray, b: np.ndarray) -> dict:
    """Relative L2 error of ``a`` against ``b``, and their Pearson correlation."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    rel = float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))
    r = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else float("nan")
    return {"rel_err": rel, "pearson": r}


def reference(method, peer, x, model, targets, args) -> np.ndarray:
    """tfattr's result in ``peer``'s convention for ``method`` (see ``NOTES``)."""
    b, w = args.batch_size, args.window
    if method == "ig":
        ig = tfattr.IntegratedGradients(model, steps=args.steps, batch_size=b)
        return ig.explain(x, target=targets).numpy()
    if method == "smoothgrad":
        relative = peer in ("tf_keras_vis", "saliency")
        sg = tfattr.SmoothGrad(model, samples=args.samples, seed=0, batch_size=b)
        noise = {} if relative else {"stddev": args.stddev}
        return sg.explain(x, target=targets, **noise).numpy()
    if method == "occlusion":
        baseline = 127.5 if peer == "tf_explain" else 0.0  # tf-explain's grey patch
        occ = tfattr.Occlusion(model, window=(w, w), stride=(w, w), baseline=baseline, batch_size=b)
        return occ.explain(x, target=targets).numpy()[..., 0]
    options = {
        "xplique": {"interpolation": "bicubic"},
        "tf_explain": {"relu": False, "upsample": False},
    }.get(peer, {})
    layer = _common._models.CAM_LAYERS[args.model_name]
    cam = tfattr.GradCAM(model, layer=layer, batch_size=b, **options)
    return cam.explain(x, target=targets).numpy()


def align(method, peer, out, ref, x, args) -> tuple[np.ndarray, np.ndarray]:
    """(peer result, tfattr result) brought to one convention, for ``agreement``."""
    out = np.asarray(out, np.float32).reshape(ref.shape)
    if method == "ig" and peer == "tf_explain":
        out = out * x  # its IG stops at the mean gradient
    if method == "ig" and peer == "alibi":
        out = out * args.steps / (args.steps - 1)  # Captum's trapezoid weights
    if method == "occlusion" and peer == "tf_explain":
        w = args.window
        centre = slice(w // 2, None, w)  # its map is a bilinear resize of one value per window
        out, ref = out[:, centre, centre], ref[:, centre, centre]
        # 1 - occluded score vs clean - occluded score: a constant per image apart
        out = out - out.mean(axis=(1, 2), keepdims=True)
        ref = ref - ref.mean(axis=(1, 2), keepdims=True)
    return out, ref


# --------------------------------------------------------------------------------------------


def prepare(workdir: pathlib.Path, model_name: str, args):
    """Writes the model's weights, the images and the targets once; returns them and the case."""
    model = _common.build(model_name, args.size)
    weights = None
    if model_name == "cnn":
        weights = str(workdir / "cnn.npz")
        _common._models.save_weights(model, weights)
    x = _common.images(args.images, args.size, model_name)
    top = int(np.argmax(model.predict(x[:1], verbose=0), axis=-1)[0])
    targets = np.full(len(x), top, np.int32)  # one class for all images (see the docstring)
    np.save(workdir / f"{model_name}_images.npy", x)
    np.save(workdir / f"{model_name}_targets.npy", targets)
    case = {
        "model": model_name,
        "size": args.size,
        "weights": weights,
        "images": str(workdir / f"{model_name}_images.npy"),
        "targets": str(workdir / f"{model_name}_targets.npy"),
        "steps": args.steps,
        "samples": args.samples,
        "stddev": args.stddev,
        "spread": args.spread,
        "window": args.window,
        "stride": args.window,
        "batch_size": args.batch_size,
        "layer": _common._models.CAM_LAYERS[model_name],
    }
    return model, x, targets, case


def compare(args, workers: dict, workdir: pathlib.Path) -> list[dict]:
    """Times and compares every (model, method, peer) row; returns them."""
    rows = []
    for model_name in args.models:
        model, x, targets, case = prepare(workdir, model_name, args)
        bench_args = argparse.Namespace(**{**vars(args), "stride": args.window, "methods": ()})
        bench_args.model_name = model_name
        for method in args.methods:
            bench_args.methods = (method,)
            (ours,) = bench_methods.build_cases(model, model_name, x, targets, bench_args)
            runs = {"tfattr": ours.tfattr, "floor": ours.floor}
            errors = {}
            for peer, variant in ROWS[method]:
                label = peer + (f" ({variant})" if variant else "")
                if peer not in workers or label in args.skip:
                    continue
                reply = workers[peer].ask(op="setup", case={**case, "method": method,
                                                            "variant": variant})  # fmt: skip
                if "error" not in reply:  # a first run: fail here, not inside the timing
                    reply = workers[peer].ask(op="run")
                if "error" in reply:
                    errors[label] = reply["error"]
                    continue
                runs[label] = _remote_run(workers[peer], label, variant, case, method)
            medians = _time_surviving(runs, args.repeats, errors)
            print(f"{model_name} {method}: {ours.work}", flush=True)
            for label, seconds in medians.items():
                row = {
                    "model": model_name,
                    "method": method,
                    "library": label,
                    "seconds": seconds,
                    "per_image_s": seconds / len(x),
                    "vs_tfattr": seconds / medians["tfattr"],
                    "vs_floor": seconds / medians["floor"],
                }
                peer = label.split(" ")[0]
                if peer in workers:
                    variant = label[len(peer) + 2 : -1] or None
                    path = workdir / "out.npy"
                    try:
                        _remote_run(workers[peer], label, variant, case, method, save=path)()
                    except RuntimeError as error:  # e.g. the worker died (out of memory)
                        row["agreement_error"] = str(error)
                    else:
                        ref = reference(method, peer, x, model, targets, bench_args)
                        out, ref = align(method, peer, np.load(path), ref, x, bench_args)
                        row.update(agreement(out, ref), note=NOTES.get((method, peer), ""))
                rows.append(row)
                _print_row(row)
            for label, error in errors.items():
                rows.append({"model": model_name, "method": method, "library": label,
                             "error": error})  # fmt: skip
                print(f"  {label:22s} not run: {error}", flush=True)
    return rows


def _time_surviving(runs: dict, repeats: int, errors: dict) -> dict:
    """``time_runs``, leaving out (into ``errors``) the runs that fail, e.g. a worker killed
    for memory (tf-explain builds all images x steps points in one batch)."""
    while True:
        try:
            return _common.time_runs(runs, repeats)
        except RuntimeError as error:
            label = str(error).split(":", 1)[0]
            if label not in runs or label in ("tfattr", "floor"):
                raise
            errors[label] = str(error)
            del runs[label]


def _remote_run(worker: Worker, label, variant, case, method, save=None):
    """A zero-argument run for time_runs that asks the worker (re-setting up its case first
    when another variant of the same peer ran in between) and returns the worker's timing."""

    def run():
        reply = worker.ask(op="setup", case={**case, "method": method, "variant": variant})
        if "error" in reply:
            raise RuntimeError(f"{label}: {reply['error']}")
        reply = worker.ask(op="run")
        if "error" in reply:
            raise RuntimeError(f"{label}: {reply['error']}")
        if save is not None:
            worker.ask(op="save", path=str(save))
        return reply["seconds"]

    run.remote = True
    return run


def _print_row(row: dict) -> None:
    agree = ""
    if "pearson" in row:
        agree = f"  rel.err {row['rel_err']:.2e}  r {row['pearson']:.4f}"
    print(
        f"  {row['library']:22s} {row['seconds']:8.3f} s  {row['per_image_s']:7.3f} s/image  "
        f"x{row['vs_tfattr']:5.2f} tfattr  x{row['vs_floor']:5.2f} floor{agree}",
        flush=True,
    )


def plot(rows: list[dict], path: pathlib.Path, title: str) -> None:
    """Horizontal bars of each library's time as a multiple of tfattr's, per model and method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [(m, k) for m in dict.fromkeys(r["model"] for r in rows)
              for k in dict.fromkeys(r["method"] for r in rows)]  # fmt: skip
    groups = [g for g in groups if any(r["model"] == g[0] and r["method"] == g[1] for r in rows)]
    fig, axes = plt.subplots(len(groups), 1, figsize=(6.4, 1.1 + 0.95 * len(rows) / 2.4), dpi=80)
    axes = np.atleast_1d(axes)
    for ax, (model, method) in zip(axes, groups, strict=True):
        mine = [r for r in rows if r["model"] == model and r["method"] == method and "seconds" in r]
        labels = [r["library"] for r in mine]
        values = [r["vs_tfattr"] for r in mine]
        colors = ["tab:green" if lab == "tfattr" else "0.6" if lab == "floor" else "tab:blue"
                  for lab in labels]  # fmt: skip
        ax.barh(labels, values, color=colors)
        ax.axvline(1.0, color="k", lw=0.8)
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.2f}x", va="center", fontsize=7)
        ax.set_title(f"{model} - {method}", fontsize=8, loc="left")
        ax.tick_params(labelsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, max(values) * 1.25)
    axes[-1].set_xlabel("time / tfattr's time (same run; lower is faster)", fontsize=7)
    fig.suptitle(title, fontsize=7)
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(path)
    plt.close(fig)


def parser() -> argparse.ArgumentParser:
    split = lambda s: tuple(s.split(","))  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", type=split, default=_common._models.MODELS)
    p.add_argument("--methods", type=split, default=METHODS)
    p.add_argument("--peers", type=split, default=PEERS)
    p.add_argument(
        "--skip",
        type=split,
        default=(),
        help='rows to leave out, by label, e.g. "saliency" (PAIR\'s slow default, batch 1)',
    )
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--images", type=int, default=8)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--samples", type=int, default=50)
    p.add_argument("--spread", type=float, default=0.15)
    p.add_argument("--stddev", type=float, default=0.3, help="absolute noise (= 0.15 x 2)")
    p.add_argument("--window", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=50)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument(
        "--out", default=str(HERE.parent / "out" / "benchmarks"), help="folder for JSON (and plot)"
    )
    p.add_argument("--plot", action="store_true")
    p.add_argument(
        "--replot",
        nargs="+",
        metavar="JSON",
        help="only draw <out>/peers.png from earlier runs' JSON records (a later "
        "file's rows replace an earlier one's for the same model and method)",
    )
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.replot:
        records = [json.loads(pathlib.Path(f).read_text()) for f in args.replot]
        latest = {}  # (model, method) -> rows of the last record that measured it
        for record in records:
            measured = {(r["model"], r["method"]) for r in record["rows"]}
            for key in measured:
                latest[key] = [r for r in record["rows"] if (r["model"], r["method"]) == key]
        order = sorted(latest, key=lambda k: (k[0], METHODS.index(k[1])))
        rows = [row for key in order for row in latest[key]]
        title = f"{records[0]['machine']}; medians of alternating runs (3-15)"
        pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
        plot(rows, pathlib.Path(args.out) / "peers.png", title)
        return records
    machine = _common.machine()
    print(f"compare_peers: {machine}", flush=True)
    status = available_peers(args.peers)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="tfattr-peers-"))
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workers = {}
    with open(out / f"peers-workers-{'-'.join(args.models)}.log", "w") as log:
        try:
            for peer, state in status.items():
                if state == "ok":
                    workers[peer] = Worker(peer, log)
                    versions = workers[peer].ask(op="versions")
                    status[peer] = versions.get("error") or versions
                print(f"  {peer}: {status[peer]}", flush=True)
            workers = {p: w for p, w in workers.items() if isinstance(status[p], dict)}
            rows = compare(args, workers, workdir)
        finally:
            for worker in workers.values():
                worker.close()
            shutil.rmtree(workdir, ignore_errors=True)
    stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
    record = {"machine": machine, "command": " ".join(sys.argv), "peers": status,
              "args": vars(args), "rows": rows}  # fmt: skip
    (out / f"peers-{'-'.join(args.models)}-{stamp}.json").write_text(
        json.dumps(record, indent=1, default=str)
    )
    if args.plot:
        plot(rows, out / "peers.png", f"{machine}; median of {args.repeats} alternating runs")
    return record


if __name__ == "__main__":
    main()
