"""``tfattr evaluate`` as an Apache Beam pipeline: any number of machines (Dataflow, Flink, Spark).

The dataset is cut into blocks of ``block_size`` images (:func:`tfattr.data.shards.share`);
each block is read by one worker, which decodes only its images (file lists and TFDS split
slices are cut before reading). Images go through ``RunInference`` with
:class:`ExplainModelHandler`, which runs the same :class:`tfattr.apps.evaluate.BatchExplainer` as
the single-machine command, so per-image results are the same. Outputs, in ``--out``:

- ``records/beam/part-*.parquet``: the per-image records (the schema of
  :func:`tfattr.apps.evaluate.record_schema`), written by ``WriteToParquet``;
- ``maps/beam/part-*.tfrecord`` (``save_maps``): one ``tf.train.Example`` per image, read back
  by :func:`tfattr.apps.evaluate.read_maps`;
- ``stats.json``: the per-image statistics combined by ``CombineGlobally``, and from them
  ``summary.json``/``.csv``/``.png``.

A failed bundle is retried by the runner; files are committed by Beam's file sinks, so a retry
neither loses nor duplicates records. Needs the ``tfattr[beam]`` extra.

Example:
    python -m tfattr.apps.beam --model resnet50 --dataset tfds:imagenet2012:validation \\
        --data-dir gs://b/tensorflow_datasets --out gs://b/run \\
        -- --runner=DataflowRunner --project=P --region=europe-west1 --temp_location=gs://b/tmp
"""

from __future__ import annotations

import json
import math
import sys
import time

import numpy as np

from tfattr.apps import evaluate

try:
    from apache_beam.ml.inference.base import ModelHandler
except ImportError:  # the module stays importable; running it asks for the extra
    ModelHandler = object

BLOCK_SIZE = 256


def _require_beam():
    try:
        import apache_beam
    except ImportError:
        raise ImportError(
            "the Beam pipeline needs Apache Beam: pip install 'tfattr[beam]'"
        ) from None
    return apache_beam


def _spec(config: evaluate.RunConfig):
    from tfattr.apps.cli import load_model

    return load_model(config.model, config.weights)


def _source(config, spec, data_dir, download) -> evaluate.Source:
    return evaluate.Source(
        spec, evaluate.parse_dataset(config.dataset), config, data_dir=data_dir, download=download
    )


class ReadBlock:
    """A ``DoFn`` body: the ``(index, uint8 image, label, mask)`` examples of one block.

    The model spec is loaded once per worker (for the input size and label offset).
    """

    def __init__(self, config: evaluate.RunConfig, data_dir=None, download=True):
        self.config, self.data_dir, self.download = config, data_dir, download
        self._source = None

    def __call__(self, block):
        if self._source is None:
            self._source = _source(self.config, _spec(self.config), self.data_dir, self.download)
        for index, image, label, mask in self._source.examples(range(*block)).as_numpy_iterator():
            yield int(index), image, int(label), mask


class ExplainModelHandler(ModelHandler):
    """A Beam ``ModelHandler``: explains batches of images with a run's methods and metrics.

    Elements are ``(index, uint8 image, label, mask)``; each result is ``(record, maps,
    seconds)``: the image's record (see :func:`tfattr.apps.evaluate.records`), its float16 maps per
    method, and its share of the batch's seconds per method.

    Args:
        config: the run settings.
        names: image names by index (image folders), or None.
    """

    def __init__(self, config: evaluate.RunConfig, names=None):
        super().__init__()
        self.config, self.names = config, names

    def load_model(self):
        return evaluate.BatchExplainer(_spec(self.config), self.config)

    def run_inference(self, batch, model, inference_args=None):
        import tensorflow as tf

        explainer = model
        spec = explainer.spec
        tick = time.perf_counter()
        indices = tf.constant([e[0] for e in batch], tf.int64)
        images = np.stack([e[1] for e in batch])
        labels = tf.constant([e[2] for e in batch], tf.int64)
        masks = np.stack([e[3] for e in batch])
        x = tf.cast(spec.preprocess(images), tf.float32)
        outputs = explainer(indices, x, labels, masks)
        outputs = {k: np.asarray(v) for k, v in outputs.items()}
        rows, maps = evaluate.records(spec, outputs, self.names)
        share = 1.0 / len(rows)
        seconds = {
            k.split("/", 1)[1]: float(v) * share
            for k, v in outputs.items()
            if k.startswith("seconds/")
        }
        seconds["*"] = (time.perf_counter() - tick) * share
        return [
            (row, {name: m[i] for name, m in maps.items()}, seconds) for i, row in enumerate(rows)
        ]

    def batch_elements_kwargs(self):
        size = self.config.batch_size
        return {"min_batch_size": size, "max_batch_size": size}


def _stats(result, label_offset: int) -> evaluate.Stats:
    row, _, seconds = result
    methods = {k: v for k, v in seconds.items() if k != "*"}
    return evaluate.Stats().add([row], methods, seconds["*"], label_offset)


def _merge(stats) -> evaluate.Stats:
    total = evaluate.Stats()
    for s in stats:
        total.merge(s)
    return total


def _map_example(result) -> bytes:
    row, maps, _ = result
    return evaluate.map_examples([row], {k: v[None] for k, v in maps.items()})[0]


