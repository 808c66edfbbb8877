"""The ``tfattr`` command: ``demo``, ``explain`` and ``evaluate``.

Bad arguments (an unknown method, model or dataset, an unreadable image, a bad target) exit with
status 2 and one line on stderr; ``--verbose`` adds the traceback. Failures while computing exit
with status 1.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import pathlib
import sys
import time
import traceback

PROG = "tfattr"
DEFAULT_METHODS = "saliency,integrated_gradients,smoothgrad,gradcam"
DEMO_MODEL = "shapes_cnn"


class UsageError(Exception):
    """A bad command-line argument: exit status 2, one line, no traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (argparse prints the whole usage first)."""

    def error(self, message):
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


# ------------------------------------------------------------------------------------------
# Parsers

EXPLAIN_EXAMPLES = """examples:
  tfattr explain cat.jpg --model mobilenet_v2
  tfattr explain photos/*.jpg --model resnet50 --methods ig,gradcam --target tabby --out out/
  tfattr explain img.png --model ../imagenet_assets/mobilenet_2_5_128_tf.h5 --target 281
  tfattr explain img.png --model https://tfhub.dev/google/imagenet/inception_v1/classification/4
  tfattr explain img.png --model model.keras --set integrated_gradients.steps=64
  tfattr explain --list-methods
  tfattr explain --list-models
"""

EVALUATE_EXAMPLES = """examples:
  tfattr evaluate --model resnet50 --dataset imagenet_a --methods saliency,gradcam --limit 500
  tfattr evaluate --model model.keras --dataset folder:photos/ --metrics deletion,insertion
  tfattr evaluate --model mobilenet_v2 --dataset tfds:imagenette/160px:validation --limit 1000
  tfattr evaluate --model shapes_cnn --dataset shapes --metrics pointing_game,mass_in_mask
  # one of 4 independent jobs on a batch scheduler, resumable after a kill:
  tfattr evaluate --model resnet50 --dataset imagenet_a --shard 2/4 --out run/ --resume
  # every worker of a cluster described by TF_CONFIG runs the same command:
  tfattr evaluate --model resnet50 --dataset imagenet_a --strategy multiworker --out shared/run
  # many machines, with Apache Beam (pip install 'tfattr[beam]'):
  tfattr evaluate --model resnet50 --dataset tfds:imagenet2012:validation --data-dir gs://b/tfds \\
      --out gs://b/run --runner beam --beam-args --runner=DataflowRunner --project=P --region=R \\
      --temp_location=gs://b/tmp

results: <out>/records/**/*.parquet (per-image records; pyarrow.parquet.read_table("<out>/records")),
summary.json, summary.csv, summary.png; --save-maps adds <out>/maps/**/*.tfrecord
(tfattr.apps.evaluate.read_maps("<out>")). One run per --out: another run there is refused.
"""

DEMO_EXAMPLES = """examples:
  tfattr demo                      # all methods on 24 shapes, files in ./tfattr-demo
  tfattr demo --out /tmp/demo --images 48 --methods saliency,gradcam

