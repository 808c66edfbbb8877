"""Reports: a self-contained HTML page (images embedded as base64 PNG) and a JSON summary.

This is the output format of the ``tfattr explain`` command. A :class:`Report` is filled batch by
batch (so a folder of any size streams through with a progress bar and bounded memory: each
image is rendered to small PNGs when it is added) and written once:

    report.html   one row per image: the image, one panel per method, prediction and target
    report.json   ``format``, ``title``, ``created``, ``settings``, ``methods``, ``metadata`` and,
                  per image, ``name``, ``label``, ``target``, ``prediction.top`` (class, name,
                  score), ``correct`` and per-method statistics of the attribution

Example:
    >>> report = tfattr.report.Report(title="IG on my photos", class_names=names)
    >>> report.add(photos, {"IG": ig_attr, "Saliency": sal_attr}, predictions=scores)
    >>> report.write("out/")      # {'html': 'out/report.html', 'json': 'out/report.json'}
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import os
import pathlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from tfattr.viz.arrays import as_images, as_maps, reduce_channels, resize_maps, select_sign
from tfattr.viz.figures import METHODS, SIGNS
from tfattr.viz.images import broadcast_pair, png_bytes, render

FORMAT = "tfattr.report/1"


class Report:
    """An attribution report, filled with :meth:`add` and written with :meth:`write`.

    Args:
        title: page title.
        class_names: names of the classes: a sequence indexed by class id, a dict, or a function
            ``id -> name`` (e.g. from a ModelSpec). Optional.
        method: how maps are drawn (a :func:`tfattr.viz.visualize` method). Default
            ``"blended_heat_map"``.
        sign: :func:`tfattr.viz.visualize` sign. Default ``"absolute_value"``.
        outlier_perc: percentage of attribution mass clipped to full colour.
        reduce: channel reduction, for all methods or a dict per method name.
        alpha: opacity of the heat map in ``blended_heat_map`` panels.
        deprocess: how to show preprocessed images (``"caffe"``, ``"tf"``, a function, ...);
            not needed when :meth:`add` gets ``display`` images.
        spec: a ModelSpec-like object giving ``deprocess`` and, if it has them, class names
            (``class_names`` attribute).
        top_k: predictions listed per image.
        metadata: extra JSON-serialisable facts to record (model name, explainer options, ...).
        panel_px: display width of each panel in the HTML page, in CSS pixels.

    Example:
        >>> report = Report(title="demo", method="heat_map", sign="all")
        >>> report.add(x, {"IG": attr}, predictions=model(x), labels=y)
        >>> paths = report.write("report_dir")
    """

    def __init__(
        self,
        title: str = "tfattr report",
        class_names=None,
        *,
        method: str = "blended_heat_map",
        sign: str = "absolute_value",
        outlier_perc: float = 2,
        reduce: str | Mapping[str, str] = "sum",
        alpha: float = 0.5,
        deprocess=None,
        spec=None,
        top_k: int = 3,
        metadata: Mapping | None = None,
        panel_px: int = 160,
    ):
        if method not in METHODS:
            raise ValueError(f"method: expected one of {METHODS}, got {method!r}.")
        if sign not in SIGNS:
            raise ValueError(f"sign: expected one of {SIGNS}, got {sign!r}.")
        if method in ("masked_image", "alpha_scaling") and sign == "all":
            raise ValueError(f"method={method!r} needs one sign, not 'all'.")
        self.title = str(title)
        self.method, self.sign, self.outlier_perc, self.reduce = method, sign, outlier_perc, reduce
        self.alpha = float(alpha)
        self.deprocess, self.spec = deprocess, spec
        if class_names is None and spec is not None:
            class_names = getattr(spec, "class_names", None)
        self._name_of = _class_namer(class_names)
        self.top_k = int(top_k)
        self.metadata = dict(metadata or {})
        self.panel_px = int(panel_px)
        self.methods: list[str] = []
        self.entries: list[dict] = []  # JSON records
        self._pictures: list[dict[str, bytes]] = []  # per entry: panel name -> PNG bytes
        self.created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")

    def __len__(self) -> int:
        return len(self.entries)

    # --------------------------------------------------------------------------------------------
    def add(
        self,
        images,
        attributions: Mapping[str, object],
        predictions=None,
        targets=None,
        labels=None,
        names: Sequence[str] | None = None,
        display=None,
    ) -> None:
        """Adds images and their attributions (a batch or one image).

        Args:
            images: the model inputs, ``(H, W, C)`` or ``(N, H, W, C)``.
            attributions: ``{method name: attributions}``, pixel maps of the images' shape or
                CAM maps ``(N, H, W)``; numpy or tf.
            predictions: the model's scores ``(N, classes)`` (top-k listed) or predicted class
                ids ``(N,)``. Optional.
            targets: the explained class per image (int or N ints); default: the top prediction
                when predictions are given (what explainers explain by default).
            labels: true class ids, optional (``correct`` is recorded when given).
            names: a name per image (e.g. file names); default ``image_<index>``.
            display: displayable versions of the images (e.g. the photos before preprocessing);
                default: ``images`` shown through ``deprocess``/``spec``.
        """
        if not isinstance(attributions, Mapping) or not attributions:
            raise TypeError("attributions: expected a non-empty dict {method name: attribution}.")
        image_shape = tuple(np.shape(images))
        if display is not None:
            rgb = as_images(display, name="display")
        else:
            rgb = as_images(images, self.deprocess, self.spec)
        n = rgb.shape[0]
        if self.methods and list(attributions) != self.methods:
            raise ValueError(
                f"attributions: every batch must have the same methods {self.methods}, got "
                f"{list(attributions)}."
            )
        self.methods = list(attributions)
        values = {}
        for method, attr in attributions.items():
            maps, _ = as_maps(attr, image_shape=image_shape, name=f"attributions[{method!r}]")
            _, maps = broadcast_pair(rgb, maps)
            if maps.shape[0] != n:
                raise ValueError(
                    f"attributions[{method!r}]: {maps.shape[0]} maps for {n} images; give one "
                    f"map per image."
                )
            how = (
                self.reduce.get(method, "sum") if isinstance(self.reduce, Mapping) else self.reduce
            )
            values[method] = (maps, reduce_channels(resize_maps(maps, rgb.shape[1:3]), how))
        tops = _top_predictions(predictions, n, self.top_k)
        target_ids = _per_image_ints(targets, n, "targets")
        label_ids = _per_image_ints(labels, n, "labels")
        names = _names(names, n, len(self.entries))
        for i in range(n):
            top = tops[i] if tops is not None else None
            target = target_ids[i] if target_ids is not None else (top[0][0] if top else None)
            label = label_ids[i] if label_ids is not None else None
            pictures = {"image": png_bytes(rgb[i])}
            stats = {}
            for method, (maps, reduced) in values.items():
                pixels, scale = render(
                    reduced[i], rgb[i], self.method, self.sign, self.outlier_perc, alpha=self.alpha
                )
                pictures[method] = png_bytes(pixels)
                stats[method] = _statistics(maps[i], reduced[i], self.sign, scale)
            self._pictures.append(pictures)
            self.entries.append(
                {
                    "index": len(self.entries),
                    "name": names[i],
                    "label": label,
                    "label_name": self._name_of(label),
                    "target": target,
                    "target_name": self._name_of(target),
                    "prediction": None
                    if top is None
                    else {
                        "top": [{"class": c, "name": self._name_of(c), "score": s} for c, s in top]
                    },
                    "correct": None if (label is None or not top) else bool(top[0][0] == label),
                    "attributions": stats,
                }
            )

    # --------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The JSON summary (see the module docstring)."""
        from tfattr import __version__

        return {
            "format": FORMAT,
            "title": self.title,
            "created": self.created,
            "tfattr_version": __version__,
            "settings": {
                "method": self.method,
                "sign": self.sign,
                "outlier_perc": self.outlier_perc,
                "reduce": dict(self.reduce) if isinstance(self.reduce, Mapping) else self.reduce,
                "alpha": self.alpha,
            },
            "methods": list(self.methods),
            "metadata": self.metadata,
            "count": len(self.entries),
            "images": self.entries,
        }

    def to_html(self) -> str:
        """The report as one self-contained HTML page (no external files)."""
        esc = html.escape
        width = self.panel_px
        head = "".join(f"<th>{esc(m)}</th>" for m in ["#", "image", *self.methods, "prediction"])
        rows = []
        for entry, pictures in zip(self.entries, self._pictures, strict=True):
            cells = [f"<td>{entry['index']}<br><small>{esc(entry['name'])}</small></td>"]
            cells.append(f"<td>{_img(pictures['image'], entry['name'], width)}</td>")
            for method in self.methods:
                stats = entry["attributions"][method]
                caption = (
                    "nothing to show" if stats["scale"] == 0 else f"scale {stats['scale']:.3g}"
                )
                cells.append(
                    f"<td>{_img(pictures[method], method, width)}<br><small>{caption}</small></td>"
                )
            cells.append(f"<td class='pred'>{_prediction_html(entry)}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
        settings = (
            f"method {esc(self.method)}, sign {esc(self.sign)}, outliers clipped "
            f"{self.outlier_perc}% of the mass, channels reduced by "
            f"{esc(json.dumps(self.to_dict()['settings']['reduce']))}; each panel on its own scale"
        )
        meta = "".join(
            f"<li><b>{esc(str(k))}</b>: {esc(json.dumps(v, default=str))}</li>"
            for k, v in self.metadata.items()
        )
        return _PAGE.format(
            title=esc(self.title),
            created=esc(self.created),
            count=len(self.entries),
            settings=settings,
            meta=f"<ul>{meta}</ul>" if meta else "",
            head=head,
            rows="\n".join(rows),
        )

    def write(self, directory, stem: str = "report") -> dict[str, pathlib.Path]:
        """Writes ``<stem>.html`` and ``<stem>.json`` into ``directory`` (created if needed).

        Returns:
            ``{"html": path, "json": path}``.
        """
        if not self.entries:
            raise ValueError("report: nothing to write; add images with Report.add(...) first.")
        folder = pathlib.Path(os.fspath(directory))
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"html": folder / f"{stem}.html", "json": folder / f"{stem}.json"}
        paths["html"].write_text(self.to_html(), encoding="utf-8")
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return paths


