"""``tfattr demo``: every method on the shapes test images, scored against the ground-truth masks.

The demo explains the *true* class of each test image with every registered method, plus a
random map as the floor any method must beat, and scores each method with:

- pointing game: share of images whose most attributed pixel lies on the shape (mask dilated
  by :data:`TOLERANCE` pixels); a random map scores about the shape's share of the image;
- mass in mask: share of the positive attribution inside the shape (energy-based pointing game);
- deletion AUC: mean probability of the true class as the most attributed pixels are replaced
  by a blurred copy (lower is better);
- insertion AUC: mean probability as those pixels are put back into a blurred copy (higher is
  better);
- seconds: wall-clock time of the explanation of all images (compilation included).

Outputs: ``report.html`` (the images, the masks and every method's map, with the table and what
each number means), ``report.json``, ``comparison.png`` (a grid of the first images) and
``metrics.json``.
"""

from __future__ import annotations

import html
import json
import pathlib
import time
import warnings

import numpy as np

from tfattr.apps.demo import shapes
from tfattr.apps.demo.model import load_spec
from tfattr.apps.progress import Progress
from tfattr.metrics import pointing_tolerance

TOLERANCE = pointing_tolerance((shapes.IMAGE_SIZE,) * 2)  # 3 px at 48 px, as evaluate uses
# Deleted pixels become a blurred copy: blacking out exactly the shape would leave its silhouette,
# which the model still recognises (a black deletion AUC hardly separates methods from noise here).
DELETION_BASELINE = "blur"
CURVE_STEPS = 16
ACCURACY_IMAGES = 1000
# Methods whose maps are (transformed) input gradients: the bar is to beat a random map.
GRADIENT_METHODS = (
    "saliency", "input_x_gradient", "integrated_gradients", "smoothgrad", "gradient_shap",
    "deeplift", "deeplift_shap", "guided_backprop", "blur_integrated_gradients",
    "guided_integrated_gradients",
)  # fmt: skip

DESCRIPTIONS = {
    "pointing_game": (
        "fraction of images whose most attributed pixel lies on the shape (mask dilated by "
        f"{TOLERANCE} px); higher is better"
    ),
    "mass_in_mask": (
        "mean share of the positive attribution that falls inside the shape (energy-based "
        "pointing game); higher is better"
    ),
    "deletion_auc": (
        "area under the true-class probability as the most attributed pixels are replaced by a "
        f"blurred copy (a black fill would keep the shape's silhouette), {CURVE_STEPS} steps; "
        "lower is better"
    ),
    "insertion_auc": (
        "area under the true-class probability as the most attributed pixels are inserted into "
        f"a blurred copy, {CURVE_STEPS} steps; higher is better"
    ),
    "seconds": "wall-clock seconds to explain all images, compilation included",
    "mask_fraction": "mean share of the image covered by the shape: a random map's expected score",
}