The demo model (a 75k-parameter CNN, weights shipped in the package) was trained by
`python -m tfattr.apps.demo.train` on procedurally generated shapes whose masks are the ground
truth evidence; no download is needed.
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``tfattr`` argument parser with its three commands."""
    from tfattr import __version__

    parser = _Parser(
        prog=PROG,
        description="Attribution maps for TensorFlow/Keras image classifiers.",
        epilog="run `tfattr COMMAND --help` for the options and examples of each command.",
        formatter_class=_formatter,
    )
    parser.add_argument("--version", action="version", version=f"tfattr {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    common = _Parser(add_help=False)
    common.add_argument("--verbose", action="store_true", help="full tracebacks and TF logs")
    common.add_argument("--quiet", action="store_true", help="no progress output")

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="offline demo: every method on shapes with ground-truth masks",
        description="Run every method on procedurally generated shapes with known evidence "
        "masks and rank them (report.html, comparison.png, metrics.json).",
        epilog=DEMO_EXAMPLES,
        formatter_class=_formatter,
    )
    demo.add_argument("--out", default="tfattr-demo", help="output folder (default: %(default)s)")
    demo.add_argument("--images", type=_positive_int, default=24, help="test images (24)")
    demo.add_argument("--methods", default="all", help="comma-separated methods (all)")
    demo.add_argument("--batch-size", type=_positive_int, default=64, help="rows per call (64)")

    explain = commands.add_parser(
        "explain",
        parents=[common],
        help="explain images with several methods; report, figures and JSON",
        description="Explain one or more images: top-k predictions, one comparison figure per "
        "image, report.html and explain.json (predictions, targets, method options, timings, "
        "convergence deltas).",
        epilog=EXPLAIN_EXAMPLES,
        formatter_class=_formatter,
    )
    explain.add_argument("images", nargs="*", metavar="IMAGE", help="image files or folders")
    _model_arguments(explain)
    explain.add_argument(
        "--methods", default=DEFAULT_METHODS, help="comma-separated (default: %(default)s)"
    )
    explain.add_argument(
        "--target",
        default="top",
        help="top (each image's top class), a class index, or a class name (default: top)",
    )
    explain.add_argument("--top-k", type=_positive_int, default=5, help="predictions listed (5)")
    explain.add_argument("--out", default="tfattr-explain", help="output folder")
    explain.add_argument("--batch-size", type=_positive_int, default=32, help="rows per call (32)")
    explain.add_argument("--resize", choices=("crop", "pad", "stretch"), default="crop")
    explain.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="METHOD.OPTION=VALUE",
        help="method option, e.g. integrated_gradients.steps=64 (repeatable)",
    )
    explain.add_argument("--list-methods", action="store_true", help="list methods and exit")
    explain.add_argument("--list-models", action="store_true", help="list models and exit")

    evaluate = commands.add_parser(
        "evaluate",
        parents=[common],
        help="dataset-scale evaluation of methods (tf.distribute, resumable)",
        description="Explain a dataset with several methods and score them with faithfulness "
        "metrics, batch by batch, on a tf.distribute strategy.",
        epilog=EVALUATE_EXAMPLES,
        formatter_class=_formatter,
    )
    _model_arguments(evaluate)
    evaluate.add_argument(
        "--dataset",
        required=False,
        help="imagenet_a | tfds:NAME[:SPLIT] | folder:PATH | shapes",
    )
    evaluate.add_argument("--data-dir", default=None, help="TFDS data folder")
    evaluate.add_argument(
        "--no-download", action="store_true", help="TFDS: use the prepared data only"
    )
    evaluate.add_argument("--methods", default="saliency,integrated_gradients,gradcam")
    evaluate.add_argument(
        "--metrics",
        default="deletion,insertion",
        help="deletion,insertion,pointing_game,"
        "mass_in_mask (the last two need masks: --dataset shapes), or none",
    )
    evaluate.add_argument(
        "--target",
        choices=("top", "label"),
        default="top",
        help="explain the predicted class (top) or the label",
    )
    evaluate.add_argument("--limit", type=_positive_int, default=None, help="first N images")
    evaluate.add_argument("--batch-size", type=_positive_int, default=16, help="images per batch")
    evaluate.add_argument(
        "--steps", type=_positive_int, default=20, help="deletion/insertion steps (20)"
    )
    evaluate.add_argument(
        "--strategy",
        choices=("auto", "default", "mirrored", "multiworker", "tpu"),
        default="auto",
    )
    evaluate.add_argument("--out", default="tfattr-evaluate", help="output folder")
    evaluate.add_argument("--resume", action="store_true", help="complete an interrupted run")
    evaluate.add_argument(
        "--skip-bad",
        action="store_true",
        help="leave out unreadable images of a folder (listed and counted in the summary); "
        "without it they stop the run before any work",
    )
    evaluate.add_argument("--shard", default=None, metavar="i/n", help="this job's share i of n")
    evaluate.add_argument(
        "--save-maps", action="store_true", help="also save the maps (TFRecord, float16)"
    )
    evaluate.add_argument(
        "--records-per-file",
        type=_positive_int,
        default=1024,
        help="images per records file: a killed job redoes at most this many (1024)",
    )
    evaluate.add_argument(
        "--runner",
        choices=("local", "beam"),
        default="local",
        help="local: tf.distribute on this machine; beam: the Apache Beam pipeline "
        "(tfattr[beam]; runner options after --beam-args)",
    )
    evaluate.add_argument(
        "--beam-args",
        nargs=argparse.REMAINDER,
        default=[],
        help="Beam pipeline options, e.g. --runner=DataflowRunner --project=P (last)",
    )
    evaluate.add_argument("--resize", choices=("crop", "pad", "stretch"), default="crop")
    evaluate.add_argument(
        "--cpu-devices",
        type=_positive_int,
        default=None,
        help="split the CPU into N logical devices (to run mirrored replicas without GPUs)",
    )
    evaluate.add_argument("--list-methods", action="store_true", help="list methods and exit")
    evaluate.add_argument("--list-models", action="store_true", help="list models and exit")
    return parser


def _model_arguments(parser) -> None:
    parser.add_argument(
        "--model",
        default=None,
        help="a preset (--list-models), a .keras/.h5 file, a SavedModel folder or a TF-Hub handle",
    )
    parser.add_argument(
        "--weights",
        default="imagenet",
        help="for presets: imagenet (download), none, or a weight file (default: imagenet)",
    )
    parser.add_argument(
        "--model-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="keras.applications constructor option, repeatable (e.g. alpha=0.75, classes=10)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


# ------------------------------------------------------------------------------------------
# Entry point


def main(argv=None) -> int:
    """Runs the command line; returns the exit status (0 ok, 1 failure, 2 bad arguments)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in argv
    if not verbose:  # before anything imports TensorFlow (building the parser imports tfattr)
        _start_tensorflow_quietly()
    try:
        args = build_parser().parse_args(argv)
        if args.command is None:
            build_parser().print_help()
            return 2
        _quiet_libraries(args.verbose)
        return {"demo": cmd_demo, "explain": cmd_explain, "evaluate": cmd_evaluate}[args.command](
            args
        )
    except UsageError as error:
        return _fail(error, 2, verbose)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a failure while computing: one line unless --verbose
        return _fail(error, 1, verbose, prefix=f"{type(error).__name__}: ")