def write_report(directory, images, attributions, predictions=None, **options):
    """One-call report: ``Report(**settings).add(images, attributions, ...)`` then ``write``.

    Args:
        directory: output folder.
        images: model inputs ``(N, H, W, C)`` (or one image).
        attributions: ``{method name: attributions}``.
        predictions: scores ``(N, classes)`` or class ids, optional.
        **options: :class:`Report` settings (title, class_names, method, sign, ...) and
            :meth:`Report.add` arguments (targets, labels, names, display).

    Returns:
        ``{"html": path, "json": path}``.

    Example:
        >>> write_report("out", x, {"IG": attr}, predictions=model(x), deprocess="tf")
    """
    add_keys = ("targets", "labels", "names", "display")
    add_options = {k: options.pop(k) for k in add_keys if k in options}
    report = Report(**options)
    report.add(images, attributions, predictions=predictions, **add_options)
    return report.write(directory)


def explain_to_report(
    explainers: Mapping[str, object],
    images,
    target=None,
    *,
    report: Report | None = None,
    labels=None,
    names: Sequence[str] | None = None,
    display=None,
    batch_size: int = 16,
    progress: bool | Callable[[int, int], None] | None = None,
    **report_options,
) -> Report:
    """Explains images with several explainers, batch by batch, into a :class:`Report`.

    The "explain a folder and write a report" flow: predictions come from the first explainer's
    model (its scores as configured by its ``output``), every explainer explains the same targets.

    Args:
        explainers: ``{name: explainer}`` (tfattr explainers on the same model).
        images: model inputs ``(N, H, W, C)`` (numpy or tf).
        target: None (each image's top class), an int, or N ints.
        report: add to this report (default: a new one made with ``report_options``).
        labels, names, display: as in :meth:`Report.add`, for all N images.
        batch_size: images per step (bounds memory).
        progress: True for a tqdm bar, or a function ``(done, total)`` called after each batch.
        **report_options: :class:`Report` settings when a new report is made.

    Returns:
        The report (call ``.write(folder)``).

    Example:
        >>> report = explain_to_report({"IG": tfattr.IntegratedGradients(model)}, x,
        ...                            deprocess="tf", progress=True)
        >>> report.write("out")
    """
    import tensorflow as tf
    from tqdm.auto import tqdm

    if not isinstance(explainers, Mapping) or not explainers:
        raise TypeError("explainers: expected a non-empty dict {name: explainer}.")
    report = report if report is not None else Report(**report_options)
    x = tf.convert_to_tensor(np.asarray(images), tf.float32)
    single = x.shape.rank == 3
    if single:
        x = x[None]
    n = int(x.shape[0])
    targets = _per_image_ints(target, n, "target")
    if display is not None:
        shown = np.asarray(display.numpy() if hasattr(display, "numpy") else display)
        shown = shown[None] if single else shown
    first = next(iter(explainers.values()))
    bar = tqdm(total=n, unit="img", disable=progress is not True, desc="tfattr report")
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        chunk = x[start:stop]
        scores = first.engine.scores(chunk).numpy()
        chunk_targets = targets[start:stop] if targets is not None else list(scores.argmax(-1))
        attributions = {
            name: explainer.explain(chunk, target=[int(t) for t in chunk_targets])
            for name, explainer in explainers.items()
        }
        report.add(
            chunk,
            attributions,
            predictions=scores,
            targets=chunk_targets,
            labels=None if labels is None else np.asarray(labels).reshape(-1)[start:stop],
            names=None if names is None else list(names)[start:stop],
            display=None if display is None else shown[start:stop],
        )
        bar.update(stop - start)
        if callable(progress):
            progress(stop, n)
    bar.close()
    return report