def run_demo(
    out="tfattr-demo",
    *,
    images: int = 24,
    methods=None,
    batch_size: int = 64,
    grid_images: int = 6,
    log=print,
    progress: bool = False,
) -> dict:
    """Runs the demo and writes its files into ``out``.

    Args:
        out: output folder (created).
        images: number of test images explained.
        methods: registry names (default: all registered methods).
        batch_size: rows per compiled call for explainers and metrics.
        grid_images: images shown in ``comparison.png``.
        log: function printing progress lines (``print``; a no-op to be quiet).
        progress: show a bar over the methods on a terminal (one line per method otherwise,
            through ``log``).

    Returns:
        The content of ``metrics.json``.
    """
    import tensorflow as tf

    from tfattr import metrics, registry, viz
    from tfattr.apps import report

    started = time.time()
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = load_spec()
    entries = registry.parse(methods or list(registry.METHODS))

    accuracy = _accuracy(spec, batch_size)
    log(f"model {spec.name}: test accuracy {accuracy:.1%} on {ACCURACY_IMAGES} images")
    display, labels, masks = shapes.make_dataset(images, shapes.TEST_SEED)
    x = tf.convert_to_tensor(spec.preprocess(display))
    targets = labels.astype(np.int32)

    maps, seconds, extras = {}, {}, {}
    bar = Progress(len(entries), "demo", unit="method", enabled=progress and _on_terminal())
    for entry in entries:
        explainer = registry.make(
            entry.name,
            spec.model,
            image_size=spec.input_size,
            batch_size=batch_size,
            cam_layer=spec.cam_layer,
        )
        tick = time.perf_counter()
        attr = explainer.explain(x, target=targets)
        seconds[entry.name] = time.perf_counter() - tick
        maps[entry.name] = np.asarray(attr)
        if bar.enabled:
            bar.update(1, step=entry.name)
        else:
            log(f"  {entry.name:<28} {seconds[entry.name]:6.2f} s")
    bar.close()
    # The floor: a map of uniform noise, fixed seed.
    maps["random"] = np.random.default_rng(0).random(masks.shape).astype(np.float32)
    seconds["random"] = 0.0
    extras["random"] = True

    rows = _score(metrics, spec, x, targets, masks, maps, seconds, batch_size)
    table = sorted(rows, key=lambda r: (-r["pointing_game"], -r["mass_in_mask"], r["method"]))
    random_row = next(r for r in rows if r["method"] == "random")
    checks = {
        r["method"]: {
            "beats_random_pointing_game": r["pointing_game"] > random_row["pointing_game"],
            "beats_random_mass_in_mask": r["mass_in_mask"] > random_row["mass_in_mask"],
        }
        for r in rows
        if r["method"] in GRADIENT_METHODS
    }
    result = {
        "format": "tfattr.demo/1",
        "model": {
            "name": spec.name,
            "classes": list(shapes.CLASSES),
            "image_size": list(spec.input_size),
            "test_accuracy": accuracy,
            "test_images": ACCURACY_IMAGES,
        },
        "images": images,
        "target": "the true class of each image",
        "pointing_tolerance_px": TOLERANCE,
        "curve_steps": CURVE_STEPS,
        "mask_fraction": float(masks.mean()),
        "descriptions": DESCRIPTIONS,
        "methods": table,
        "gradient_methods_beat_random": checks,
        "options": {e.name: _jsonable(e.default_options(spec.input_size)) for e in entries},
    }

    class_names = [shapes.CLASSES[t] for t in targets]
    grid = viz.compare(
        display[:grid_images],
        {
            "ground-truth mask": masks[:grid_images].astype(np.float32),
            **{name: maps[name][:grid_images] for name in maps if name != "random"},
        },
        row_titles=[f"{i + 1}. {name}" for i, name in enumerate(class_names[:grid_images])],
        kinds={"ground-truth mask": "region"},
        use_pyplot=False,
    )[0]
    viz.save(grid, out / "comparison.png", dpi=80)

    page = report.Report(
        title="tfattr demo: attribution methods on shapes with known evidence",
        class_names=spec.class_names,
        deprocess="unit",
        top_k=len(shapes.CLASSES),
        metadata={
            "model": f"{spec.name}, test accuracy {accuracy:.1%} on {ACCURACY_IMAGES} images",
            "target": result["target"],
            "first panel": "the ground-truth mask: the only evidence for the class",
        },
        panel_px=136,
    )
    page.add_section("Ranking", _summary_html(result))
    probabilities = tf.nn.softmax(spec.model(x, training=False)).numpy()
    page.add(
        x,
        {"ground-truth mask": masks.astype(np.float32), **maps},
        predictions=probabilities,
        targets=targets,
        labels=labels,
        names=[f"{name} (test image {i + 1})" for i, name in enumerate(class_names)],
        display=display,
        seconds={name: seconds[name] for name in maps},
    )
    page.write(out)
    result["seconds_total"] = round(time.time() - started, 1)
    (out / "metrics.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def _accuracy(spec, batch_size: int) -> float:
    images, labels, _ = shapes.make_dataset(ACCURACY_IMAGES, shapes.TEST_SEED)
    scores = spec.model.predict(spec.preprocess(images), batch_size=256, verbose=0)
    return float(np.mean(np.argmax(scores, axis=-1) == labels))


def _score(metrics, spec, x, targets, masks, maps, seconds, batch_size) -> list[dict]:
    """Per-method mask and curve metrics; the curves of all methods run as one batch."""
    names = list(maps)
    n = len(targets)
    # Channel-summed maps, as the metrics reduce pixel attributions themselves.
    reduced = [metrics.attribution_maps(maps[name], x) for name in names]
    stacked = np.concatenate(reduced)
    tiled = np.concatenate([x.numpy()] * len(names))
    tiled_targets = np.tile(targets, len(names))
    deletion = metrics.deletion(
        spec.model,
        tiled,
        stacked,
        tiled_targets,
        steps=CURVE_STEPS,
        baseline=DELETION_BASELINE,
        batch_size=4 * batch_size,
    ).auc.reshape(len(names), n)
    insertion = metrics.insertion(
        spec.model, tiled, stacked, tiled_targets, steps=CURVE_STEPS, batch_size=4 * batch_size
    ).auc.reshape(len(names), n)
    rows = []
    for k, name in enumerate(names):
        with warnings.catch_warnings():  # maps without positive mass score NaN, left out
            warnings.simplefilter("ignore", RuntimeWarning)
            pointing = metrics.pointing_game(reduced[k], masks, tolerance=TOLERANCE)
        rows.append(
            {
                "method": name,
                "pointing_game": float(pointing.accuracy),
                "mass_in_mask": float(np.nanmean(pointing.energy)),
                "deletion_auc": float(deletion[k].mean()),
                "insertion_auc": float(insertion[k].mean()),
                "seconds": round(float(seconds[name]), 3),
            }
        )
    return rows


def format_table(result: dict) -> str:
    """The ranking as a fixed-width text table."""
    header = (
        f"{'rank':>4}  {'method':<28} {'pointing':>8} {'in-mask':>8} {'deletion':>9} "
        f"{'insertion':>9} {'seconds':>8}"
    )
    lines = [header, "-" * len(header)]
    for rank, row in enumerate(result["methods"], 1):
        lines.append(
            f"{rank:>4}  {row['method']:<28} {row['pointing_game']:>8.3f} "
            f"{row['mass_in_mask']:>8.3f} {row['deletion_auc']:>9.3f} "
            f"{row['insertion_auc']:>9.3f} {row['seconds']:>8.2f}"
        )
    lines.append(
        f"pointing: top pixel on the shape (+{result['pointing_tolerance_px']} px); in-mask: share "
        f"of positive attribution on the shape (shape covers {result['mask_fraction']:.1%} of the "
        f"image); deletion (lower is better) / insertion (higher is better): AUC of the true-class "
        f"probability; seconds: explaining {result['images']} images."
    )
    return "\n".join(lines)


def _summary_html(result: dict) -> str:
    esc = html.escape
    columns = ("pointing_game", "mass_in_mask", "deletion_auc", "insertion_auc", "seconds")
    head = "".join(f"<th>{esc(c)}</th>" for c in ("rank", "method", *columns))
    body = "".join(
        "<tr>"
        + f"<td>{rank}</td><td>{esc(row['method'])}</td>"
        + "".join(f"<td>{row[c]:.3f}</td>" for c in columns)
        + "</tr>"
        for rank, row in enumerate(result["methods"], 1)
    )
    meaning = "".join(
        f"<li><b>{esc(k)}</b>: {esc(v)}</li>" for k, v in result["descriptions"].items()
    )
    model = result["model"]
    return (
        f"<p>Model {esc(model['name'])}, test accuracy "
        f"{model['test_accuracy']:.1%} on {model['test_images']} generated images; "
        f"{result['images']} test images explained for their true class. The shape covers "
        f"{result['mask_fraction']:.1%} of each image on average; <i>random</i> is a map of "
        f"uniform noise, the floor every method should beat.</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"<h3>What the numbers mean</h3><ul>{meaning}</ul>"
    )


def _on_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


def _jsonable(options: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items()}
