"""Dataset-scale evaluation of attribution methods: ``tfattr evaluate``.

A ``tf.data`` pipeline of ``(index, image, label[, mask])`` feeds the replicas of a
``tf.distribute.Strategy``; each batch is explained by every method and scored by the metrics,
and its records are written to one file, atomically. How the work is distributed:

- **Replicas** (``MirroredStrategy`` over the local GPUs -- or logical CPUs --, the local devices
  of a ``MultiWorkerMirroredStrategy``, the cores of a ``TPUStrategy``): every global batch is
  split into contiguous per-replica slices, and each replica explains its slice on its own device
  (``strategy.extended.worker_devices``) with its own copy of the model and its own explainers, in
  its own thread. Explainers run their own compiled loops (:class:`~tfattr.core.engine.
  GradientEngine`), which do not fit inside ``strategy.run``; pinning whole explainers to devices
  gives the same data parallelism. Every compiled call has the same padded shape whichever replica
  runs it, so per-image results do not depend on the strategy.
- **Workers** (``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``): each worker takes its share of
  the images (image ``j`` goes to worker ``j mod workers``), writes its own records, and joins a
  collective all-reduce at the end; then the chief writes the summary. The output folder must be
  shared by the workers (as a checkpoint folder is).
- **Shards** (``--shard i/n``): independent jobs on any batch scheduler; shard ``i`` takes images
  ``j`` with ``j mod n == i`` (combined with the workers above). Any job rewrites the summary from
  all records present.

Limits, honestly: the replicas are data-parallel Python threads, not one ``strategy.run``
program; ``TPUStrategy`` is set up the same way (its cores as the replica devices) but has not
been exercised here (no TPU); the deletion/insertion metrics get a per-replica compiled forward
pass as an opaque model so that they do not recompile the model at every batch.

Records: ``<out>/records/shard-<s>-of-<S>/batch-<k>.json``, one per batch, written to a temporary
file and renamed, so a killed run loses at most the batch in flight; ``--resume`` skips the
batches on disk and computes the rest (no duplicate, no missing record). ``<out>/run.json`` holds
the settings; a resume with other settings is refused.
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import json
import math
import os
import pathlib
import sys
import time
import warnings

import numpy as np

METRICS = ("deletion", "insertion", "pointing_game", "mass_in_mask")
MASK_METRICS = ("pointing_game", "mass_in_mask")
ENGINE_ROWS = 64  # rows per compiled call: the same on every replica, so results match
SHAPES_DEFAULT_COUNT = 256
FORMAT = "tfattr.evaluate/1"


class EvaluationSetupError(ValueError):
    """The run cannot start as asked (bad dataset, settings that differ from the folder's run)."""


# ------------------------------------------------------------------------------------------
# Parsing


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A parsed ``--dataset``: ``kind`` in imagenet_a, tfds, folder, shapes."""

    kind: str
    name: str | None = None
    split: str | None = None


def parse_dataset(text: str | None) -> DatasetSpec:
    """``imagenet_a``, ``tfds:NAME[:SPLIT]``, ``folder:PATH`` or ``shapes`` (the demo's data)."""
    if not text:
        raise ValueError(
            "--dataset is required: imagenet_a, tfds:NAME[:SPLIT], folder:PATH or shapes"
        )
    if text in ("imagenet_a", "imagenet-a"):
        return DatasetSpec("imagenet_a", "imagenet_a", "test")
    if text == "shapes":
        return DatasetSpec("shapes")
    kind, sep, rest = text.partition(":")
    if sep and kind == "tfds" and rest:
        name, _, split = rest.partition(":")
        return DatasetSpec("tfds", name, split or "test")
    if sep and kind == "folder" and rest:
        if not pathlib.Path(rest).is_dir():
            raise ValueError(f"--dataset {text}: no folder {rest!r}")
        return DatasetSpec("folder", rest)
    raise ValueError(
        f"--dataset: unknown dataset {text!r}; use imagenet_a, tfds:NAME[:SPLIT], folder:PATH "
        f"or shapes"
    )


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"i/n"`` -> ``(i, n)`` with ``0 <= i < n``; None -> ``(0, 1)``."""
    if text is None:
        return 0, 1
    index, sep, count = str(text).partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not sep or not 0 <= i < n:
        raise ValueError(f"--shard: expected i/n with 0 <= i < n (e.g. 0/4), got {text!r}")
    return i, n


def parse_metrics(text: str) -> list[str]:
    """Comma-separated metric names, checked against :data:`METRICS`."""
    names = [m.strip().lower() for m in str(text).split(",") if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise ValueError(
            f"--metrics: unknown metric {', '.join(unknown) or repr(text)}; choose from "
            f"{', '.join(METRICS)}"
        )
    return list(dict.fromkeys(names))


@dataclasses.dataclass
class RunConfig:
    """The settings of a run (recorded in ``run.json``; a resume must match them)."""

    model: str
    weights: str
    dataset: str
    methods: list
    metrics: list
    target: str = "top"
    limit: int | None = None
    batch_size: int = 16
    steps: int = 20
    shard: tuple = (0, 1)
    resize: str = "crop"
    save_maps: bool = False

    def identity(self) -> dict:
        """What must agree between the jobs writing one folder (all but the shard index)."""
        data = dataclasses.asdict(self)
        data["shard_count"] = data.pop("shard")[1]
        data.pop("save_maps")
        return data


def pointing_tolerance(image_size) -> int:
    """Pointing-game tolerance in pixels: Zhang et al.'s 15 px at 224 px, scaled."""
    return max(1, round(15 * max(image_size) / 224))


# ------------------------------------------------------------------------------------------
# Strategy


def make_strategy(name: str):
    """The ``tf.distribute`` strategy for ``--strategy`` (``auto`` picks by the environment).

    ``auto``: ``multiworker`` when ``TF_CONFIG`` lists several workers, ``tpu`` when a TPU is
    configured (``TPU_NAME`` / ``COLAB_TPU_ADDR``), ``mirrored`` with several local GPUs (or
    logical CPUs), else ``default``.
    """
    import tensorflow as tf

    if name == "auto":
        if _cluster_size() > 1:
            name = "multiworker"
        elif os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR"):
            name = "tpu"
        elif len(_local_devices()) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=[d.name for d in _local_devices()])
    if name == "multiworker":
        if "TF_CONFIG" not in os.environ:
            raise EvaluationSetupError(
                "--strategy multiworker needs TF_CONFIG describing the cluster and this task "
                "(https://www.tensorflow.org/guide/distributed_training#TF_CONFIG)"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, tf.errors.OpError) as error:
            raise EvaluationSetupError(f"--strategy tpu: no TPU found ({error})") from None
        return tf.distribute.TPUStrategy(resolver)
    raise EvaluationSetupError(f"--strategy: unknown strategy {name!r}")


def _local_devices():
    import tensorflow as tf

    return tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")


def _cluster_size() -> int:
    try:
        cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
    except json.JSONDecodeError:
        return 1
    return len(cluster.get("chief", [])) + len(cluster.get("worker", []))


def replica_devices(strategy) -> list[str]:
    """The devices of this worker's replicas (the default strategy: the first local device)."""
    try:
        return list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy does not list its one device
        return [_local_devices()[0].name]


def worker_position(strategy) -> tuple[int, int]:
    """``(this worker's index, number of workers)``; ``(0, 1)`` without a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return 0, 1
    cluster = resolver.cluster_spec().as_dict()
    tasks = [("chief", i) for i in range(len(cluster.get("chief", [])))] + [
        ("worker", i) for i in range(len(cluster.get("worker", [])))
    ]
    if len(tasks) <= 1:
        return 0, 1
    return tasks.index((resolver.task_type, int(resolver.task_id))), len(tasks)


# ------------------------------------------------------------------------------------------
# Data


def source(spec, dataset: DatasetSpec, config: RunConfig, data_dir=None, download=True):
    """``(dataset of (image, label, mask) elements, names or None, has_masks)``."""
    import tensorflow as tf

    from tfattr import data

    size = spec.input_size
    common = dict(preprocess=spec.preprocess, batch_size=config.batch_size, resize=config.resize)
    names = None
    if dataset.kind == "shapes":
        from tfattr.demo import shapes

        count = config.limit or SHAPES_DEFAULT_COUNT
        images, labels, masks = shapes.make_dataset(count, shapes.TEST_SEED, size=size[0])
        x = spec.preprocess(images)
        ds = tf.data.Dataset.from_tensor_slices((x, labels, masks))
        return ds, [f"shapes_{i}" for i in range(count)], True
    if dataset.kind == "folder":
        files, _, _ = data.folder_labels(dataset.name)
        names = [str(pathlib.Path(f).relative_to(dataset.name)) for f in files]
        ds = data.image_folder(dataset.name, size, label_offset=spec.label_offset, **common)
    elif dataset.kind == "imagenet_a":
        ds = data.imagenet_a(
            image_size=size,
            label_offset=spec.label_offset,
            data_dir=data_dir,
            download=download,
            **common,
        )
    else:
        offset = spec.label_offset if dataset.name.startswith("imagenet") else 0
        ds = data.tfds_dataset(
            dataset.name,
            dataset.split,
            size,
            label_offset=offset,
            data_dir=data_dir,
            download=download,
            **common,
        )
    empty = tf.zeros((*size,), tf.bool)
    ds = ds.unbatch().map(lambda x, y: (x, y, empty))
    return ds, names, False


def pipeline(ds, config: RunConfig, shard: tuple[int, int]):
    """Numbers the images, keeps ``limit`` and this shard's share, and batches."""
    import tensorflow as tf

    index, count = shard
    ds = ds.enumerate()
    if config.limit:
        ds = ds.take(config.limit)
    ds = ds.filter(lambda i, element: tf.equal(i % count, index))
    return ds.batch(config.batch_size).prefetch(2)


def shard_size(total: int | None, shard: tuple[int, int]) -> int | None:
    """Images of a shard among ``total`` (None when unknown)."""
    if total is None:
        return None
    return len(range(shard[0], total, shard[1]))


# ------------------------------------------------------------------------------------------
# Replicas


class Replica:
    """One device's copy of the model, explainers and scorer.

    Args:
        device: the device name (from ``strategy.extended.worker_devices``).
        spec: the ModelSpec.
        config: the run settings.
        model: the model object this replica uses (a copy placed on ``device``).
    """

    def __init__(self, device: str, spec, config: RunConfig, model):
        import tensorflow as tf

        from tfattr import registry
        from tfattr.core.adapter import ModelAdapter
        from tfattr.core.engine import GradientEngine

        self.device, self.spec, self.config = device, spec, config
        with tf.device(device):
            self.explainers = {
                name: registry.make(
                    name,
                    model,
                    image_size=spec.input_size,
                    batch_size=ENGINE_ROWS,
                    cam_layer=spec.cam_layer,
                )
                for name in config.methods
            }
            self.engine = GradientEngine(ModelAdapter(model, output="logits"), ENGINE_ROWS)
        # The metrics build an engine per call; giving them this compiled forward pass (as an
        # opaque callable) spares a retrace of the model at every batch.
        self.scorer = tf.function(
            self._logits,
            input_signature=[tf.TensorSpec((None, *spec.input_size, 3), tf.float32)],
            autograph=False,
        )

    def _logits(self, x):
        return self.engine.adapter(x)

    def process(self, x, labels, masks, has_masks: bool) -> tuple[list[dict], dict, dict]:
        """Explains and scores images ``x``: ``(records, maps per method, seconds per method)``."""
        import tensorflow as tf

        from tfattr import metrics

        spec, config = self.spec, self.config
        with tf.device(self.device):
            logits = self.engine.scores(x).numpy().astype(np.float64)
            probabilities = _softmax(logits)
            predictions = logits.argmax(axis=1)
            targets = predictions.copy()
            if config.target == "label":
                targets = np.where(labels >= 0, labels, predictions)
            records = [
                _prediction_record(spec, logits[i], probabilities[i], labels[i], targets[i])
                for i in range(len(x))
            ]
            maps, seconds = {}, {}
            for name, explainer in self.explainers.items():
                tick = time.perf_counter()
                attr = explainer.explain(x, target=targets.astype(np.int32))
                maps[name] = metrics.attribution_maps(attr, x).astype(np.float32)
                seconds[name] = time.perf_counter() - tick
            scores = self._curve_metrics(x, targets, maps)
            for name in maps:
                if has_masks and any(m in MASK_METRICS for m in config.metrics):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", RuntimeWarning)
                        pointing = metrics.pointing_game(
                            maps[name], masks, tolerance=pointing_tolerance(spec.input_size)
                        )
                    scores.setdefault(name, {})
                    if "pointing_game" in config.metrics:
                        scores[name]["pointing_game"] = pointing.hits.astype(np.float64)
                    if "mass_in_mask" in config.metrics:
                        scores[name]["mass_in_mask"] = pointing.energy
            for i, record in enumerate(records):
                record["metrics"] = {
                    name: {metric: _number(values[i]) for metric, values in scores[name].items()}
                    for name in maps
                }
        return records, maps, seconds

    def _curve_metrics(self, x, targets, maps) -> dict:
        """Deletion/insertion AUCs of every method in one call each (one compiled pass)."""
        from tfattr import metrics

        scores = {name: {} for name in maps}
        curves = [m for m in ("deletion", "insertion") if m in self.config.metrics]
        if not curves:
            return scores
        names = list(maps)
        n = int(x.shape[0])
        stacked = np.concatenate([maps[name] for name in names])
        tiled = np.concatenate([x.numpy()] * len(names))
        tiled_targets = np.tile(targets, len(names)).astype(np.int32)
        for metric in curves:
            result = getattr(metrics, metric)(
                self.scorer,
                tiled,
                stacked,
                tiled_targets,
                steps=self.config.steps,
                batch_size=ENGINE_ROWS,
            )
            for k, name in enumerate(names):
                scores[name][f"{metric}_auc"] = result.auc[k * n : (k + 1) * n]
        return scores


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=1, keepdims=True)