def _fail(error, code: int, verbose: bool, prefix: str = "") -> int:
    if verbose:
        traceback.print_exc()
    message = " ".join(str(error).split()) or type(error).__name__
    print(f"{PROG}: error: {prefix}{message}", file=sys.stderr)
    return code


def _start_tensorflow_quietly() -> None:
    """Imports TensorFlow with its start-up lines hidden (shown again if the import fails).

    TensorFlow's C++ side prints oneDNN, CUDA-driver and CPU-feature lines while it loads, some
    before ``TF_CPP_MIN_LOG_LEVEL`` is read; they go to file descriptor 2, so only a redirection
    of that descriptor keeps them from the user. ``--verbose`` skips this.
    """
    if "tensorflow" in sys.modules:
        return
    import tempfile

    # 3 also hides the "failed call to cuInit" error that machines without a GPU print.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    _quiet_libraries(False)


def _quiet_libraries(verbose: bool) -> None:
    import logging
    import warnings

    if verbose:
        return
    # TensorFlow reads this once, when it starts: tfattr imports it lazily, after this point.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=UserWarning)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass


def _user_errors():
    """Exception types that mean "the user's input is wrong" while resolving arguments."""
    from tfattr.errors import TfattrError

    return (ValueError, TypeError, OSError, KeyError, TfattrError)


# ------------------------------------------------------------------------------------------
# Listing


def list_methods() -> str:
    """The ``--list-methods`` text."""
    from tfattr import registry

    lines = ["methods (name: what it computes [default options]):"]
    for entry in registry.METHODS.values():
        flags = []
        if entry.cam:
            flags.append("CAM map")
        if entry.needs_layers:
            flags.append("needs the model's layers")
        options = ", ".join(f"{k}={v!r}" for k, v in entry.options.items())
        if entry.sized_options is not None:
            options = (options + ", " if options else "") + "window/stride from the image size"
        extra = f" ({'; '.join(flags)})" if flags else ""
        lines.append(f"  {entry.name:<28} {entry.summary}{extra} [{options or 'no options'}]")
    aliases = ", ".join(f"{k}={v}" for k, v in registry.ALIASES.items())
    lines.append(f"aliases: {aliases}; 'all' selects every method.")
    return "\n".join(lines)


