"""Runs every registered method on every model family buildable offline, small and random.

Each keras.applications family (its smallest variant, ``weights=None``), tiny KerasHub
classifiers (when ``keras-hub`` is installed) and a hand-built ViT-like token model are explained
by every method of ``tfattr.registry`` with light options (few steps and samples). A cell is
``ok`` (finite, not all zero; for a CAM whose map is all negative at random weights, ``ok`` with
that said), ``zero`` (finite but all zero), or the error's type and first line.

Usage:
    python scripts/model_method_matrix.py [--out matrix.json] [--only vgg16,keras_hub_vit]
    python scripts/model_method_matrix.py --table matrix.json   # the markdown table
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import keras
import numpy as np
import tensorflow as tf

from tfattr import models, registry

FAMILIES = {
    "gradient": [
        "saliency",
        "input_x_gradient",
        "integrated_gradients",
        "smoothgrad",
        "gradient_shap",
        "blur_integrated_gradients",
        "guided_integrated_gradients",
        "xrai",
    ],
    "cam": [
        "gradcam",
        "gradcam_plus_plus",
        "guided_gradcam",
        "layercam",
        "scorecam",
        "hirescam",
        "gradcam_elementwise",
        "xgradcam",
        "eigencam",
        "eigengradcam",
        "ablationcam",
        "fullgrad",
    ],
    "rule": ["deeplift", "deeplift_shap", "guided_backprop", "deconvolution", "lrp"],
    "perturbation": ["occlusion", "feature_ablation", "lime", "kernel_shap", "rise"],
}
LIGHT = {
    "steps": 4,
    "samples": 8,
    "n_segments": 8,
    "max_channels": 8,
    "max_steps": 9,
}
ZOO = [
    ("vgg16", 32),
    ("resnet50", 32),
    ("resnet50_v2", 32),
    ("inception_v3", 75),
    ("inception_resnet_v2", 75),
    ("xception", 71),
    ("mobilenet", 32),
    ("mobilenet_v2", 32),
    ("mobilenet_v3_small", 32),
    ("densenet121", 32),
    ("nasnet_mobile", 32),
    ("efficientnet_b0", 32),
    ("efficientnet_v2_b0", 32),
    ("convnext_tiny", 32),
]


TESTS = pathlib.Path(__file__).resolve().parents[1] / "tests"


def token_model():
    """The tests' one-block ViT: patch conv, tokens, class token, attention, class-token head."""
    sys.path.insert(0, str(TESTS / "methods"))
    from test_cam_tokens import token_model as build

    return build("class")


def keras_hub_models():
    try:
        import keras_hub
    except ImportError:
        return {}
    sys.path.insert(0, str(TESTS / "models"))
    import test_models_kerashub as hub_cases

    built = {f"keras_hub_{k}": v for k, v in hub_cases.CLASSIFIERS.items()}
    built["keras_hub_vit_gap"] = lambda: keras_hub.models.ViTImageClassifier(
        backbone=hub_cases._vit(use_class_token=False), num_classes=5, pooling="gap"
    )
    built["keras_hub_deit"] = lambda: keras_hub.models.DeiTImageClassifier(
        backbone=keras_hub.models.DeiTBackbone(
            image_shape=(32, 32, 3),
            patch_size=8,
            num_layers=2,
            num_heads=2,
            hidden_dim=16,
            intermediate_dim=32,
        ),
        num_classes=5,
    )
    return built


def cases(only):
    for name, size in sorted(ZOO, key=lambda case: only.index(case[0]) if case[0] in only else 0):
        if not only or name in only:
            yield name, lambda n=name, s=size: _zoo(n, s)
    for name, build in keras_hub_models().items():
        if not only or name in only:
            yield name, lambda b=build: (b(), 32)
    if not only or "token_model" in only:
        yield "token_model", lambda: (token_model(), 32)
    if not only or "saved_model" in only:
        yield "saved_model", _saved_model