def _number(value):
    value = float(value)
    return None if math.isnan(value) else value


def _prediction_record(spec, logits, probabilities, label, target) -> dict:
    top = np.argsort(-logits, kind="stable")[:5]
    record = {
        "label": int(label),
        "prediction": int(top[0]),
        "probability": float(probabilities[top[0]]),
        "top5": [[int(c), float(probabilities[c])] for c in top],
        "target": int(target),
    }
    if spec.imagenet and len(logits) >= 1000 + spec.label_offset:
        from tfattr.data import IMAGENET_A_CLASSES

        offset = spec.label_offset
        record["prediction_1000"] = int(np.argmax(logits[offset : offset + 1000]) + offset)
        columns = np.asarray(IMAGENET_A_CLASSES) + offset
        record["prediction_200"] = int(columns[np.argmax(logits[columns])])
    return record


def model_copies(model, devices) -> list:
    """The model for each device: the original for the first, clones placed on the others.

    A model that cannot be cloned (a subclassed Keras model, a SavedModel) is shared by every
    replica; the replicas then run one after the other, since tracing a Keras model swaps layer
    calls in place (see :mod:`tfattr.core.adapter`) and is not safe from several threads.
    """
    import tensorflow as tf

    from tfattr.core.adapter import model_kind

    copies = [model]
    kind = model_kind(model)
    for device in devices[1:]:
        if kind not in ("keras", "tf_keras"):
            copies.append(model)
            continue
        if kind == "keras":
            import keras as keras_module
        else:
            import tf_keras as keras_module
        try:
            with tf.device(device):
                clone = keras_module.models.clone_model(model)
                clone.set_weights(model.get_weights())
        except (ValueError, TypeError, NotImplementedError):
            clone = model
        copies.append(clone)
    return copies