def build(pipeline, config: evaluate.RunConfig, out, *, total: int, names=None,
          label_offset: int = 0, data_dir=None, download=True, block_size: int = BLOCK_SIZE):  # fmt: skip
    """Adds the evaluation to a Beam ``pipeline``; returns the combined-statistics PCollection.

    Args:
        pipeline: an ``apache_beam.Pipeline``.
        config: the run settings.
        out: the output folder (a local path or any filesystem Beam writes, e.g. ``gs://``).
        total: images in the dataset (after ``limit``).
        names: image names by index, or None.
        label_offset: the model's label offset.
        data_dir: TFDS data folder.
        download: whether TFDS may download.
        block_size: images per block (one block is read by one worker).
    """
    beam = _require_beam()
    from apache_beam.ml.inference.base import RunInference

    from tfattr.data.shards import share

    out = str(out).rstrip("/")
    count = max(1, math.ceil(total / block_size))
    blocks = [(b.start, b.stop) for b in (share(total, k, count) for k in range(count))]
    results = (
        pipeline
        | "Blocks" >> beam.Create(blocks)
        | "Spread" >> beam.Reshuffle()
        | "Read" >> beam.FlatMap(ReadBlock(config, data_dir, download))
        | "Explain" >> RunInference(ExplainModelHandler(config, names))
    )
    _ = (
        results
        | "Records" >> beam.Map(lambda r: r[0])
        | "WriteRecords"
        >> beam.io.WriteToParquet(
            f"{out}/records/beam/part",
            evaluate.record_schema(config),
            file_name_suffix=".parquet",
            codec="zstd",
        )
    )
    if config.save_maps:
        _ = (
            results
            | "Maps" >> beam.Map(_map_example)
            | "WriteMaps"
            >> beam.io.WriteToTFRecord(f"{out}/maps/beam/part", file_name_suffix=".tfrecord")
        )
    return (
        results
        | "Stats" >> beam.Map(_stats, label_offset)
        | "Merge" >> beam.CombineGlobally(_merge)
    )


def run(config: evaluate.RunConfig, out, *, data_dir=None, download=True, beam_args=(),
        block_size: int = BLOCK_SIZE) -> dict:  # fmt: skip
    """Runs the pipeline to completion and writes the summary.

    Args:
        config: the run settings (``shard`` is ignored: the runner splits the work).
        out: the output folder: a local path, or a URL the workers write (``gs://...``).
        data_dir: TFDS data folder.
        download: whether TFDS may download; False fails at once on unprepared data.
        beam_args: Beam pipeline options, e.g. ``["--runner=DataflowRunner", ...]``
            (default: the DirectRunner).
        block_size: images per block.

    Returns:
        The summary (as :func:`tfattr.apps.evaluate.summarize`).

    Raises:
        EvaluationSetupError: ``out`` holds another run, or records already.
    """
    beam = _require_beam()
    import tensorflow as tf
    from apache_beam.options.pipeline_options import PipelineOptions

    out = str(out).rstrip("/")
    _claim(out, config)
    spec = _spec(config)
    source = _source(config, spec, data_dir, download)
    if config.save_maps:
        content = {"methods": list(config.methods), "shape": list(spec.input_size)}
        evaluate.atomic_write(evaluate.join(out, "maps/spec.json"), json.dumps(content).encode())
    started = time.time()
    stats_file = evaluate.join(out, "stats.json")
    with beam.Pipeline(options=PipelineOptions(list(beam_args))) as pipeline:
        stats = build(pipeline, config, out, total=len(source), names=source.names,
                      label_offset=spec.label_offset, data_dir=data_dir, download=download,
                      block_size=block_size)  # fmt: skip
        _ = stats | "WriteStats" >> beam.Map(
            lambda s: evaluate.atomic_write(stats_file, s.to_json().encode())
        )
    with tf.io.gfile.GFile(str(stats_file), "rb") as f:
        merged = evaluate.Stats.from_json(f.read())
    run_info = {"run_id": config.run_id(), **config.identity()}
    summary = evaluate.summary_from_stats(
        merged, run_info, evaluate.parse_dataset(config.dataset).kind
    )
    summary["throughput"]["wall_seconds_this_job"] = time.time() - started
    evaluate.write_summary(out, summary)
    return summary


def _claim(out: str, config: evaluate.RunConfig) -> None:
    """Claims ``out`` for this run; refuses a folder that holds another run or records."""
    import tensorflow as tf

    if evaluate.is_remote(out):  # (no atomic exclusive create on object stores)
        run_file = evaluate.join(out, "run.json")
        identity = {"format": evaluate.FORMAT, "run_id": config.run_id(), **config.identity()}
        if tf.io.gfile.exists(run_file):
            with tf.io.gfile.GFile(run_file) as f:
                previous = json.load(f).get("run_id")
            if previous != identity["run_id"]:
                raise evaluate.EvaluationSetupError(
                    f"--out {out}: holds another run (run id {previous}); choose another --out"
                )
        else:
            evaluate.atomic_write(run_file, json.dumps(identity, indent=2).encode())
    else:
        evaluate.claim_folder(out, config)
    if tf.io.gfile.glob(str(evaluate.join(out, "records/*/*.parquet"))):
        raise evaluate.EvaluationSetupError(
            f"--out {out}: already holds records of this run; choose another --out"
        )


def main(argv=None) -> int:
    """``python -m tfattr.apps.beam``: the arguments of ``tfattr evaluate``; Beam options after
    ``--`` (or ``--beam-args``)."""
    from tfattr.apps.cli import main as cli_main

    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" in argv:
        cut = argv.index("--")
        argv = [*argv[:cut], "--beam-args", *argv[cut + 1 :]]
    return cli_main(["evaluate", "--runner", "beam", *argv])


if __name__ == "__main__":
    sys.exit(main())
