"""Dataset-scale evaluation of attribution methods: ``tfattr evaluate``.

Every image is explained by every method and scored by the metrics; the per-image results are
written as Parquet records, the maps (optional) as TFRecord chunks, and a summary is merged from
the statistics stored with each chunk. How the work is split:

- **Devices of one machine** (``tf.distribute``): the model is built under the strategy's
  scope, each global batch comes from ``strategy.experimental_distribute_dataset`` and is split
  among the replicas, and ``strategy.run`` explains each replica's slice on its device (one
  :class:`BatchExplainer` per run; its explainers' compiled steps run per replica). Results stay
  tensors until the batch is written. ``strategy.run`` is called eagerly, because ``explain``
  checks its inputs on the host and cannot be traced into one ``tf.function`` around the
  replicas; ``MirroredStrategy`` then calls the replicas in turn (from threads of its own),
  each dispatching its compiled steps to its device.
- **Workers** (``MultiWorkerMirroredStrategy`` from ``TF_CONFIG``) and **jobs** (``--shard
  i/n``): the dataset is cut into contiguous blocks (:func:`tfattr.data.shards.share`), one per
  (job, worker); each reads and decodes only its block (file lists and TFDS split slices are cut
  before reading), and ``--resume`` reads only the part of the block that is not done.
- **Many machines**: the Apache Beam pipeline of :mod:`tfattr.apps.beam` runs the same
  :class:`BatchExplainer` in a ``RunInference`` model handler and writes the same records.

Files in ``--out``:

- ``run.json``: the settings and the run id. A different run into the same folder is refused
  before any work; identical jobs of other shards join the run.
- ``records/shard-<s>-of-<S>/part-<offset>.parquet``: per-image records (index, name, label,
  predictions, target, metrics, convergence deltas), a chunk of ``records_per_file`` images per
  file, written whole to a temporary name and renamed; each file's footer holds the statistics
  of its images (:class:`Stats`), so the summary merges footers instead of re-reading records.
  A killed job loses at most the chunk in flight; ``--resume`` counts the rows of the parts on
  disk (footers only) and starts after them: no lost, no duplicated record.
- ``maps/shard-<s>-of-<S>/part-<offset>.tfrecord`` (``--save-maps``): one ``tf.train.Example``
  per image (index and one float16 map per method), written before the chunk's records.
  TFRecord because it streams back as a ``tf.data.Dataset`` (:func:`read_maps`) at any size,
  is what Beam writes natively, and needs no extra dependency.
- ``summary.json``, ``summary.csv``, ``summary.png``.

Read back in one line: ``pyarrow.parquet.read_table("out/records")`` (records) and
``tfattr.apps.evaluate.read_maps("out")`` (maps).

Example:
    >>> from tfattr.apps import evaluate
    >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="folder:photos",
    ...                             methods=["saliency"], metrics=["deletion"], steps=4)
    >>> job = evaluate.Evaluation(evaluate.parse_dataset(config.dataset), config, "run")
    >>> summary = job.run(spec)                   # spec: the model and its preprocessing
    >>> summary["images"], sorted(summary["methods"]["saliency"])
    (2, ['deletion_auc', 'seconds_per_image'])
    >>> evaluate.read_records("run").column("name").to_pylist()
    ['cat/chelsea.jpg', 'coffee/cup.jpg']
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import pathlib
import sys
import time
import warnings

import numpy as np

__all__ = [
    "EvaluationSetupError",
    "DatasetSpec",
    "parse_dataset",
    "RunConfig",
    "make_strategy",
    "BatchExplainer",
    "Stats",
    "read_records",
    "read_maps",
    "read_stats",
    "Evaluation",
    "summarize",
    "format_summary",
]

METRICS = ("deletion", "insertion", "road", "pointing_game", "mass_in_mask")
ROAD_ORDERS = ("morf", "lerf")
MASK_METRICS = ("pointing_game", "mass_in_mask")
ENGINE_ROWS = 64  # rows per compiled call: the same on every replica, so results match
SHAPES_DEFAULT_COUNT = 256
RECORDS_PER_FILE = 1024
FORMAT = "tfattr.evaluate/2"
STATS_KEY = b"tfattr.stats"


class EvaluationSetupError(ValueError):
    """The run cannot start as asked (bad dataset, a folder that holds another run, ...).

    Raised before any image is explained; the message names the option and the fix.

    Example:
        >>> from tfattr.apps import evaluate
        >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="folder:photos",
        ...                             methods=["saliency"], metrics=["pointing_game"])
        >>> try:
        ...     evaluate.Evaluation(evaluate.parse_dataset("folder:photos"), config, "run")
        ... except evaluate.EvaluationSetupError as error:
        ...     print(error)
        --metrics: pointing_game need ground-truth masks, which only --dataset shapes has
    """


# ------------------------------------------------------------------------------------------
# Parsing


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A parsed ``--dataset`` (:func:`parse_dataset` makes them).

    Attributes:
        kind: ``imagenet_a``, ``tfds``, ``folder`` or ``shapes``.
        name: the TFDS dataset's name, or the folder's path; None for ``shapes``.
        split: the TFDS split; None for folders and ``shapes``.

    Example:
        >>> from tfattr.apps import evaluate
        >>> evaluate.DatasetSpec("tfds", "imagenette", "test") == evaluate.parse_dataset(
        ...     "tfds:imagenette")
        True
    """

    kind: str
    name: str | None = None
    split: str | None = None


def parse_dataset(text: str | None) -> DatasetSpec:
    """Parses ``--dataset``: ``imagenet_a``, ``tfds:NAME[:SPLIT]``, ``folder:PATH`` or ``shapes``.

    Args:
        text: the option's value. ``tfds:NAME`` reads the split ``test``; ``folder:PATH`` an
            image folder (one subfolder per class, or images directly); ``shapes`` the demo's
            synthetic shapes, the one dataset with ground-truth masks.

    Returns:
        A :class:`DatasetSpec`; nothing is read yet.

    Raises:
        ValueError: ``text`` is empty or of no known kind, or the folder does not exist.

    Example:
        >>> from tfattr.apps import evaluate
        >>> evaluate.parse_dataset("folder:photos")
        DatasetSpec(kind='folder', name='photos', split=None)
        >>> evaluate.parse_dataset("tfds:imagenet_v2:test")
        DatasetSpec(kind='tfds', name='imagenet_v2', split='test')
    """
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
    """Comma-separated metric names, checked against :data:`METRICS`; ``none``: no metric."""
    if str(text).strip().lower() == "none":
        return []
    names = [m.strip().lower() for m in str(text).split(",") if m.strip()]
    unknown = [m for m in names if m not in METRICS]
    if unknown or not names:
        raise ValueError(
            f"--metrics: unknown metric {', '.join(unknown) or repr(text)}; choose from "
            f"{', '.join(METRICS)} (or none)"
        )
    return list(dict.fromkeys(names))