# ------------------------------------------------------------------------------------------
# Files


def atomic_write(path: pathlib.Path, data: bytes) -> None:
    """Writes ``data`` to a temporary file beside ``path``, syncs it, and renames it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def read_records(out: pathlib.Path) -> list[dict]:
    """All records under ``out/records``, sorted by image index (duplicates are an error)."""
    records = []
    for path in sorted((out / "records").glob("shard-*/batch-*.json")):
        records.extend(json.loads(path.read_text(encoding="utf-8"))["records"])
    records.sort(key=lambda r: r["index"])
    indices = [r["index"] for r in records]
    if len(set(indices)) != len(indices):
        raise RuntimeError(f"{out}: duplicate records for some images; the folder is corrupt")
    return records


def read_batches(out: pathlib.Path) -> list[dict]:
    """Batch files' metadata (without their records)."""
    batches = []
    for path in sorted((out / "records").glob("shard-*/batch-*.json")):
        content = json.loads(path.read_text(encoding="utf-8"))
        content.pop("records")
        batches.append(content)
    return batches


# ------------------------------------------------------------------------------------------
# The run


class Evaluation:
    """One evaluation job (one shard of one worker).

    Args:
        spec: the ModelSpec.
        dataset: a :class:`DatasetSpec`.
        config: the run settings.
        out: output folder.
        strategy: a strategy name for :func:`make_strategy`, or a strategy object.
        resume: continue the run in ``out`` (skip the batches on disk).
        data_dir: TFDS data folder.
        download: whether TFDS may download and prepare the dataset.
        progress: show a progress bar on stderr (only when stderr is a terminal).

    Raises:
        EvaluationSetupError: metrics that need masks on a dataset without them, a folder that
            holds another run, or results on disk without ``resume``.
    """

    def __init__(
        self,
        spec,
        dataset: DatasetSpec,
        config: RunConfig,
        out,
        *,
        strategy="default",
        resume: bool = False,
        data_dir=None,
        download: bool = True,
        progress: bool = True,
    ):
        if dataset.kind != "shapes":
            needing = [m for m in config.metrics if m in MASK_METRICS]
            if needing:
                raise EvaluationSetupError(
                    f"--metrics: {', '.join(needing)} need ground-truth masks, which only "
                    f"--dataset shapes has"
                )
        self.spec, self.dataset, self.config = spec, dataset, config
        self.out = pathlib.Path(out)
        self.strategy = make_strategy(strategy) if isinstance(strategy, str) else strategy
        self.worker, self.workers = worker_position(self.strategy)
        i, n = config.shard
        # Worker w of W inside job shard i of n: one combined shard of n * W.
        self.shard = (i * self.workers + self.worker, n * self.workers)
        self.folder = self.out / "records" / f"shard-{self.shard[0]:04d}-of-{self.shard[1]:04d}"
        self.progress = progress
        self.data_dir, self.download = data_dir, download
        self._check_folder(resume)

    def _check_folder(self, resume: bool) -> None:
        run_file = self.out / "run.json"
        identity = self.config.identity()
        if run_file.is_file():
            previous = json.loads(run_file.read_text(encoding="utf-8"))
            if previous != identity:
                changed = sorted(k for k in identity if previous.get(k) != identity[k])
                raise EvaluationSetupError(
                    f"--out {self.out}: holds a run with other settings ({', '.join(changed)}); "
                    f"choose another --out"
                )
        if self.done_batches() and not resume:
            raise EvaluationSetupError(
                f"--out {self.out}: already holds results of this shard; pass --resume to "
                f"complete the run, or choose another --out"
            )

    def done_batches(self) -> set[int]:
        """Numbers of the batches of this shard already on disk."""
        return {int(p.stem.split("-")[1]) for p in self.folder.glob("batch-*.json")}

    def run(self) -> dict | None:
        """Runs the remaining batches; returns the summary (None on non-chief workers)."""
        from tqdm.auto import tqdm

        started = time.time()
        devices = self.devices = replica_devices(self.strategy)
        copies = model_copies(self.spec.model, devices)
        replicas = [
            Replica(d, self.spec, self.config, m) for d, m in zip(devices, copies, strict=True)
        ]
        shared = any(m is copies[0] for m in copies[1:])
        try:
            ds, names, has_masks = source(
                self.spec, self.dataset, self.config, self.data_dir, self.download
            )
        except ValueError as error:
            raise EvaluationSetupError(f"--dataset {self._dataset_text()}: {error}") from error
        if self.worker == 0:  # only once the run can start, so a failed start leaves no trace
            atomic_write(
                self.out / "run.json", json.dumps(self.config.identity(), indent=2).encode()
            )
        total = self.config.limit
        if total is None and names is not None:
            total = len(names)
        done = self.done_batches()
        prefix = 0
        while prefix in done:
            prefix += 1
        batches = pipeline(ds, self.config, self.shard).skip(prefix)
        expected = shard_size(total, self.shard)
        remaining = (
            None if expected is None else max(0, expected - len(done) * self.config.batch_size)
        )
        bar = tqdm(
            total=remaining,
            unit="img",
            desc=f"tfattr evaluate {self.shard[0]}/{self.shard[1]}",
            disable=not (self.progress and sys.stderr.isatty()),
            file=sys.stderr,
        )
        processed = 0
        pool = concurrent.futures.ThreadPoolExecutor(len(replicas)) if len(replicas) > 1 else None
        try:
            for number, (indices, (x, labels, masks)) in enumerate(batches, start=prefix):
                if number in done:
                    continue
                tick = time.perf_counter()
                # Threads only once every replica has compiled its functions (tracing touches
                # Python state), and never when replicas share one model object.
                parallel = pool is not None and not shared and processed > 0
                records, maps, seconds = self._batch(
                    replicas,
                    x,
                    labels.numpy(),
                    masks.numpy(),
                    has_masks,
                    pool if parallel else None,
                )
                for record, index in zip(records, indices.numpy(), strict=True):
                    record["index"] = int(index)
                    record["name"] = names[int(index)] if names is not None else None
                self._write(number, records, maps, seconds, time.perf_counter() - tick)
                processed += len(records)
                bar.update(len(records))
        finally:
            bar.close()
            if pool is not None:
                pool.shutdown()
        self._barrier(processed)
        if self.worker != 0:
            return None
        return summarize(self.out, self.spec, self.dataset, time.time() - started)

    def _dataset_text(self) -> str:
        d = self.dataset
        return d.kind if d.name is None else f"{d.kind}:{d.name}"

    def _batch(self, replicas, x, labels, masks, has_masks, pool):
        """Splits the batch among the replicas and gathers their results in order."""
        import tensorflow as tf

        parts = np.array_split(np.arange(int(x.shape[0])), len(replicas))
        jobs = [(replica, part) for replica, part in zip(replicas, parts, strict=True) if len(part)]

        def work(job):
            replica, part = job
            with tf.device(replica.device):
                xs = tf.identity(tf.gather(x, part))  # copies the slice to the device
            return replica.process(xs, labels[part], masks[part], has_masks)

        results = list(pool.map(work, jobs)) if pool is not None else [work(j) for j in jobs]
        records = [r for result in results for r in result[0]]
        maps = {name: np.concatenate([r[1][name] for r in results]) for name in results[0][1]}
        seconds = {name: sum(r[2][name] for r in results) for name in results[0][2]}
        return records, maps, seconds

    def _write(self, number, records, maps, seconds, wall) -> None:
        if self.config.save_maps:
            path = self.out / "maps" / self.folder.name / f"batch-{number:06d}.npz"
            buffer = _npz_bytes(
                indices=np.asarray([r["index"] for r in records]),
                **{name: m.astype(np.float16) for name, m in maps.items()},
            )
            atomic_write(path, buffer)
        content = {
            "format": FORMAT,
            "batch": number,
            "shard": list(self.shard),
            "images": len(records),
            "devices": self.devices,
            "seconds": {**{k: round(v, 4) for k, v in seconds.items()}, "total": round(wall, 4)},
            "records": records,
        }
        atomic_write(self.folder / f"batch-{number:06d}.json", json.dumps(content).encode())

    def _barrier(self, processed: int) -> None:
        """With several workers: an all-reduce that every worker joins once its records are written."""
        if self.workers == 1:
            return
        import tensorflow as tf

        strategy = self.strategy
        local = len(replica_devices(strategy))

        @tf.function
        def total():
            value = tf.constant(processed / local, tf.float32)
            return strategy.reduce(
                tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.identity(value)), axis=None
            )

        self.images_all_workers = int(round(float(total())))