def list_models() -> str:
    """The ``--list-models`` text."""
    from tfattr.models import HUB_PRESETS, KERAS_PRESETS

    lines = ["models:"]
    for name, preset in KERAS_PRESETS.items():
        lines.append(
            f"  {name:<14} keras.applications.{preset.constructor}, {preset.input_size} px, "
            f"ImageNet weights downloaded by Keras (offline: --weights FILE)"
        )
    for name, (handle, _, size) in HUB_PRESETS.items():
        lines.append(f"  {name:<14} TF-Hub {handle}, {size} px, 1001 classes (opaque)")
    lines.append(
        f"  {DEMO_MODEL:<14} the demo's CNN on 48 px shapes (circle, square, triangle, cross), "
        f"shipped with tfattr"
    )
    lines.append(
        "also: a path to a .keras/.h5 model, a keras.applications .h5 weight file, a SavedModel "
        "folder, or a TF-Hub handle (https://tfhub.dev/... or publisher/model/version)."
    )
    return "\n".join(lines)


def _listing(args) -> bool:
    if args.list_methods:
        print(list_methods())
    if args.list_models:
        print(list_models())
    return bool(args.list_methods or args.list_models)


# ------------------------------------------------------------------------------------------
# Shared resolution of arguments (each raises UsageError)