@dataclasses.dataclass
class RunConfig:
    """The settings of a run (recorded in ``run.json``; every job of the run must match them).

    Attributes:
        model: the model's name (``--model``), recorded.
        weights: the weights' name or file (``--weights``), recorded.
        dataset: the ``--dataset`` text, recorded.
        methods: names of :mod:`tfattr.registry` methods (``saliency``, ``gradcam``, ...).
        metrics: names out of ``deletion``, ``insertion``, ``road``, ``pointing_game`` and
            ``mass_in_mask`` (the last two need the masks of ``shapes``); may be empty.
        target: ``top`` (explain the predicted class) or ``label`` (the label where there is
            one, else the predicted class).
        limit: the first ``limit`` images only; None: all (``shapes``: 256).
        batch_size: images per global batch, split among the replicas.
        steps: steps of the deletion and insertion curves.
        shard: ``(index, count)``: this job's block of the dataset (``--shard i/n``).
        resize: how images reach the model's size: ``crop``, ``pad`` or ``stretch`` (as
            :func:`tfattr.data.load_image`).
        save_maps: also write every map (float16, under ``maps/``; :func:`read_maps`).
        skip_bad: leave a folder's unreadable images out (listed in ``skipped/`` and the
            summary) instead of refusing the run.

    Example:
        >>> import dataclasses
        >>> from tfattr.apps import evaluate
        >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="shapes",
        ...                             methods=["saliency", "gradcam"], metrics=["deletion"])
        >>> job_0, job_1 = (dataclasses.replace(config, shard=(i, 2)) for i in range(2))
        >>> job_0.run_id() == job_1.run_id()      # two jobs of one run
        True
        >>> job_0.run_id() == config.run_id()     # a run in one job is another run
        False
    """

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
    skip_bad: bool = False

    def identity(self) -> dict:
        """What must agree between the jobs writing one folder (all but the shard index).

        Returns:
            The settings as a dict, with ``shard_count`` in place of ``shard``.

        Example:
            >>> from tfattr.apps import evaluate
            >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="shapes",
            ...                             methods=["saliency"], metrics=[], shard=(3, 4))
            >>> config.identity()["shard_count"], "shard" in config.identity()
            (4, False)
        """
        data = dataclasses.asdict(self)
        data["methods"], data["metrics"] = list(data["methods"]), list(data["metrics"])
        data["shard_count"] = data.pop("shard")[1]
        return data

    def run_id(self) -> str:
        """A short hash of :meth:`identity`: the same for every job of one run.

        Returns:
            16 hexadecimal digits.

        Example:
            >>> from tfattr.apps import evaluate
            >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="shapes",
            ...                             methods=["saliency"], metrics=[])
            >>> len(config.run_id())
            16
        """
        text = json.dumps(self.identity(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


# ------------------------------------------------------------------------------------------
# Strategy


def make_strategy(name: str):
    """The ``tf.distribute`` strategy for ``--strategy`` (``auto`` picks by the environment).

    ``auto``: ``multiworker`` when ``TF_CONFIG`` lists several workers, ``tpu`` when a TPU is
    configured (``TPU_NAME`` / ``COLAB_TPU_ADDR``), ``mirrored`` with several local GPUs (or
    logical CPUs), else ``default``.

    Args:
        name: ``auto``, ``default`` (TensorFlow's default strategy: one device), ``mirrored``
            (every local GPU, else every logical CPU), ``multiworker`` (the cluster of
            ``TF_CONFIG``) or ``tpu``.

    Returns:
        A ``tf.distribute.Strategy``, to build the model under (``with strategy.scope():``) and
        to pass to :class:`Evaluation`. ``multiworker`` must be made before TensorFlow runs
        anything.

    Raises:
        EvaluationSetupError: an unknown name, ``multiworker`` without ``TF_CONFIG``, or
            ``tpu`` where no TPU is found.

    Example:
        >>> from tfattr.apps import evaluate
        >>> strategy = evaluate.make_strategy("default")
        >>> strategy.num_replicas_in_sync
        1
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


def _worker_position(strategy) -> tuple[int, int]:
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


class Source:
    """The images of a run: ``len`` (after ``limit``), names, and blocks as batched datasets.

    Args:
        spec: the ModelSpec (input size, preprocessing, label offset).
        dataset: a :class:`DatasetSpec`.
        config: the run settings (limit, resize, batch size).
        data_dir: TFDS data folder.
        download: whether TFDS may download and prepare data; False fails at once when the
            data are not prepared.

    Raises:
        EvaluationSetupError: the dataset cannot be read as asked.
    """

    def __init__(self, spec, dataset: DatasetSpec, config: RunConfig, data_dir=None, download=True):
        from tfattr.data import shards

        self.spec, self.config, self.kind = spec, config, dataset.kind
        self.has_masks = dataset.kind == "shapes"
        text = dataset.kind if dataset.name is None else f"{dataset.kind}:{dataset.name}"
        try:
            if dataset.kind == "shapes":
                from tfattr.apps.demo import shapes

                count = config.limit or SHAPES_DEFAULT_COUNT
                self.arrays = shapes.make_dataset(count, shapes.TEST_SEED, size=spec.input_size[0])
                self.reader, self.names, total = None, [f"shapes_{i}" for i in range(count)], count
            elif dataset.kind == "folder":
                self.reader = shards.FolderSource(dataset.name, spec.label_offset)
                self.names, total = self.reader.names, len(self.reader)
            else:
                offset = spec.label_offset
                if dataset.kind == "tfds" and not dataset.name.startswith("imagenet"):
                    offset = 0
                self.reader = shards.TfdsSource(
                    dataset.name, dataset.split, offset, data_dir=data_dir, download=download
                )
                self.names, total = None, len(self.reader)
        except ValueError as error:
            raise EvaluationSetupError(f"--dataset {text}: {error}") from error
        self.total = min(total, config.limit) if config.limit else total

    def __len__(self) -> int:
        return self.total

    def examples(self, block: range):
        """``(index, uint8 image, label, mask)`` of the images in ``block`` (only they are read)."""
        import tensorflow as tf

        size = tuple(self.spec.input_size)
        if self.reader is None:
            images, labels, masks = self.arrays
            part = slice(block.start, block.stop)
            return tf.data.Dataset.from_tensor_slices(
                (
                    np.arange(block.start, block.stop, dtype=np.int64),
                    images[part],
                    np.asarray(labels[part], np.int64),
                    masks[part],
                )  # fmt: skip
            )
        empty = tf.zeros(size, tf.bool)
        ds = self.reader.dataset(block, size, resize=self.config.resize)
        return ds.map(lambda i, image, label: (i, image, label, empty))

    def dataset(self, block: range):
        """Preprocessed batches ``(index, x, label, mask)`` of the images in ``block``."""
        import tensorflow as tf

        preprocess = self.spec.preprocess
        ds = self.examples(block).batch(self.config.batch_size)
        ds = ds.map(
            lambda i, x, y, m: (i, tf.cast(preprocess(x), tf.float32), y, m),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        return ds.prefetch(tf.data.AUTOTUNE)


# ------------------------------------------------------------------------------------------
# Explaining one batch


class BatchExplainer:
    """Explains and scores batches of images with every method of a run.

    One instance serves every replica of a ``tf.distribute`` strategy (its explainers' compiled
    steps run on the replica's device) and every bundle of a Beam worker.

    Args:
        spec: the ModelSpec (model built under the strategy's scope when there is one).
        config: the run settings (methods, metrics, target, steps).

    A call ``explainer(indices, x, labels, masks)`` returns the batch's results as a dict of
    tensors (:meth:`__call__`).

    Example:
        >>> from tfattr.apps import evaluate
        >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="shapes",
        ...                             methods=["saliency", "gradcam"], metrics=["deletion"],
        ...                             steps=4)
        >>> explainer = evaluate.BatchExplainer(spec, config)
        >>> out = explainer(np.arange(2), spec.preprocess(photos), np.array([281, -1]),
        ...                 np.zeros((2, 32, 32), bool))
        >>> out["maps/gradcam"].shape, out["saliency/deletion_auc"].shape
        (TensorShape([2, 32, 32]), TensorShape([2]))
    """

    def __init__(self, spec, config: RunConfig):
        import tensorflow as tf

        from tfattr import registry
        from tfattr.core.adapter import ModelAdapter
        from tfattr.core.engine import GradientEngine

        self.spec, self.config = spec, config
        self.explainers = {
            name: registry.make(
                name,
                spec.model,
                image_size=spec.input_size,
                batch_size=ENGINE_ROWS,
                cam_layer=spec.cam_layer,
            )
            for name in config.methods
        }
        self.engine = GradientEngine(ModelAdapter(spec.model, output="logits"), ENGINE_ROWS)
        # The metrics build an engine per call; giving them this compiled forward pass (as an
        # opaque callable) spares a retrace of the model at every batch.
        self.scorer = tf.function(
            self.engine.adapter,
            input_signature=[tf.TensorSpec((None, *spec.input_size, 3), tf.float32)],
            autograph=False,
        )

    def __call__(self, indices, x, labels, masks) -> dict:
        """The results of one (replica's) batch, as tensors of ``len(x)`` rows.

        Args:
            indices: ``(B,)`` int64: the images' indices in the dataset.
            x: ``(B, H, W, 3)`` float32 images, preprocessed for the model.
            labels: ``(B,)`` int64 labels, -1 where there is none.
            masks: ``(B, H, W)`` booleans: the objects' masks (for ``pointing_game`` and
                ``mass_in_mask``); all False without masks.

        Returns:
            A dict: ``index``, ``label``, ``logits`` (float32 ``(B, classes)``), ``target``,
            ``maps/<method>`` (``(B, H, W)``), ``<method>/<metric>`` and ``<method>/delta``
            (``(B,)``), and ``seconds/<method>`` (scalars: time spent in the method).
        """
        import tensorflow as tf

        config = self.config
        logits = tf.cast(self.engine.scores(x), tf.float32)
        out = {"index": indices, "label": labels, "logits": logits}
        predictions = tf.argmax(logits, axis=1, output_type=tf.int32)
        targets = predictions
        if config.target == "label":
            targets = tf.where(labels >= 0, tf.cast(labels, tf.int32), predictions)
        out["target"] = targets
        n = int(x.shape[0])
        maps = {}
        for name, explainer in self.explainers.items():
            tick = time.perf_counter()
            if n == 0:  # a replica without images in the last batch
                maps[name] = tf.zeros((0, *self.spec.input_size), tf.float32)
            elif "return_convergence_delta" in explainer.options:
                attr, delta = explainer.explain(x, target=targets, return_convergence_delta=True)
                out[f"{name}/delta"] = tf.cast(delta, tf.float64)
                maps[name] = _pixel_map(attr)
            else:
                maps[name] = _pixel_map(explainer.explain(x, target=targets))
            if n == 0 and "return_convergence_delta" in explainer.options:
                out[f"{name}/delta"] = tf.zeros((0,), tf.float64)
            out[f"seconds/{name}"] = tf.constant(time.perf_counter() - tick, tf.float64)
        for name, value in maps.items():
            out[f"maps/{name}"] = value
        out.update(self._scores(x, targets, masks, maps, n))
        return out

    def _scores(self, x, targets, masks, maps, n) -> dict:
        import tensorflow as tf

        from tfattr import metrics

        config, out = self.config, {}
        names = list(maps)
        for metric in ("deletion", "insertion"):
            if metric not in config.metrics:
                continue
            if n == 0:
                values = np.zeros((0,))
            else:  # every method in one call: one compiled pass
                values = getattr(metrics, metric)(
                    self.scorer,
                    tf.concat([x] * len(names), 0),
                    tf.concat([maps[name] for name in names], 0),
                    tf.tile(targets, [len(names)]),
                    steps=config.steps,
                    batch_size=ENGINE_ROWS,
                ).auc
            for k, name in enumerate(names):
                out[f"{name}/{metric}_auc"] = tf.constant(values[k * n : (k + 1) * n], tf.float64)
        for order in ROAD_ORDERS if "road" in config.metrics else ():
            if n == 0:
                values = np.zeros((0,))
            else:
                values = metrics.road(
                    self.scorer,
                    tf.concat([x] * len(names), 0),
                    tf.concat([maps[name] for name in names], 0),
                    tf.tile(targets, [len(names)]),
                    order=order,
                    batch_size=ENGINE_ROWS,
                ).auc
            for k, name in enumerate(names):
                out[f"{name}/road_{order}_auc"] = tf.constant(
                    values[k * n : (k + 1) * n], tf.float64
                )
        wanted = [m for m in MASK_METRICS if m in config.metrics]
        for name in names if wanted else ():
            if n == 0:
                pointing = None
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    pointing = metrics.pointing_game(
                        np.asarray(maps[name]),
                        np.asarray(masks),
                        tolerance=metrics.pointing_tolerance(self.spec.input_size),
                    )
            if "pointing_game" in wanted:
                hits = np.zeros((0,)) if pointing is None else pointing.hits
                out[f"{name}/pointing_game"] = tf.constant(hits, tf.float64)
            if "mass_in_mask" in wanted:
                energy = np.zeros((0,)) if pointing is None else pointing.energy
                out[f"{name}/mass_in_mask"] = tf.constant(energy, tf.float64)
        return out


def _pixel_map(attr):
    """One value per pixel, on the device: pixel attributions summed over channels (CAM maps
    are already per pixel)."""
    import tensorflow as tf

    return tf.reduce_sum(attr, axis=-1) if attr.shape.rank == 4 else tf.convert_to_tensor(attr)


def records(spec, outputs: dict, names=None) -> tuple[list[dict], dict]:
    """Host-side records of one batch's :class:`BatchExplainer` outputs (NumPy values).

    Returns:
        ``(records, maps)``: one dict per image (columns of :func:`record_schema`) and the maps
        ``{method: float16 (B, H, W)}``.
    """
    logits = np.asarray(outputs["logits"], np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    top = np.argsort(-logits, axis=1, kind="stable")[:, :5]
    imagenet = spec.imagenet and logits.shape[1] >= 1000 + spec.label_offset
    if imagenet:
        from tfattr.data import IMAGENET_A_CLASSES

        offset = spec.label_offset
        columns = np.asarray(IMAGENET_A_CLASSES) + offset
        p1000 = np.argmax(logits[:, offset : offset + 1000], axis=1) + offset
        p200 = columns[np.argmax(logits[:, columns], axis=1)]
    scalars = {
        k: np.asarray(v)
        for k, v in outputs.items()
        if "/" in k and not k.startswith(("maps/", "seconds/"))
    }
    rows = []
    for i, index in enumerate(np.asarray(outputs["index"])):
        row = {
            "index": int(index),
            "name": None if names is None else names[int(index)],
            "label": int(outputs["label"][i]),
            "prediction": int(top[i, 0]),
            "probability": float(probabilities[i, top[i, 0]]),
            "top5": [int(c) for c in top[i]],
            "top5_probability": [float(probabilities[i, c]) for c in top[i]],
            "target": int(outputs["target"][i]),
            "prediction_1000": int(p1000[i]) if imagenet else None,
            "prediction_200": int(p200[i]) if imagenet else None,
        }
        for key, values in scalars.items():
            value = float(values[i])
            row[key] = None if math.isnan(value) else value
        rows.append(row)
    maps = {
        k.split("/", 1)[1]: np.asarray(v).astype(np.float16)
        for k, v in outputs.items()
        if k.startswith("maps/")
    }
    return rows, maps


def _record_columns(config: RunConfig) -> list[str]:
    """The metric and delta columns of a run's records (``<method>/<metric>``)."""
    from tfattr import registry

    columns = []
    for name in config.methods:
        if "return_convergence_delta" in registry.resolve(name).cls.defaults:
            columns.append(f"{name}/delta")
        for metric in config.metrics:
            if metric == "road":
                columns += [f"{name}/road_{order}_auc" for order in ROAD_ORDERS]
            elif metric in ("deletion", "insertion"):
                columns.append(f"{name}/{metric}_auc")
            else:
                columns.append(f"{name}/{metric}")
    return columns


def record_schema(config: RunConfig):
    """The Parquet schema of a run's records (the same for every file, job and runner)."""
    import pyarrow as pa

    fields = [
        ("index", pa.int64()),
        ("name", pa.string()),
        ("label", pa.int64()),
        ("prediction", pa.int64()),
        ("probability", pa.float64()),
        ("top5", pa.list_(pa.int64())),
        ("top5_probability", pa.list_(pa.float64())),
        ("target", pa.int64()),
        ("prediction_1000", pa.int64()),
        ("prediction_200", pa.int64()),
    ]
    fields += [(column, pa.float64()) for column in _record_columns(config)]
    return pa.schema(fields)


# ------------------------------------------------------------------------------------------
# Statistics (merged, never recomputed from records)


class Stats:
    """Sufficient statistics of a set of records: counts, sums and sums of squares.

    Stats of disjoint sets merge by addition, so a summary of any number of shards, files or
    Beam bundles is the merge of theirs.

    Args:
        data: the statistics as :attr:`data` holds them (from :meth:`from_json`); None: none
            yet. ``data["metrics"]`` maps each ``<method>/<metric>`` column to ``(count, sum,
            sum of squares)``.

    Example:
        >>> from tfattr.apps import evaluate
        >>> cat = {"label": 281, "prediction": 281, "top5": [281, 282, 285, 287, 283],
        ...        "saliency/deletion_auc": 0.25}
        >>> dog = {"label": 207, "prediction": 281, "top5": [281, 207, 208, 209, 210],
        ...        "saliency/deletion_auc": 0.5}
        >>> stats = evaluate.Stats().add([cat]).merge(evaluate.Stats().add([dog]))
        >>> stats.data["images"], stats.data["top1"], stats.data["top5"]
        (2, 1, 2)
        >>> stats.data["metrics"]["saliency/deletion_auc"]
        (2, 0.75, 0.3125)
    """

    def __init__(self, data: dict | None = None):
        self.data = data or {"images": 0, "labelled": 0, "top1": 0, "top5": 0, "n_1000": 0,
                             "hits_1000": 0, "n_200": 0, "hits_200": 0, "in_subset": 0,
                             "busy_seconds": 0.0, "seconds": {}, "metrics": {}}  # fmt: skip

    def add(self, rows, seconds=None, busy: float = 0.0, label_offset: int = 0) -> Stats:
        """Adds records, the seconds spent on them per method and in all.

        Args:
            rows: records (dicts with ``label``, ``prediction``, ``top5``, optionally
                ``prediction_1000``/``prediction_200``, and ``<method>/<metric>`` values;
                None values are left out).
            seconds: ``{method: seconds}`` spent on these records.
            busy: seconds spent on these records in all.
            label_offset: the model's label offset (to tell ImageNet-A's classes among the
                labels).

        Returns:
            This :class:`Stats`, updated.

        Example:
            >>> from tfattr.apps import evaluate
            >>> row = {"label": -1, "prediction": 3, "top5": [3, 1, 0, 2, 4], "gradcam/delta": None}
            >>> evaluate.Stats().add([row], {"gradcam": 0.5}, busy=0.75).data["seconds"]
            {'gradcam': 0.5}
        """
        from tfattr.data import IMAGENET_A_CLASSES

        d = self.data
        subset = set(np.asarray(IMAGENET_A_CLASSES).tolist())
        d["images"] += len(rows)
        d["busy_seconds"] += float(busy)
        for name, value in (seconds or {}).items():
            d["seconds"][name] = d["seconds"].get(name, 0.0) + float(value)
        for row in rows:
            label = row["label"]
            if label >= 0:
                d["labelled"] += 1
                d["top1"] += int(row["prediction"] == label)
                d["top5"] += int(label in row["top5"])
                if row.get("prediction_1000") is not None:
                    d["n_1000"] += 1
                    d["hits_1000"] += int(row["prediction_1000"] == label)
                if row.get("prediction_200") is not None:
                    d["n_200"] += 1
                    d["hits_200"] += int(row["prediction_200"] == label)
                    d["in_subset"] += int(label - label_offset in subset)
            for key, value in row.items():
                if "/" in key and value is not None:
                    n, total, squares = d["metrics"].get(key, (0, 0.0, 0.0))
                    d["metrics"][key] = (n + 1, total + value, squares + value * value)
        return self

    def merge(self, other: Stats) -> Stats:
        """Adds the statistics of a disjoint set of records.

        Args:
            other: the :class:`Stats` of records not counted here.

        Returns:
            This :class:`Stats`, updated.

        Example:
            >>> from tfattr.apps import evaluate
            >>> row = {"label": 3, "prediction": 3, "top5": [3, 1, 0, 2, 4]}
            >>> evaluate.Stats().add([row]).merge(evaluate.Stats().add([row])).data["top1"]
            2
        """
        d, o = self.data, other.data
        for key, value in o.items():
            if key == "seconds":
                for name, s in value.items():
                    d["seconds"][name] = d["seconds"].get(name, 0.0) + s
            elif key == "metrics":
                for name, (n, total, squares) in value.items():
                    a, b, c = d["metrics"].get(name, (0, 0.0, 0.0))
                    d["metrics"][name] = (a + n, b + total, c + squares)
            else:
                d[key] += value
        return self

    def to_json(self) -> str:
        """The statistics as JSON (the records files' footers and Beam's ``stats.json``).

        Returns:
            A JSON string; :meth:`from_json` reads it back.

        Example:
            >>> from tfattr.apps import evaluate
            >>> stats = evaluate.Stats().add([{"label": 3, "prediction": 3, "top5": [3],
            ...                                "saliency/deletion_auc": 0.25}])
            >>> evaluate.Stats.from_json(stats.to_json()).data == stats.data
            True
        """
        return json.dumps(self.data)

    @classmethod
    def from_json(cls, text) -> Stats:
        """Reads statistics written by :meth:`to_json`.

        Args:
            text: the JSON (str or bytes).

        Returns:
            A :class:`Stats`.

        Example:
            >>> from tfattr.apps import evaluate
            >>> evaluate.Stats.from_json(evaluate.Stats().to_json()).data["images"]
            0
        """
        data = json.loads(text)
        data["metrics"] = {k: tuple(v) for k, v in data["metrics"].items()}
        return cls(data)


def _interval(n: int, total: float, squares: float) -> dict:
    """Mean and normal-approximation 95% confidence interval from n, sum and sum of squares."""
    if n == 0:
        return {"mean": None, "ci95": [None, None], "std": None, "n": 0}
    mean = total / n
    std = math.sqrt(max(0.0, (squares - n * mean * mean) / (n - 1))) if n > 1 else 0.0
    half = 1.96 * std / math.sqrt(n) if n > 1 else 0.0
    return {"mean": mean, "ci95": [mean - half, mean + half], "std": std, "n": n}


# ------------------------------------------------------------------------------------------
# Files


def is_remote(path) -> bool:
    """Whether ``path`` is a URL of a remote file system (``gs://``, ``s3://``, ...)."""
    return "://" in str(path)


def join(folder, name: str):
    """``folder / name``, keeping a remote URL a string (pathlib would fold its ``//``)."""
    return f"{str(folder).rstrip('/')}/{name}" if is_remote(folder) else pathlib.Path(folder) / name


def atomic_write(path, data: bytes) -> None:
    """Writes ``data`` to a temporary file beside ``path``, syncs it, and renames it.

    A remote ``path`` (``gs://...``) is written with ``tf.io.gfile``: object stores publish
    an object whole when it is closed.
    """
    if is_remote(path):
        import tensorflow as tf

        with tf.io.gfile.GFile(str(path), "wb") as f:
            f.write(data)
        return
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def _parquet_bytes(rows: list[dict], schema, stats: Stats) -> bytes:
    """A Parquet file of ``rows`` with ``stats`` in its footer's key-value metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(
        [{k: row.get(k) for k in schema.names} for row in rows], schema=schema
    ).replace_schema_metadata({STATS_KEY: stats.to_json().encode()})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue().to_pybytes()


def map_examples(rows: list[dict], maps: dict) -> list[bytes]:
    """Serialized ``tf.train.Example`` per image: ``index`` and each method's float16 map."""
    import tensorflow as tf

    examples = []
    for i, row in enumerate(rows):
        feature = {"index": tf.train.Feature(int64_list=tf.train.Int64List(value=[row["index"]]))}
        for name, values in maps.items():
            data = np.ascontiguousarray(values[i], dtype="<f2").tobytes()
            feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))
        examples.append(
            tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()
        )
    return examples


def _tfrecord_bytes(examples: list[bytes]) -> bytes:
    import tempfile

    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "part.tfrecord")
        with tf.io.TFRecordWriter(path) as writer:
            for example in examples:
                writer.write(example)
        return pathlib.Path(path).read_bytes()