def _npz_bytes(**arrays) -> bytes:
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------
# Summary


def _interval(values) -> dict:
    """Mean and normal-approximation 95% confidence interval of the non-missing values."""
    array = np.asarray([v for v in values if v is not None], np.float64)
    n = int(array.size)
    if n == 0:
        return {"mean": None, "ci95": [None, None], "std": None, "n": 0}
    mean = float(array.mean())
    std = float(array.std(ddof=1)) if n > 1 else 0.0
    half = 1.96 * std / math.sqrt(n) if n > 1 else 0.0
    return {"mean": mean, "ci95": [mean - half, mean + half], "std": std, "n": n}


def summarize(out, spec, dataset: DatasetSpec, wall_seconds: float | None = None) -> dict:
    """Reads every record in ``out`` and writes ``summary.json``, ``summary.csv``, ``summary.png``.

    Returns:
        The summary: counts, accuracy (200- and 1000-way for ImageNet models), per method and
        metric the mean and 95% confidence interval, and throughput.
    """
    out = pathlib.Path(out)
    records = read_records(out)
    batches = read_batches(out)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    labelled = [r for r in records if r["label"] >= 0]
    accuracy = {}
    if labelled:
        accuracy["top1"] = float(np.mean([r["prediction"] == r["label"] for r in labelled]))
        accuracy["top5"] = float(
            np.mean([r["label"] in [c for c, _ in r["top5"]] for r in labelled])
        )
        if all("prediction_1000" in r for r in labelled):
            accuracy["accuracy_1000"] = float(
                np.mean([r["prediction_1000"] == r["label"] for r in labelled])
            )
            from tfattr.data import IMAGENET_A_CLASSES

            subset = set(np.asarray(IMAGENET_A_CLASSES) + spec.label_offset)
            if dataset.kind == "imagenet_a" or all(r["label"] in subset for r in labelled):
                accuracy["accuracy_200"] = float(
                    np.mean([r["prediction_200"] == r["label"] for r in labelled])
                )
    methods = {}
    for name in run["methods"]:
        keys = sorted({k for r in records for k in r["metrics"].get(name, {})})
        methods[name] = {k: _interval([r["metrics"][name].get(k) for r in records]) for k in keys}
        seconds = sum(b["seconds"].get(name, 0.0) for b in batches)
        methods[name]["seconds_per_image"] = seconds / len(records) if records else None
    busy = sum(b["seconds"]["total"] for b in batches)
    summary = {
        "format": FORMAT + "/summary",
        "run": run,
        "images": len(records),
        "labelled": len(labelled),
        "shards_present": sorted({tuple(b["shard"]) for b in batches}),
        "accuracy": accuracy,
        "methods": methods,
        "throughput": {
            "images_per_second": len(records) / busy if busy else None,
            "busy_seconds": busy,
            "wall_seconds_this_job": wall_seconds,
        },
        "notes": {
            "deletion_auc": "area under the target probability as top pixels are set to black; "
            "lower is better",
            "insertion_auc": "area under the target probability as top pixels are inserted into "
            "a blurred copy; higher is better",
            "pointing_game": "1 if the most attributed pixel is on the object's mask",
            "mass_in_mask": "share of the positive attribution on the object's mask",
            "ci95": "mean +- 1.96 standard errors (normal approximation)",
            "accuracy_200": "ImageNet-A's official accuracy: argmax over its 200 classes",
            "accuracy_1000": "argmax over all 1000 ImageNet classes",
        },
    }
    atomic_write(out / "summary.json", json.dumps(summary, indent=2).encode())
    _write_csv(out / "summary.csv", methods, accuracy, summary["throughput"], len(records))
    _plot(out / "summary.png", methods)
    return summary