# ------------------------------------------------------------------------------------------------
# Helpers


def _class_namer(class_names) -> Callable[[int | None], str | None]:
    def name_of(class_id):
        if class_id is None or class_names is None:
            return None
        if callable(class_names) and not isinstance(class_names, Mapping):
            return str(class_names(class_id))
        try:
            return str(class_names[class_id])
        except (KeyError, IndexError):
            return None

    return name_of


def _top_predictions(predictions, n: int, k: int):
    """Per image, a list of (class id, score or None), best first; or None."""
    if predictions is None:
        return None
    array = np.asarray(predictions.numpy() if hasattr(predictions, "numpy") else predictions)
    if array.ndim == 1 and np.issubdtype(array.dtype, np.integer):
        if array.shape[0] != n:
            raise ValueError(f"predictions: expected {n} class ids, got shape {array.shape}.")
        return [[(int(c), None)] for c in array]
    if array.ndim == 1 and n == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[0] != n:
        raise ValueError(
            f"predictions: expected scores (N={n}, classes) or N class ids, got shape "
            f"{array.shape}."
        )
    order = np.argsort(-array, axis=1, kind="stable")[:, :k]
    return [[(int(c), float(array[i, c])) for c in order[i]] for i in range(n)]


def _per_image_ints(value, n: int, name: str) -> list[int] | None:
    if value is None:
        return None
    array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    if array.ndim == 0:
        array = np.full((n,), array)
    if not np.issubdtype(array.dtype, np.integer) or array.shape != (n,):
        raise ValueError(f"{name}: expected an int or {n} ints, got {value!r}.")
    return [int(v) for v in array]