def _record_files(out) -> list[pathlib.Path]:
    """Every records file under ``out/records`` (all shards and runners)."""
    return sorted(p for p in pathlib.Path(out).glob("records/**/*.parquet") if p.name[0] != ".")


def read_records(out):
    """All records of a run as one ``pyarrow.Table`` sorted by image index.

    Args:
        out: the run's folder (every shard's and runner's records files are read).

    Returns:
        A ``pyarrow.Table``, one row per image: ``index``, ``name``, ``label``,
        ``prediction``, ``probability``, ``top5``, ``top5_probability``, ``target``,
        ``prediction_1000``, ``prediction_200`` (ImageNet models), then one float column per
        method and metric (``<method>/<metric>``) and convergence delta (``<method>/delta``).

    Raises:
        RuntimeError: some image has several records (a corrupt folder).

    Example:
        >>> from tfattr.apps import evaluate
        >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="folder:photos",
        ...                             methods=["saliency"], metrics=["deletion"], steps=4)
        >>> _ = evaluate.Evaluation(evaluate.parse_dataset(config.dataset), config, "run").run(spec)
        >>> table = evaluate.read_records("run")      # .to_pandas() for a DataFrame
        >>> table.num_rows, table.column_names[-1]
        (2, 'saliency/deletion_auc')
    """
    import pyarrow.parquet as pq

    table = pq.read_table(pathlib.Path(out) / "records").sort_by("index")
    indices = table.column("index").to_numpy()
    if np.unique(indices).size != indices.size:
        raise RuntimeError(f"{out}: duplicate records for some images; the folder is corrupt")
    return table