def _write_csv(path: pathlib.Path, methods: dict, accuracy: dict, throughput: dict, n: int):
    """One row per (method, metric); the model's accuracies and the throughput as method ``*``."""
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["method", "metric", "mean", "ci95_low", "ci95_high", "std", "n"])
    for name, value in accuracy.items():
        writer.writerow(["*", name, value, "", "", "", n])
    writer.writerow(["*", "images_per_second", throughput["images_per_second"], "", "", "", n])
    for name, values in methods.items():
        for metric, stats in values.items():
            if isinstance(stats, dict):
                writer.writerow(
                    [name, metric, stats["mean"], *stats["ci95"], stats["std"], stats["n"]]
                )
    atomic_write(path, buffer.getvalue().encode())


def _plot(path: pathlib.Path, methods: dict) -> None:
    from matplotlib.figure import Figure

    metrics = sorted({m for v in methods.values() for m, s in v.items() if isinstance(s, dict)})
    if not metrics:
        return
    fig = Figure(figsize=(4 * len(metrics), 3.2))
    names = list(methods)
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), k + 1)
        means = [methods[n][metric]["mean"] or 0.0 for n in names]
        errors = [
            (methods[n][metric]["ci95"][1] or 0.0) - (methods[n][metric]["mean"] or 0.0)
            for n in names
        ]
        ax.bar(range(len(names)), means, yerr=errors, capsize=3, color="tab:blue")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_title(metric)
    fig.tight_layout()
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    atomic_write(path, buffer.getvalue())


def format_summary(summary: dict) -> str:
    """The summary as a short text table."""
    lines = [f"{summary['images']} images"]
    if summary["accuracy"]:
        lines.append(
            "accuracy: " + ", ".join(f"{k} {v:.1%}" for k, v in summary["accuracy"].items())
        )
    for name, values in summary["methods"].items():
        parts = [
            f"{metric} {stats['mean']:.3f} [{stats['ci95'][0]:.3f}, {stats['ci95'][1]:.3f}]"
            for metric, stats in values.items()
            if isinstance(stats, dict) and stats["mean"] is not None
        ]
        per_image = values.get("seconds_per_image")
        timing = f", {per_image:.3f} s/img" if per_image is not None else ""
        lines.append(f"  {name:<22} " + "; ".join(parts) + timing)
    rate = summary["throughput"]["images_per_second"]
    if rate:
        lines.append(f"throughput {rate:.2f} images/s")
    return "\n".join(lines)