def _saved_model():
    """A SavedModel (the zoo's MobileNet, exported): opaque, no layers to see."""
    import tempfile

    folder = pathlib.Path(tempfile.mkdtemp()) / "saved"
    models.load("mobilenet", weights=None, input_size=32, alpha=0.25, classes=10).model.export(
        str(folder), verbose=False
    )
    return models.load(str(folder), preprocess="tf"), 32


def _zoo(name, size):
    spec = models.load(name, weights=None, input_size=size, classes=10)
    return spec, size


def run_cell(model, method, x):
    entry = registry.resolve(method)
    options = entry.default_options(tuple(x.shape[1:3]))
    options.update({k: v for k, v in LIGHT.items() if k in entry.cls.defaults})
    try:
        out = entry.cls(model, batch_size=64, **options).explain(x, target=1)
    except Exception as error:  # every refusal and failure is a result here
        first = str(error).splitlines()[0] if str(error) else ""
        return f"{type(error).__name__}: {first}"
    out = out[0] if isinstance(out, tuple) else out
    values = np.asarray(out)
    if not np.isfinite(values).all():
        return "nonfinite"
    if np.abs(values).max() > 0:
        return "ok"
    if "relu" in entry.cls.defaults:  # a random model's map may be all negative
        signed = entry.cls(model, batch_size=64, **options, relu=False).explain(x, target=1)
        if np.abs(np.asarray(signed)).max() > 0:
            return "ok (all negative: zero after the ReLU)"
    return "zero"


def table(results: dict) -> str:
    """A markdown table: one row per model, one column per method family; a cell says how many
    methods gave a map and names the others, with notes [n] for the messages under it."""
    lines = [
        "| model | " + " | ".join(FAMILIES) + " |",
        "|---|" + "---|" * len(FAMILIES),
    ]
    notes: list[str] = []
    for name, row in results.items():
        cells = []
        for methods in FAMILIES.values():
            ran = [m for m in methods if row.get(m, "").startswith("ok")]
            other: dict[str, list[str]] = {}
            for m in methods:
                if m in row and m not in ran:  # one note for a message naming its method
                    message = row[m].replace(f"For {registry.resolve(m).class_name},", "For it,")
                    other.setdefault(message, []).append(m)
            parts = [f"{len(ran)}/{len(methods)}"]
            for result, names in other.items():
                if result not in ("zero", "nonfinite"):
                    if result not in notes:
                        notes.append(result)
                    result = f"[{notes.index(result) + 1}]"
                shown = (
                    "all others" if len(names) == len(methods) - len(ran) > 3 else ", ".join(names)
                )
                parts.append(f"{shown}: {result}")
            cells.append("; ".join(parts))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [""] + [f"[{i + 1}] {note}" for i, note in enumerate(notes)]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="model_method_matrix.json")
    parser.add_argument("--only", default="")
    parser.add_argument("--table", nargs="*", help="print the table of these result files")
    args = parser.parse_args(argv)
    if args.table is not None:
        merged = {}
        for path in args.table:
            merged.update(json.loads(pathlib.Path(path).read_text()))
        print(table(merged))
        return
    only = [n for n in args.only.split(",") if n]
    out = pathlib.Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    for name, build in cases(only):
        keras.utils.set_random_seed(0)
        start = time.time()
        model, size = build()
        rng = np.random.default_rng(0)
        images = rng.integers(0, 256, (1, size, size, 3)).astype("uint8")
        x = (
            model.preprocess(images)
            if hasattr(model, "preprocess")
            else tf.constant(images / 127.5 - 1.0, tf.float32)
        )
        row = {}
        for family, methods in FAMILIES.items():
            for method in methods:
                row[method] = run_cell(model, method, x)
                print(f"{name:24s} {family:12s} {method:28s} {row[method]}", flush=True)
        row["_seconds"] = round(time.time() - start, 1)
        results[name] = row
        out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