def read_maps(out, methods=None):
    """The saved maps of a run (``--save-maps``) as a ``tf.data.Dataset`` of dicts.

    Args:
        out: the run's folder.
        methods: the methods whose maps to read; None: every method of the run.

    Returns:
        A ``tf.data.Dataset`` streaming the maps files: each element holds ``index`` (int64)
        and one float32 ``(H, W)`` map per method; files are read in order of shard and
        offset, so indices ascend within each shard.

    Example:
        >>> from tfattr.apps import evaluate
        >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="folder:photos",
        ...                             methods=["saliency", "gradcam"], metrics=[],
        ...                             save_maps=True)
        >>> _ = evaluate.Evaluation(evaluate.parse_dataset(config.dataset), config, "run").run(spec)
        >>> for element in evaluate.read_maps("run").batch(64):
        ...     print(element["index"].numpy(), element["gradcam"].shape)
        [0 1] (2, 32, 32)
    """
    import tensorflow as tf

    out = pathlib.Path(out)
    spec = json.loads((out / "maps" / "spec.json").read_text(encoding="utf-8"))
    methods = list(methods or spec["methods"])
    shape = spec["shape"]
    files = sorted(str(p) for p in out.glob("maps/**/*.tfrecord") if p.name[0] != ".")
    features = {"index": tf.io.FixedLenFeature([], tf.int64)}
    features.update({name: tf.io.FixedLenFeature([], tf.string) for name in methods})

    def parse(serialized):
        example = tf.io.parse_single_example(serialized, features)
        element = {"index": example["index"]}
        for name in methods:
            values = tf.io.decode_raw(example[name], tf.float16, little_endian=True)
            element[name] = tf.reshape(tf.cast(values, tf.float32), shape)
        return element

    return tf.data.TFRecordDataset(files).map(parse)