def parse_model_options(texts) -> dict:
    """``--model-option NAME=VALUE`` -> ``{name: value}``; values read as Python literals.

    ``alpha=0.75`` -> 0.75, ``classes=10`` -> 10, ``minimalistic=True`` -> True; anything else
    stays a string (``pooling=avg``).
    """
    import ast

    options = {}
    for text in texts or ():
        name, sep, value = text.partition("=")
        if not sep or not name.strip().isidentifier():
            raise UsageError(f"--model-option: expected NAME=VALUE (e.g. alpha=0.75), got {text!r}")
        try:
            options[name.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            options[name.strip()] = value.strip()
    return options


def load_model(name: str | None, weights: str = "imagenet", options=None):
    """A ModelSpec for ``--model`` (presets, paths, handles, and the demo's ``shapes_cnn``)."""
    if not name:
        raise UsageError("--model is required (see --list-models)")
    if name.lower() in (DEMO_MODEL, "demo", "shapes"):
        from tfattr.apps.demo.model import load_spec

        return load_spec()
    from tfattr.models import load

    if isinstance(weights, str) and weights.lower() == "none":
        weights = None
    try:
        return load(name, weights=weights, **parse_model_options(options))
    except _user_errors() as error:
        raise UsageError(f"--model {name}: {error}") from error


def parse_methods(text: str, spec=None):
    """Registry entries for ``--methods``, refusing layer methods on opaque models."""
    from tfattr import registry

    try:
        entries = registry.parse(text)
    except ValueError as error:
        raise UsageError(f"--methods: {error}") from error
    if spec is not None and spec.opaque:
        refused = [e.name for e in entries if e.needs_layers]
        if refused:
            raise UsageError(
                f"--methods: {', '.join(refused)} need the model's layers, which {spec.name} "
                f"(a SavedModel / TF-Hub model) does not expose; use gradient methods "
                f"(saliency, integrated_gradients, smoothgrad, gradient_shap, occlusion)"
            )
    return entries


def parse_target(text: str, spec):
    """``--target``: None for ``top``, else a model output index (by index or name)."""
    if text is None or text.strip().lower() == "top":
        return None
    value = text.strip()
    try:
        target = int(value) if value.lstrip("-").isdigit() else value
        return spec.class_id(target)
    except (ValueError, TypeError) as error:
        raise UsageError(f"--target {text}: {error}") from error


def parse_settings(items, entries) -> dict[str, dict]:
    """``--set method.option=value`` into ``{method: {option: value}}`` (values as literals)."""
    from tfattr import registry

    settings: dict[str, dict] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        method, dot, option = key.partition(".")
        if not sep or not dot or not option:
            raise UsageError(f"--set {item}: expected METHOD.OPTION=VALUE")
        try:
            entry = registry.resolve(method)
        except ValueError as error:
            raise UsageError(f"--set {item}: {error}") from error
        if entry not in entries:
            raise UsageError(f"--set {item}: {entry.name} is not among --methods")
        if option not in entry.cls.defaults:
            raise UsageError(
                f"--set {item}: {entry.name} has no option {option!r}; its options: "
                f"{', '.join(sorted(entry.cls.defaults))}"
            )
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw  # a bare word, e.g. a layer name or "blur"
        settings.setdefault(entry.name, {})[option] = value
    return settings


def _image_paths(items) -> list[pathlib.Path]:
    from tfattr.data.images import IMAGE_SUFFIXES

    paths = []
    for item in items:
        path = pathlib.Path(item)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise UsageError(
                    f"{item}: the folder holds no images ({', '.join(IMAGE_SUFFIXES)})"
                )
            paths.extend(found)
        elif path.is_file():
            paths.append(path)
        else:
            raise UsageError(f"{item}: no such image file")
    return paths


# ------------------------------------------------------------------------------------------
# demo


def cmd_demo(args) -> int:
    from tfattr.apps.demo.run import format_table, run_demo

    parse_methods(args.methods)
    log = (lambda *a, **k: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    started = time.time()
    result = run_demo(
        args.out,
        images=args.images,
        methods=None if args.methods.strip().lower() == "all" else args.methods,
        batch_size=args.batch_size,
        log=log,
        progress=not args.quiet,
    )
    print(format_table(result))
    print(
        f"model test accuracy {result['model']['test_accuracy']:.1%}; wrote "
        f"{pathlib.Path(args.out) / 'report.html'}, comparison.png, metrics.json "
        f"in {time.time() - started:.0f} s"
    )
    return 0


# ------------------------------------------------------------------------------------------
# explain


def _check_out(folder, figures: int) -> None:
    """The output folder is usable (writable, with room for the figures) before any work."""
    from tfattr.core.outputs import DEFAULT_NEEDED_BYTES, check_output_dir

    try:  # (a comparison figure is ~0.5 MiB)
        check_output_dir(
            folder, needed_bytes=DEFAULT_NEEDED_BYTES + figures * (1 << 20), name="--out"
        )
    except ValueError as error:
        raise UsageError(str(error)) from None


def cmd_explain(args) -> int:
    if _listing(args):
        return 0
    if not args.images:
        raise UsageError("give at least one IMAGE (or --list-methods / --list-models)")
    paths = _image_paths(args.images)
    entries = parse_methods(args.methods)
    settings = parse_settings(args.set, entries)
    _check_out(args.out, figures=len(paths))
    spec = load_model(args.model, args.weights, args.model_option)
    entries = parse_methods(args.methods, spec)
    target = parse_target(args.target, spec)

    import numpy as np
    import tensorflow as tf

    from tfattr import registry, viz
    from tfattr.apps import report
    from tfattr.apps.progress import Progress
    from tfattr.core.adapter import ModelAdapter
    from tfattr.data import load_image

    display = []
    for path in paths:
        try:
            display.append(load_image(path, spec.input_size, resize=args.resize).numpy())
        except ValueError as error:
            raise UsageError(f"{path}: {error}") from error
    display = np.stack(display)
    x = tf.convert_to_tensor(spec.preprocess(display), tf.float32)

    try:
        explainers = {
            e.name: registry.make(
                e.name,
                spec.model,
                image_size=spec.input_size,
                batch_size=args.batch_size,
                cam_layer=spec.cam_layer,
                **settings.get(e.name, {}),
            )
            for e in entries
        }
    except _user_errors() as error:
        raise UsageError(f"--set: {error}") from error
    probabilities = ModelAdapter(spec.model, output="probabilities")(x).numpy()
    top = spec.decode(probabilities, top=min(args.top_k, spec.num_classes))
    targets = [t[0][0] for t in top] if target is None else [target] * len(paths)
    n = len(paths)

    maps, seconds, deltas, steps = {}, {}, {}, {}
    progress = Progress(len(explainers) * n, "explain", unit="img", enabled=not args.quiet)
    for name, explainer in explainers.items():
        parts, part_deltas, part_steps = [], [], []
        adaptive = explainer.options.get("steps") == "auto" and "return_steps" in explainer.defaults
        tick = time.perf_counter()
        # Chunks of images, so that a long method (XRAI over many photos) reports progress.
        for start in range(0, n, args.batch_size):
            chunk = x[start : start + args.batch_size]
            chunk_targets = targets[start : start + args.batch_size]
            if adaptive:  # IG to a tolerance: the steps each image needed
                attr, delta, used = explainer.explain(
                    chunk, target=chunk_targets, return_convergence_delta=True, return_steps=True
                )
                part_deltas.append(np.asarray(delta, np.float64).reshape(-1))
                part_steps.append(np.asarray(used).reshape(len(chunk_targets), -1).sum(axis=1))
            elif "return_convergence_delta" in explainer.defaults:
                attr, delta = explainer.explain(
                    chunk, target=chunk_targets, return_convergence_delta=True
                )
                part_deltas.append(np.asarray(delta, np.float64).reshape(-1))
            else:
                attr = explainer.explain(chunk, target=chunk_targets)
            parts.append(np.asarray(attr))
            progress.update(len(chunk_targets), step=name)
        seconds[name] = round(time.perf_counter() - tick, 4)
        maps[name] = np.concatenate(parts)
        if part_deltas:
            deltas[name] = [float(d) for d in np.concatenate(part_deltas)]
        if part_steps:
            steps[name] = [int(k) for k in np.concatenate(part_steps)]
    progress.close()

    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    names = spec.class_names
    figures = []
    progress = Progress(n, "figures", unit="img", enabled=not args.quiet)
    for i, path in enumerate(paths):
        label = names[targets[i]].replace("_", " ") if names else f"class {targets[i]}"
        fig, _ = viz.compare(
            display[i],
            {name: m[i] for name, m in maps.items()},
            row_titles=[label],
            use_pyplot=False,
        )
        figure = out / f"{i:03d}_{path.stem}_comparison.png"
        viz.save(fig, figure, dpi=90)
        figures.append(figure.name)
        progress.update(1, step=path.name)
    progress.close()

    page = report.Report(
        title=f"tfattr explain: {pathlib.Path(spec.name).name}",
        spec=spec,
        deprocess=None,
        top_k=args.top_k,
        metadata=_explain_facts(spec, target, explainers),
    )
    page.add(
        x,
        maps,
        predictions=probabilities,
        targets=targets,
        names=[p.name for p in paths],
        display=display,
        deltas=deltas,
        seconds=seconds,
        steps=steps,
    )
    page.write(out)

    summary = {
        "format": "tfattr.explain/1",
        "model": {
            "name": spec.name,
            "input_size": list(spec.input_size),
            "num_classes": spec.num_classes,
            "label_offset": spec.label_offset,
        },
        "target": args.target,
        "methods": {
            name: {
                "class": type(explainers[name]).__name__,
                "options": _jsonable(explainers[name].options),
                "seconds": seconds[name],
                **({"convergence_delta": deltas[name]} if name in deltas else {}),
                **({"steps": steps[name]} if name in steps else {}),
            }
            for name in maps
        },
        "images": [
            {
                "path": str(path),
                "predictions": [
                    {"class": int(c), "name": n, "probability": float(s)} for c, n, s in top[i]
                ],
                "target": int(targets[i]),
                "target_name": spec.class_names[targets[i]] if spec.class_names else None,
                "figure": figures[i],
                **{f"convergence_delta_{name}": deltas[name][i] for name in deltas},
            }
            for i, path in enumerate(paths)
        ],
    }
    (out / "explain.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    if not args.quiet:
        for i, path in enumerate(paths):
            best = ", ".join(f"{n} {s:.1%}" for _, n, s in top[i][:3])
            print(f"{path.name}: {best}")
        print(f"wrote {out / 'report.html'}, {out / 'explain.json'} and {len(figures)} figures")
    return 0


def _explain_facts(spec, target, explainers) -> dict:
    """The report's header: the model and settings, as words."""
    height, width = spec.input_size
    preprocess = getattr(getattr(spec, "preprocess", None), "mode", None)
    if target is None:
        target = "each image's top class"
    else:
        name = spec.class_names[target] if spec.class_names else None
        target = f"{name} ({target})" if name else str(target)
    options = {
        name: ", ".join(f"{k}={v}" for k, v in _jsonable(e.options).items() if v is not None)
        or "defaults"
        for name, e in explainers.items()
    }
    return {
        "model": spec.name,
        "input": f"{height} × {width} px" + (f", {preprocess} preprocessing" if preprocess else ""),
        "classes": spec.num_classes,
        "target": target,
        "methods": options,
    }


def _jsonable(options: dict) -> dict:
    def convert(value):
        if isinstance(value, tuple | list):
            return [convert(v) for v in value]
        if isinstance(value, str | int | float | bool) or value is None:
            return value
        if hasattr(value, "shape"):
            return f"<array {tuple(value.shape)}>"
        return getattr(value, "name", repr(value))

    return {k: convert(v) for k, v in options.items()}


# ------------------------------------------------------------------------------------------
# evaluate


def cmd_evaluate(args) -> int:
    if args.cpu_devices:
        _split_cpu(args.cpu_devices)
    if _listing(args):
        return 0
    from tfattr.apps import evaluate

    try:
        shard = evaluate.parse_shard(args.shard)
        metric_names = evaluate.parse_metrics(args.metrics)
        dataset = evaluate.parse_dataset(args.dataset)
    except ValueError as error:
        raise UsageError(str(error)) from error
    entries = parse_methods(args.methods)
    if not args.model:
        raise UsageError("--model is required (see --list-models)")
    if not evaluate.is_remote(args.out):  # local: writable, with room, before any work
        _check_out(args.out, figures=0)
    config = evaluate.RunConfig(
        model=args.model,
        weights=args.weights,
        dataset=args.dataset,
        methods=[e.name for e in entries],
        metrics=metric_names,
        target=args.target,
        limit=args.limit,
        batch_size=args.batch_size,
        steps=args.steps,
        shard=shard,
        resize=args.resize,
        save_maps=args.save_maps,
        skip_bad=args.skip_bad,
    )
    if args.runner == "beam":
        from tfattr.apps import beam

        try:
            summary = beam.run(config, args.out, data_dir=args.data_dir,
                               download=not args.no_download, beam_args=args.beam_args)  # fmt: skip
        except evaluate.EvaluationSetupError as error:
            raise UsageError(str(error)) from error
        if not args.quiet:
            print(evaluate.format_summary(summary))
        return 0
    # Multi-worker collectives must be configured before TensorFlow initialises: the strategy
    # comes before the model. The folder is claimed before any work (model, data).
    try:
        strategy = evaluate.make_strategy(args.strategy)
        job = evaluate.Evaluation(
            dataset,
            config,
            args.out,
            strategy=strategy,
            resume=args.resume,
            records_per_file=args.records_per_file,
            progress=not args.quiet,
        )
    except evaluate.EvaluationSetupError as error:
        raise UsageError(str(error)) from error
    try:
        with strategy.scope():  # the model's variables mirrored on the replicas' devices
            spec = load_model(args.model, args.weights, args.model_option)
        parse_methods(args.methods, spec)
        summary = job.run(spec, data_dir=args.data_dir, download=not args.no_download)
    except evaluate.EvaluationSetupError as error:  # e.g. TFDS data not prepared
        raise UsageError(str(error)) from error
    finally:
        job.folder.release()
    if summary is not None and not args.quiet:
        print(evaluate.format_summary(summary))
    return 0


def _split_cpu(count: int) -> None:
    """Splits the physical CPU into `count` logical devices (before TF initialises)."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
        )
    except RuntimeError as error:
        raise UsageError(f"--cpu-devices: {error}") from error


if __name__ == "__main__":
    sys.exit(main())
