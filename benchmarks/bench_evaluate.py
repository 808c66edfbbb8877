"""Throughput of ``tfattr evaluate`` against the floor of its model passes on preloaded tensors.

The job: Saliency + Grad-CAM + Integrated Gradients (``--steps`` gradient evaluations) of every
image of an image folder (JPEG files decoded and resized by the pipeline), ``--batch-size``
images per batch, predictions and convergence deltas recorded, no faithfulness metric, on the
ImageNet MobileNet of ``../shared/imagenet_assets/`` at ``--size`` px.

The floor: the same model's compiled passes that the job cannot avoid, on tensors prepared in
advance, in chunks of the engine's rows per call: a forward pass per image (predictions), a
gradient per image (Saliency), a forward + backward to the last feature map per image
(Grad-CAM) and ``steps`` gradients per image (IG). The job's rate is measured in its steady
state: from the commit of its first batch (compilation done) to its end, everything included
(reading, decoding, resizing, explaining, writing records).

Usage:
    python benchmarks/bench_evaluate.py --images 128           # CPU
    python benchmarks/bench_evaluate.py --device gpu --images 1024
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time

if "--device" not in sys.argv or sys.argv[sys.argv.index("--device") + 1] == "cpu":
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # the CPU figure: no GPU in the way

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import _common  # noqa: E402
import _models  # noqa: E402
import tensorflow as tf  # noqa: E402

METHODS = ("saliency", "gradcam", "integrated_gradients")


def image_folder(folder: pathlib.Path, count: int) -> pathlib.Path:
    """``count`` JPEGs in ``folder``: the shared ImageNet photos, repeated under new names."""
    photos = sorted(_common.SAMPLE_IMAGES.glob("*.JPEG"))
    if not photos:
        raise SystemExit(f"no photos in {_common.SAMPLE_IMAGES}: the benchmark needs them")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        shutil.copy(photos[i % len(photos)], folder / f"{i:06d}_{photos[i % len(photos)].name}")
    return folder


def floor_seconds(spec, x: np.ndarray, steps: int, rows: int, repeats: int) -> dict:
    """Seconds of each of the floor's passes for the images ``x`` (medians of ``repeats``
    rounds): ``forward``, ``saliency``, ``gradcam``, ``integrated_gradients``."""
    model = spec.model
    n = len(x)
    targets = np.argmax(model.predict(x, batch_size=rows, verbose=0), axis=1)
    forward = _common.forward_floor(model, x, targets, rows)
    saliency = _common.gradient_floor(model, x, targets, rows)
    gradcam = _common.layer_gradient_floor(model, spec.cam_layer, x, targets, rows)
    # IG's n * steps points: one chunk of real interpolation points, computed as many times as
    # the chunks of the whole job (the cost of a pass does not depend on the values).
    alphas = np.linspace(0.0, 1.0, steps, dtype=np.float32)
    chunk = np.stack([alphas[k % steps] * x[(k // steps) % n] for k in range(rows)])
    chunk_targets = np.asarray([targets[(k // steps) % n] for k in range(rows)])
    one_chunk = _common.gradient_floor(model, chunk, chunk_targets, rows)
    calls = -(-n * steps // rows)

    def integrated_gradients():
        for _ in range(calls):
            one_chunk()

    runs = {"forward": forward, "saliency": saliency, "gradcam": gradcam,
            "integrated_gradients": integrated_gradients}  # fmt: skip
    return _common.time_runs(runs, repeats, min_sample=0.0)


def evaluate_rate(spec, folder, out, args) -> dict:
    """Runs ``tfattr evaluate`` on the folder; its steady-state and overall images/s."""
    from tfattr.apps import evaluate

    strategy = evaluate.make_strategy("auto")
    config = evaluate.RunConfig(model=str(_models.MOBILENET_WEIGHTS), weights="file",
                                dataset=f"folder:{folder}", methods=list(METHODS), metrics=[],
                                batch_size=args.batch_size)  # fmt: skip
    job = evaluate.Evaluation(evaluate.parse_dataset(config.dataset), config, out,
                              strategy=strategy, records_per_file=args.batch_size,
                              progress=False)  # fmt: skip
    import pyarrow.parquet as pq

    start = time.time()
    job.run(spec)
    end = time.time()
    parts = sorted(pathlib.Path(out).glob("records/*/part-*.parquet"))
    # From the first batch's commit (compilation is behind) to the end of the job.
    steady = (args.images - pq.read_metadata(parts[0]).num_rows) / (end - parts[0].stat().st_mtime)
    later = evaluate.Stats()  # the batches after the first, from the files' statistics
    for part in parts[1:]:
        later.merge(evaluate.Stats.from_json(pq.read_metadata(part).metadata[evaluate.STATS_KEY]))
    per_image = {k: v / later.data["images"] for k, v in later.data["seconds"].items()}
    per_image["batch_total"] = later.data["busy_seconds"] / later.data["images"]
    return {
        "seconds_per_image": per_image,
        "images_per_second": steady,
        "images_per_second_with_compilation": args.images / (end - start),
        "replicas": len(evaluate.replica_devices(strategy)),
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=128, help="images in the folder (128)")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=32, help="IG steps (32)")
    parser.add_argument("--repeats", type=int, default=2, help="floor rounds (2)")
    parser.add_argument(
        "--floor-images", type=int, default=32, help="images of the floor (per image: 32)"
    )
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--json", help="write the result to this file")
    args = parser.parse_args(argv)
    if args.images <= args.batch_size:
        parser.error("--images must exceed --batch-size (the first batch compiles)")
    if args.device == "gpu" and not tf.config.list_physical_devices("GPU"):
        raise SystemExit("--device gpu: no GPU visible to TensorFlow")

    from tfattr import models
    from tfattr.apps import evaluate

    spec = models.load(_models.MOBILENET_WEIGHTS, input_size=args.size)
    with tempfile.TemporaryDirectory() as tmp:
        folder = image_folder(pathlib.Path(tmp) / "photos", args.images)
        x = np.concatenate(
            [
                np.asarray(batch[1])
                for batch in evaluate.Source(
                    spec, evaluate.parse_dataset(f"folder:{folder}"),
                    evaluate.RunConfig("m", "w", "d", [], [], batch_size=args.batch_size),
                ).dataset(range(args.images))
            ]
        )  # fmt: skip
        rows = evaluate.ENGINE_ROWS
        # The floor before and after the job, so that a slower or faster phase of a shared
        # machine weighs on both sides.
        x = x[: args.floor_images]
        before = floor_seconds(spec, x, args.steps, rows, args.repeats)
        job = evaluate_rate(spec, folder, pathlib.Path(tmp) / "out", args)
        after = floor_seconds(spec, x, args.steps, rows, args.repeats)
    parts = {k: (before[k] + after[k]) / 2 / len(x) for k in before}
    floor_rate = 1.0 / sum(parts.values())
    result = {
        "machine": _common.machine(),
        "device": args.device,
        "model": f"MobileNet v1 0.25 ImageNet, {args.size} px",
        "methods": f"saliency + gradcam + integrated_gradients ({args.steps} steps)",
        "images": args.images,
        "batch_size": args.batch_size,
        "floor_images_per_second": floor_rate,
        "floor_seconds_per_image": parts,
        "floor_images_per_second_before_after": [
            len(x) / sum(before.values()),
            len(x) / sum(after.values()),
        ],
        **job,
        "per_replica_images_per_second": job["images_per_second"] / job["replicas"],
        "fraction_of_floor": job["images_per_second"] / floor_rate,
    }
    print(
        f"{result['machine']}\n{result['model']}; {result['methods']}; batch {args.batch_size}; "
        f"{args.images} images; device {args.device} x{job['replicas']}\n"
        f"floor (preloaded tensors)  {floor_rate:8.2f} images/s\n"
        f"tfattr evaluate (steady)   {job['images_per_second']:8.2f} images/s "
        f"({result['fraction_of_floor']:.2f} of the floor; "
        f"{result['per_replica_images_per_second']:.2f} per replica)\n"
        f"  with compilation         {job['images_per_second_with_compilation']:8.2f} images/s\n"
        f"floor before / after the job: "
        + " / ".join(f"{r:.2f}" for r in result["floor_images_per_second_before_after"])
        + " images/s\nseconds per image   floor   tfattr (batches after the first)\n"
        + "\n".join(
            f"  {name:<22} {parts.get(name, float('nan')):6.3f}  {job['seconds_per_image'].get(name, float('nan')):6.3f}"
            for name in [*parts, "batch_total"]
        )
    )
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