def read_stats(out) -> Stats:
    """The merged :class:`Stats` of every records file's footer (no record is read).

    Args:
        out: the run's folder (every shard's records files, and the Beam pipeline's
            ``stats.json``).

    Returns:
        A :class:`Stats`; :func:`summarize` turns it into the summary.

    Example:
        >>> from tfattr.apps import evaluate
        >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="folder:photos",
        ...                             methods=["saliency"], metrics=["deletion"], steps=4)
        >>> _ = evaluate.Evaluation(evaluate.parse_dataset(config.dataset), config, "run").run(spec)
        >>> stats = evaluate.read_stats("run")
        >>> stats.data["images"], stats.data["metrics"]["saliency/deletion_auc"][0]
        (2, 2)
    """
    import pyarrow.parquet as pq

    stats = Stats()
    for path in _record_files(out):
        metadata = pq.read_metadata(path).metadata or {}
        if STATS_KEY in metadata:
            stats.merge(Stats.from_json(metadata[STATS_KEY]))
    beam = pathlib.Path(out) / "stats.json"  # the Beam pipeline's combined statistics
    if beam.is_file():
        stats.merge(Stats.from_json(beam.read_text(encoding="utf-8")))
    return stats


def claim_folder(out, config: RunConfig) -> bool:
    """Claims ``out`` for the run of ``config`` (``run.json``); returns whether this call
    created the claim (any job of the same run may join it).

    Raises:
        EvaluationSetupError: ``out`` holds another run.
    """
    out = pathlib.Path(out)
    identity = {"format": FORMAT, "run_id": config.run_id(), **config.identity()}
    run_file = out / "run.json"
    out.mkdir(parents=True, exist_ok=True)
    temporary = out / f".run.json.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(identity, indent=2), encoding="utf-8")
    try:
        os.link(temporary, run_file)  # atomic: fails when another job claimed first
        created = True
    except FileExistsError:
        created = False
    finally:
        temporary.unlink()
    if not created:
        previous = json.loads(run_file.read_text(encoding="utf-8"))
        if previous.get("run_id") != identity["run_id"]:
            changed = sorted(
                k
                for k in identity
                if k not in ("run_id", "format") and previous.get(k) != identity[k]
            )
            raise EvaluationSetupError(
                f"--out {out}: holds another run (run id {previous.get('run_id')}, other "
                f"settings: {', '.join(changed) or 'format'}); choose another --out"
            )
    return created