def _names(names, n: int, offset: int) -> list[str]:
    if names is None:
        return [f"image_{offset + i}" for i in range(n)]
    names = [str(v) for v in names]
    if len(names) != n:
        raise ValueError(f"names: expected {n} names, got {len(names)}.")
    return names


def _statistics(maps: np.ndarray, reduced: np.ndarray, sign: str, scale: float) -> dict:
    """Plain facts about one image's attribution, for the JSON summary."""
    shown = select_sign(reduced, sign)
    total = float(np.abs(maps).sum())
    return {
        "shape": list(maps.shape[:-1] if maps.shape[-1] == 1 else maps.shape),
        "sum": float(maps.sum()),
        "min": float(maps.min()),
        "max": float(maps.max()),
        "mean_abs": float(np.abs(maps).mean()),
        "positive_fraction": float((maps > 0).mean()),
        "all_zero": total == 0.0,
        "scale": float(scale),
        "peak": [int(v) for v in np.unravel_index(int(np.argmax(shown)), shown.shape)],
    }


def _img(png: bytes, alt: str, width: int) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img src='data:image/png;base64,{data}' alt='{html.escape(alt)}' width='{width}'>"


def _prediction_html(entry: dict) -> str:
    esc = html.escape
    lines = []
    if entry["label"] is not None:
        mark = "" if entry["correct"] is None else (" ✓" if entry["correct"] else " ✗")
        lines.append(f"label: {entry['label']} {esc(entry['label_name'] or '')}{mark}")
    if entry["target"] is not None:
        lines.append(f"explained: {entry['target']} {esc(entry['target_name'] or '')}")
    if entry["prediction"]:
        for item in entry["prediction"]["top"]:
            score = "" if item["score"] is None else f" ({item['score']:.3g})"
            lines.append(f"{item['class']} {esc(item['name'] or '')}{score}")
    return "<br>".join(lines)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
table {{ border-collapse: collapse; }}
th, td {{ border: 1px solid #ccc; padding: 4px; text-align: center; vertical-align: top; }}
td.pred {{ text-align: left; font-size: 0.85em; min-width: 12em; }}
img {{ image-rendering: pixelated; display: block; margin: auto; }}
small {{ color: #666; }}
</style></head>
<body>
<h1>{title}</h1>
<p>{count} images, created {created} by tfattr. Drawing: {settings}.</p>
{meta}
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