class RunFolder:
    """The output folder of one run: claimed by ``run.json``, one job per shard at a time.

    A different run (other settings) into the same folder is refused before any work; an
    identical job of another shard joins the run; an identical job of a shard that another
    process is computing is refused (an OS file lock, released when the process dies, even by
    SIGKILL, so a resume is never blocked by a dead job).

    Args:
        out: the folder.
        config: the run settings.
        shard: ``(index, count)`` of this job's block.
        resume: whether results of this shard on disk are to be completed.

    Raises:
        EvaluationSetupError: the folder holds another run, or this shard is being computed,
            or holds results without ``resume``.
    """

    def __init__(self, out, config: RunConfig, shard: tuple[int, int], resume: bool):
        self.out, self.config, self.shard = pathlib.Path(out), config, shard
        name = f"shard-{shard[0]:05d}-of-{shard[1]:05d}"
        self.records = self.out / "records" / name
        self.maps = self.out / "maps" / name
        self.created = claim_folder(self.out, config)
        self._lock_file = None
        try:
            self._lock(name)
            if self.done() and not resume:
                raise EvaluationSetupError(
                    f"--out {self.out}: already holds results of shard {shard[0]}/{shard[1]}; "
                    f"pass --resume to complete the run, or choose another --out"
                )
        except BaseException:
            self.release(failed=True)
            raise

    def _lock(self, name: str) -> None:
        import fcntl

        path = self.out / "locks" / f"{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(path, "a+")  # noqa: SIM115 (held for the job's lifetime)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "another process"
            self._lock_file.close()
            self._lock_file = None
            raise EvaluationSetupError(
                f"--out {self.out}: shard {self.shard[0]}/{self.shard[1]} is being computed by "
                f"{holder}; wait for it, or run another --shard"
            ) from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(f"process {os.getpid()}")
        self._lock_file.flush()

    def release(self, failed: bool = False) -> None:
        """Releases the shard lock; a failed start that created the folder's claim undoes it."""
        if self._lock_file is not None:
            self._lock_file.close()  # (closing releases the flock)
            self._lock_file = None
        if failed and self.created and not _record_files(self.out):
            (self.out / "run.json").unlink(missing_ok=True)

    def parts(self) -> list[tuple[int, int, pathlib.Path]]:
        """``(offset, rows, path)`` of this shard's records files (footers only)."""
        import pyarrow.parquet as pq

        found = []
        for path in self.records.glob("part-*.parquet"):
            found.append((int(path.stem.split("-")[1]), pq.read_metadata(path).num_rows, path))
        return sorted(found)

    def done(self) -> int:
        """How many images of the block, from its start, have their records on disk."""
        done = 0
        for offset, rows, _ in self.parts():
            if offset == done:
                done += rows
        return done

    def commit(self, offset: int, rows: list[dict], maps: dict | None, stats: Stats) -> None:
        """Writes one chunk: maps first, then the records file that makes it count as done."""
        if maps is not None:
            data = _tfrecord_bytes(map_examples(rows, maps))
            atomic_write(self.maps / f"part-{offset:09d}.tfrecord", data)
        data = _parquet_bytes(rows, record_schema(self.config), stats)
        atomic_write(self.records / f"part-{offset:09d}.parquet", data)


# ------------------------------------------------------------------------------------------
# The run


class Evaluation:
    """One evaluation job: this (job, worker)'s block of the dataset, on a strategy's replicas.

    Args:
        dataset: a :class:`DatasetSpec`.
        config: the run settings.
        out: output folder.
        strategy: a ``tf.distribute`` strategy (see :func:`make_strategy`); None: the
            current one (TensorFlow's default strategy outside any scope).
        resume: continue this shard's results in ``out``.
        records_per_file: images per records (and maps) file; a killed job redoes at most
            this many.
        progress: show a progress bar on stderr (only when stderr is a terminal).

    Raises:
        EvaluationSetupError: metrics that need masks on a dataset without them, a folder that
            holds another run, a shard computed elsewhere, or results on disk without ``resume``.

    Example:
        >>> import pathlib
        >>> from tfattr.apps import evaluate
        >>> strategy = evaluate.make_strategy("default")  # build the model under its scope
        >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="folder:photos",
        ...                             methods=["saliency"], metrics=["deletion"], steps=4)
        >>> dataset = evaluate.parse_dataset(config.dataset)
        >>> job = evaluate.Evaluation(dataset, config, "run", strategy=strategy,
        ...                           records_per_file=1)
        >>> job.run(spec)["images"]
        2
        >>> sorted(path.name for path in pathlib.Path("run/records").glob("*/*.parquet"))
        ['part-000000000.parquet', 'part-000000001.parquet']
        >>> again = evaluate.Evaluation(dataset, config, "run", resume=True)
        >>> again.run(spec)["images"]                 # nothing left to compute
        2
    """

    def __init__(
        self,
        dataset: DatasetSpec,
        config: RunConfig,
        out,
        *,
        strategy=None,
        resume: bool = False,
        records_per_file: int = RECORDS_PER_FILE,
        progress: bool = True,
    ):
        import tensorflow as tf

        if dataset.kind != "shapes":
            needing = [m for m in config.metrics if m in MASK_METRICS]
            if needing:
                raise EvaluationSetupError(
                    f"--metrics: {', '.join(needing)} need ground-truth masks, which only "
                    f"--dataset shapes has"
                )
        self.dataset, self.config, self.out = dataset, config, pathlib.Path(out)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.worker, self.workers = _worker_position(self.strategy)
        i, n = config.shard
        # Worker w of W inside job shard i of n: block i * W + w of n * W.
        self.shard = (i * self.workers + self.worker, n * self.workers)
        self.records_per_file = int(records_per_file)
        self.progress = progress
        self.folder = RunFolder(self.out, config, self.shard, resume)

    def run(self, spec, *, data_dir=None, download: bool = True) -> dict | None:
        """Computes the rest of this job's block; returns the summary (None on other workers).

        Args:
            spec: the ModelSpec (its model built under the strategy's scope).
            data_dir: TFDS data folder.
            download: whether TFDS may download; False fails at once on unprepared data.

        Returns:
            On the first worker, the summary of every record in the folder so far (as
            :func:`summarize`, also written to ``summary.json``, ``.csv`` and ``.png``); None
            on the other workers of a cluster.

        Raises:
            EvaluationSetupError: the dataset cannot be read as asked (unprepared TFDS data
                without ``download``, unreadable images without ``skip_bad``); the folder's
                claim is then undone if this job made it and nothing was written.

        Example:
            >>> from tfattr.apps import evaluate
            >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="shapes",
            ...                             methods=["gradcam"], metrics=["pointing_game"],
            ...                             limit=4)
            >>> job = evaluate.Evaluation(evaluate.parse_dataset("shapes"), config, "run")
            >>> summary = job.run(spec)
            >>> summary["images"], summary["methods"]["gradcam"]["pointing_game"]["n"]
            (4, 4)
        """
        try:
            return self._run(spec, data_dir, download)
        except EvaluationSetupError:
            self.folder.release(failed=True)
            raise
        finally:
            self.folder.release()

    def _readable(self, reader, block: range, done: int):
        """The indices of ``block`` still to compute, without its unreadable images: refused
        before any work, or (``skip_bad``) left out and listed in ``skipped/<shard>.json``. The
        unreadable set is the same at every run of the job, so a resume skips ``done`` of the
        readable ones."""
        from tfattr.data.images import BadImagesError

        bad = reader.unreadable(block)
        if not bad:
            return range(block.start + done, block.stop)
        if not self.config.skip_bad:
            fix = "Fix or remove them, or pass --skip-bad to leave them out. Nothing was computed."
            raise EvaluationSetupError(
                f"--dataset: {BadImagesError([b for _, b in bad], 'folder', fix)}"
            )
        folder = self.out / "skipped"
        folder.mkdir(exist_ok=True)
        listed = [{"index": i, "path": b.path, "reason": b.reason} for i, b in bad]
        name = f"{self.shard[0]}-of-{self.shard[1]}.json"
        (folder / name).write_text(json.dumps(listed, indent=1), encoding="utf-8")
        skipped = {i for i, _ in bad}
        return [i for i in block if i not in skipped][done:]

    def _run(self, spec, data_dir, download):
        import tensorflow as tf
        from tqdm.auto import tqdm

        from tfattr.data.shards import share

        started = time.time()
        source = Source(spec, self.dataset, self.config, data_dir=data_dir, download=download)
        if self.folder.created:
            self._write_maps_spec(spec)
        block = share(len(source), *self.shard)
        done = self.folder.done()
        remaining = range(block.start + done, block.stop)
        if hasattr(source.reader, "unreadable"):  # an image folder: unreadable files up front
            remaining = self._readable(source.reader, block, done)
        strategy = self.strategy
        self.devices = replica_devices(strategy)
        with strategy.scope():
            explainer = BatchExplainer(spec, self.config)
        ds = source.dataset(remaining)
        options = tf.data.Options()
        # Each (job, worker) reads its own block: no further sharding by tf.distribute.
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        batches = strategy.experimental_distribute_dataset(ds.with_options(options))
        bar = tqdm(
            total=len(remaining),
            unit="img",
            desc=f"tfattr evaluate {self.shard[0]}/{self.shard[1]}",
            disable=not (self.progress and sys.stderr.isatty()),
            file=sys.stderr,
        )
        self._label_offset = spec.label_offset
        self._reset(done)
        processed = 0
        try:
            for batch in batches:
                tick = time.perf_counter()
                per_replica = strategy.run(explainer, args=batch)
                outputs = {key: _gather(strategy, value) for key, value in per_replica.items()}
                rows, maps = records(spec, outputs, source.names)
                seconds = {
                    k.split("/", 1)[1]: float(np.sum(v))
                    for k, v in outputs.items()
                    if k.startswith("seconds/")
                }
                self._add(rows, maps, seconds, time.perf_counter() - tick)
                processed += len(rows)
                bar.update(len(rows))
            self._flush(final=True)
        finally:
            bar.close()
        self._barrier(processed)
        if self.worker != 0:
            return None
        return summarize(self.out, spec, self.dataset, time.time() - started)

    def _write_maps_spec(self, spec) -> None:
        if self.config.save_maps:
            content = {"methods": list(self.config.methods), "shape": list(spec.input_size)}
            atomic_write(self.out / "maps" / "spec.json", json.dumps(content).encode())

    def _reset(self, offset: int) -> None:
        self._offset = offset
        self._pending = []  # (record, maps of the image, seconds per method, wall seconds)

    def _add(self, rows, maps, seconds, wall) -> None:
        share = 1.0 / max(1, len(rows))  # a batch's time, shared by its images
        per_image = {name: value * share for name, value in seconds.items()}
        for i, row in enumerate(rows):
            self._pending.append((row, {k: v[i] for k, v in maps.items()}, per_image, wall * share))
        self._flush(final=False)

    def _flush(self, final: bool) -> None:
        """Commits whole chunks of ``records_per_file`` images (and the rest when final)."""
        self._pending.sort(key=lambda item: item[0]["index"])
        size = self.records_per_file
        while len(self._pending) >= size or (final and self._pending):
            chunk, self._pending = self._pending[:size], self._pending[size:]
            rows = [item[0] for item in chunk]
            stats = Stats()
            for row, _, seconds, wall in chunk:
                stats.add([row], seconds, wall, self._label_offset)
            maps = None
            if self.config.save_maps:
                maps = {name: np.stack([item[1][name] for item in chunk]) for name in chunk[0][1]}
            self.folder.commit(self._offset, rows, maps, stats)
            self._offset += len(rows)

    def _barrier(self, processed: int) -> None:
        """With several workers: an all-reduce every worker joins once its records are written."""
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


def _gather(strategy, value) -> np.ndarray:
    """A per-replica value as one NumPy array (replicas' rows in order; scalars stacked)."""
    parts = [np.asarray(v) for v in strategy.experimental_local_results(value)]
    if parts[0].ndim == 0:
        return np.stack(parts)
    return np.concatenate(parts)


# ------------------------------------------------------------------------------------------
# Summary


def summarize(out, spec, dataset: DatasetSpec, wall_seconds: float | None = None) -> dict:
    """Merges the statistics of every records file in ``out`` into ``summary.json``, ``.csv``
    and ``.png`` (no record is read).

    A run summarizes itself when it ends; this summarizes a folder again, for instance once
    every ``--shard`` job of a run has finished.

    Args:
        out: the run's folder.
        spec: the run's ModelSpec (the summary needs nothing from it).
        dataset: the run's :class:`DatasetSpec` (ImageNet-A's 200-class accuracy is reported
            for ``imagenet_a``).
        wall_seconds: this job's wall-clock time, reported as
            ``throughput.wall_seconds_this_job``.

    Returns:
        The summary: counts, accuracy (200- and 1000-way for ImageNet models), per method and
        metric the mean and 95% confidence interval, and throughput.

    Example:
        >>> from tfattr.apps import evaluate
        >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="folder:photos",
        ...                             methods=["saliency"], metrics=["deletion"], steps=4)
        >>> dataset = evaluate.parse_dataset(config.dataset)
        >>> _ = evaluate.Evaluation(dataset, config, "run").run(spec)
        >>> summary = evaluate.summarize("run", spec, dataset)
        >>> summary["images"], sorted(summary["methods"]["saliency"]["deletion_auc"])
        (2, ['ci95', 'mean', 'n', 'std'])
    """
    out = pathlib.Path(out)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    summary = summary_from_stats(read_stats(out), run, dataset.kind)
    skipped = [
        entry
        for path in sorted((out / "skipped").glob("*.json"))
        for entry in json.loads(path.read_text(encoding="utf-8"))
    ]
    if skipped:
        summary["skipped_images"] = {"count": len(skipped), "files": skipped[:100]}
    summary["throughput"]["wall_seconds_this_job"] = wall_seconds
    write_summary(out, summary)
    return summary


def summary_from_stats(stats: Stats, run: dict, dataset_kind: str) -> dict:
    """The summary dict of merged statistics."""
    d = stats.data
    accuracy = {}
    if d["labelled"]:
        accuracy["top1"] = d["top1"] / d["labelled"]
        accuracy["top5"] = d["top5"] / d["labelled"]
        if d["n_1000"] == d["labelled"]:
            accuracy["accuracy_1000"] = d["hits_1000"] / d["labelled"]
        if d["n_200"] == d["labelled"] and (
            dataset_kind == "imagenet_a" or d["in_subset"] == d["labelled"]
        ):
            accuracy["accuracy_200"] = d["hits_200"] / d["labelled"]
    methods = {}
    for name in run["methods"]:
        prefix = f"{name}/"
        methods[name] = {
            key[len(prefix) :]: _interval(*values)
            for key, values in sorted(d["metrics"].items())
            if key.startswith(prefix)
        }
        seconds = d["seconds"].get(name)
        methods[name]["seconds_per_image"] = seconds / d["images"] if d["images"] else None
    busy = d["busy_seconds"]
    return {
        "format": FORMAT + "/summary",
        "run": run,
        "images": d["images"],
        "labelled": d["labelled"],
        "accuracy": accuracy,
        "methods": methods,
        "throughput": {
            "images_per_second": d["images"] / busy if busy else None,
            "busy_seconds": busy,
        },
        "notes": {
            "deletion_auc": "area under the target probability as top pixels are set to black; "
            "lower is better",
            "insertion_auc": "area under the target probability as top pixels are inserted into "
            "a blurred copy; higher is better",
            "road_morf_auc": "ROAD: area under the target probability as the most relevant pixels "
            "are removed and imputed (noisy linear imputation); lower is better",
            "road_lerf_auc": "ROAD: the same, least relevant pixels first; higher is better",
            "pointing_game": "1 if the most attributed pixel is on the object's mask",
            "mass_in_mask": "share of the positive attribution on the object's mask",
            "delta": "convergence delta: sum of the attributions minus F(x) - F(baseline)",
            "ci95": "mean +- 1.96 standard errors (normal approximation)",
            "accuracy_200": "ImageNet-A's official accuracy: argmax over its 200 classes",
            "accuracy_1000": "argmax over all 1000 ImageNet classes",
        },
    }


def write_summary(out, summary: dict) -> None:
    """Writes ``summary.json``, ``summary.csv`` and ``summary.png`` into ``out``."""
    atomic_write(join(out, "summary.json"), json.dumps(summary, indent=2).encode())
    _write_csv(join(out, "summary.csv"), summary["methods"], summary["accuracy"],
               summary["throughput"], summary["images"])  # fmt: skip
    _plot(join(out, "summary.png"), summary["methods"])


def _write_csv(path, methods: dict, accuracy: dict, throughput: dict, n: int):
    """One row per (method, metric); the model's accuracies and the throughput as method ``*``."""
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


def _plot(path, methods: dict) -> None:
    from matplotlib.figure import Figure

    metrics = sorted({m for v in methods.values() for m, s in v.items() if isinstance(s, dict)})
    if not metrics:
        return
    fig = Figure(figsize=(4 * len(metrics), 3.2))
    names = list(methods)
    for k, metric in enumerate(metrics):
        ax = fig.add_subplot(1, len(metrics), k + 1)
        stats = [methods[n].get(metric) or {"mean": None, "ci95": [None, None]} for n in names]
        means = [s["mean"] or 0.0 for s in stats]
        errors = [(s["ci95"][1] or 0.0) - (s["mean"] or 0.0) for s in stats]
        ax.bar(range(len(names)), means, yerr=errors, capsize=3, color="tab:blue")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_title(metric)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    atomic_write(path, buffer.getvalue())


def format_summary(summary: dict) -> str:
    """The summary as a short text table (what ``tfattr evaluate`` prints).

    Args:
        summary: a summary (from :meth:`Evaluation.run` or :func:`summarize`).

    Returns:
        Lines of text: the image count, the accuracies, per method each metric's mean and 95%
        confidence interval and the seconds per image, and the throughput.

    Example:
        >>> from tfattr.apps import evaluate
        >>> config = evaluate.RunConfig(model="tiny_vgg", weights="none", dataset="folder:photos",
        ...                             methods=["saliency"], metrics=["deletion"], steps=4)
        >>> summary = evaluate.Evaluation(evaluate.parse_dataset(config.dataset), config,
        ...                               "run").run(spec)
        >>> print(evaluate.format_summary(summary))
        2 images
        accuracy: top1 ...%, top5 ...%, accuracy_1000 ...%
          saliency               deletion_auc ... [..., ...], ... s/img
        throughput ... images/s
    """
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
        timing = f"{per_image:.3f} s/img" if per_image is not None else ""
        # A run without metrics (or without timings) prints no separator before the other part.
        fields = ", ".join(field for field in ("; ".join(parts), timing) if field)
        lines.append(f"  {name:<22} {fields}".rstrip())
    rate = summary["throughput"]["images_per_second"]
    if rate:
        lines.append(f"throughput {rate:.2f} images/s")
    return "\n".join(lines)
