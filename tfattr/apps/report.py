"""Reports: a self-contained HTML page (images embedded as base64 PNG) and a JSON summary.

This is the output format of the ``tfattr explain`` command. A :class:`Report` is filled batch by
batch (so a folder of any size streams through with a progress bar and bounded memory: each
image is rendered to small PNGs when it is added) and written once:

    report.html   a responsive page (no sideways scrolling at 1280 px): the model and settings
                  as text, the methods with their timings, then one card per image: the photo,
                  one panel per method, the class explained and the top-k predictions with
                  names and probabilities, and convergence deltas (flagged when large)
    report.json   ``format``, ``title``, ``created``, ``settings``, ``methods``, ``metadata``,
                  ``seconds`` and, per image, ``name``, ``label``, ``target``, ``prediction.top``
                  (class, name, score), ``correct`` and per-method statistics of the attribution
                  (with ``convergence_delta`` and ``relative_delta`` where given)

Example:
    >>> ig_attr = tfattr.IntegratedGradients(model, steps=16).explain(photos, target=3)
    >>> sal_attr = tfattr.Saliency(model).explain(photos, target=3)
    >>> report = tfattr.report.Report(title="IG on my photos", class_names=spec.class_names)
    >>> report.add(photos, {"IG": ig_attr, "Saliency": sal_attr}, predictions=model(photos))
    >>> sorted(report.write("out/"))  # out/report.html, out/report.json
    ['html', 'json']
"""

from __future__ import annotations

import base64
import datetime
import html
import json
import os
import pathlib
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from tfattr.core import convergence
from tfattr.viz.arrays import (
    SIGNS,
    as_images,
    as_maps,
    broadcast_pair,
    reduce_channels,
    resize_maps,
    select_sign,
)
from tfattr.viz.images import png_bytes, render
from tfattr.viz.styles import METHODS, STYLES, map_kind, resolve_style

__all__ = ["Report", "explain_to_report", "write_report"]

FORMAT = "tfattr.report/1"
# A convergence delta is flagged when |delta| exceeds this share of |F(x) - F(baseline)|: the
# one threshold the explainers' warning uses too.
DELTA_TOLERANCE = convergence.WARN_FRACTION
# Images at most this wide (px) are shown with crisp pixels rather than smoothed.
SMALL_IMAGE_PX = 96


class Report:
    """An attribution report, filled with :meth:`add` and written with :meth:`write`.

    Maps are drawn as :func:`tfattr.viz.visualize` draws them by default: region maps (Grad-CAM,
    RISE, ...) as a heat map over the photo, pixel maps (gradients, IG, ...) with outliers
    clipped over a darkened photo, each panel on its own scale.

    Args:
        title: page title.
        class_names: names of the classes: a sequence indexed by class id, a dict, or a function
            ``id -> name`` (e.g. from a ModelSpec). Optional.
        method: a :func:`tfattr.viz.visualize` method for every panel (default: per kind).
        sign: a :func:`tfattr.viz.visualize` sign for every panel (default: per map).
        outlier_perc: percentage of attribution clipped to full colour (default: per style).
        reduce: channel reduction, for all methods or a dict per method name.
        alpha: opacity of the heat map in ``blended_heat_map`` panels (default: per style).
        style: ``"auto"``, ``"region"``, ``"pixel"`` or ``"captum"`` (see
            :func:`tfattr.viz.visualize`).
        deprocess: how to show preprocessed images (``"caffe"``, ``"tf"``, a function, ...);
            not needed when :meth:`add` gets ``display`` images.
        spec: a ModelSpec-like object giving ``deprocess`` and, if it has them, class names
            (``class_names`` attribute).
        top_k: predictions listed per image.
        metadata: facts shown at the top of the page and recorded in the JSON (model name,
            settings, ...): strings, numbers, lists and dicts of them.
        panel_px: smallest display width of each panel in the HTML page, in CSS pixels (panels
            grow to fill the row).

    Example:
        >>> ig = tfattr.IntegratedGradients(model, steps=32)
        >>> attr, delta = ig.explain(x, target=y, return_convergence_delta=True)
        >>> report = tfattr.report.Report(title="demo", class_names=spec.class_names)
        >>> report.add(x, {"IG": attr}, predictions=model(x), labels=y, deltas={"IG": delta})
        >>> paths = report.write("report_dir")
        >>> sorted(path.name for path in paths.values())
        ['report.html', 'report.json']
    """

    def __init__(
        self,
        title: str = "tfattr report",
        class_names=None,
        *,
        method: str | None = None,
        sign: str | None = None,
        outlier_perc: float | None = None,
        reduce: str | Mapping[str, str] = "sum",
        alpha: float | None = None,
        style: str = "auto",
        deprocess=None,
        spec=None,
        top_k: int = 3,
        metadata: Mapping | None = None,
        panel_px: int = 168,
    ):
        if method is not None and method not in METHODS:
            raise ValueError(f"method: expected one of {METHODS}, got {method!r}.")
        if sign is not None and sign not in SIGNS:
            raise ValueError(f"sign: expected one of {SIGNS}, got {sign!r}.")
        if style not in STYLES:
            raise ValueError(f"style: expected one of {STYLES}, got {style!r}.")
        if method in ("masked_image", "alpha_scaling") and sign in (None, "all"):
            raise ValueError(
                f"method={method!r} needs one sign (positive, negative or absolute_value)."
            )
        self.title = str(title)
        self.method, self.sign, self.outlier_perc, self.reduce = method, sign, outlier_perc, reduce
        self.alpha = None if alpha is None else float(alpha)
        self.style = style
        self.deprocess, self.spec = deprocess, spec
        if class_names is None and spec is not None:
            class_names = getattr(spec, "class_names", None)
        self._name_of = _class_namer(class_names)
        self.top_k = int(top_k)
        self.metadata = dict(metadata or {})
        self.panel_px = int(panel_px)
        self.methods: list[str] = []
        self.kinds: dict[str, str] = {}  # method -> "region" / "pixel" (first batch decides)
        self.seconds: dict[str, float] = {}  # method -> seconds spent explaining
        self.sections: list[tuple[str, str]] = []  # (title, HTML) shown before the images
        self.entries: list[dict] = []  # JSON records
        self._pictures: list[dict[str, bytes]] = []  # per entry: panel name -> PNG bytes
        self._image_px = 0
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
        *,
        deltas: Mapping[str, object] | None = None,
        seconds: Mapping[str, float] | None = None,
        steps: Mapping[str, object] | None = None,
    ) -> None:
        """Adds images and their attributions (a batch or one image).

        Args:
            images: the model inputs, ``(H, W, C)`` or ``(N, H, W, C)``.
            attributions: ``{method name: attributions}``, pixel maps of the images' shape or
                CAM maps ``(N, H, W)``; numpy or tf.
            predictions: the model's scores ``(N, classes)`` (top-k listed; give
                probabilities to see probabilities) or predicted class ids ``(N,)``. Optional.
            targets: the explained class per image (int or N ints); default: the top prediction
                when predictions are given (what explainers explain by default).
            labels: true class ids, optional (``correct`` is recorded when given).
            names: a name per image (e.g. file names); default ``image <index>``.
            display: displayable versions of the images (e.g. the photos before preprocessing);
                default: ``images`` shown through ``deprocess``/``spec``.
            deltas: ``{method name: (N,) convergence deltas}`` (``sum(attr) - (F(x) - F(b))``,
                what ``return_convergence_delta=True`` gives); shown per panel and flagged when
                ``|delta|`` exceeds :data:`DELTA_TOLERANCE` of ``|F(x) - F(b)|``.
            seconds: ``{method name: seconds}`` spent explaining this batch (summed over
                batches and shown with the methods).
            steps: ``{method name: (N,) gradient evaluations}`` per image (what
                ``IntegratedGradients(steps="auto", return_steps=True)`` gives); shown per panel.

        Example:
            >>> report = tfattr.report.Report(class_names=spec.class_names)
            >>> report.add(x, {"IG": attr, "Grad-CAM": cam}, predictions=model(x),
            ...            names=["first.jpg", "second.jpg"])
            >>> report.add(x[0], {"IG": attr[0], "Grad-CAM": cam[0]})    # one more image
            >>> [image["name"] for image in report.to_dict()["images"]]
            ['first.jpg', 'second.jpg', 'image 3']
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
        values = {}
        for method, attr in attributions.items():
            name = f"attributions[{method!r}]"
            maps, single = as_maps(attr, image_shape=image_shape, name=name)
            had_channels = np.ndim(attr) == 4 or (np.ndim(attr) == 3 and single)
            _, maps = broadcast_pair(rgb, maps)
            if maps.shape[0] != n:
                raise ValueError(
                    f"{name}: {maps.shape[0]} maps for {n} images; give one map per image."
                )
            how = (
                self.reduce.get(method, "sum") if isinstance(self.reduce, Mapping) else self.reduce
            )
            reduced = reduce_channels(resize_maps(maps, rgb.shape[1:3]), how)
            kind = self.kinds.get(method) or map_kind(maps, method, had_channels)
            values[method] = (maps, reduced, kind)
        delta_values = _deltas(deltas, attributions, n)
        step_values = _deltas(steps, attributions, n, name="steps")
        self.methods = list(attributions)
        for method, (_, _, kind) in values.items():
            self.kinds.setdefault(method, kind)
        for method, spent in (seconds or {}).items():
            if method not in self.methods:
                raise ValueError(f"seconds: {method!r} is not among the methods {self.methods}.")
            self.seconds[method] = self.seconds.get(method, 0.0) + float(spent)
        tops = _top_predictions(predictions, n, self.top_k)
        target_ids = _per_image_ints(targets, n, "targets")
        label_ids = _per_image_ints(labels, n, "labels")
        names = _names(names, n, len(self.entries))
        self._image_px = max(self._image_px, rgb.shape[2])
        for i in range(n):
            top = tops[i] if tops is not None else None
            target = target_ids[i] if target_ids is not None else (top[0][0] if top else None)
            label = label_ids[i] if label_ids is not None else None
            pictures = {"image": png_bytes(rgb[i])}
            stats = {}
            for method, (maps, reduced, kind) in values.items():
                style = resolve_style(
                    self.style,
                    kind,
                    signed=bool(np.any(reduced[i] < 0)),
                    method=self.method,
                    sign=self.sign,
                    outlier_perc=self.outlier_perc,
                    alpha=self.alpha,
                )
                pixels, scale = render(reduced[i], rgb[i], style=style)
                pictures[method] = png_bytes(pixels)
                stats[method] = _statistics(maps[i], reduced[i], style.sign, scale)
                if method in delta_values:
                    stats[method].update(_delta_facts(delta_values[method][i], maps[i]))
                if method in step_values:
                    stats[method]["steps"] = int(step_values[method][i])
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

    def add_section(self, title: str, body_html: str) -> None:
        """Adds a section shown before the images (e.g. a results table).

        Args:
            title: the section heading (plain text, escaped).
            body_html: the section's HTML, inserted as it is (the caller escapes its text).

        Example:
            >>> report = tfattr.report.Report()
            >>> report.add(x, {"IG": attr})
            >>> report.add_section("Deletion AUC", "<p>IG 0.12</p>")
            >>> "<h2>Deletion AUC</h2><p>IG 0.12</p>" in report.to_html()
            True
        """
        self.sections.append((str(title), str(body_html)))

    # --------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The JSON summary (see the module docstring).

        Returns:
            A dict of JSON-compatible values, as ``report.json`` holds it.

        Example:
            >>> report = tfattr.report.Report(title="demo", metadata={"model": "tiny_vgg"})
            >>> report.add(x, {"IG": attr}, targets=3)
            >>> summary = report.to_dict()
            >>> summary["title"], summary["count"], summary["methods"], summary["metadata"]
            ('demo', 2, ['IG'], {'model': 'tiny_vgg'})
            >>> summary["images"][0]["target"]
            3
        """
        from tfattr import __version__

        return {
            "format": FORMAT,
            "title": self.title,
            "created": self.created,
            "tfattr_version": __version__,
            "settings": {
                "style": self.style,
                "method": self.method,
                "sign": self.sign,
                "outlier_perc": self.outlier_perc,
                "reduce": dict(self.reduce) if isinstance(self.reduce, Mapping) else self.reduce,
                "alpha": self.alpha,
                "kinds": dict(self.kinds),
                "delta_tolerance": DELTA_TOLERANCE,
            },
            "methods": list(self.methods),
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
            "metadata": self.metadata,
            "count": len(self.entries),
            "images": self.entries,
        }

    def to_html(self) -> str:
        """The report as one self-contained, responsive HTML page (no external files).

        Returns:
            The page, a string (images embedded as base64 PNG).

        Example:
            >>> report = tfattr.report.Report(title="demo")
            >>> report.add(x, {"Grad-CAM": cam})
            >>> page = report.to_html()
            >>> page.startswith("<!DOCTYPE html>"), page.count("data:image/png;base64,") >= 4
            (True, True)
        """
        esc = html.escape
        facts = [(str(k), _readable(v)) for k, v in self.metadata.items()]
        facts.append(("images", str(len(self.entries))))
        facts.append(("drawing", self._drawing_text()))
        facts.append(("created", f"{self.created} by tfattr"))
        fact_html = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
        sections = "".join(
            f"<section><h2>{esc(title)}</h2>{body}</section>" for title, body in self.sections
        )
        cards = [
            self._card_html(entry, pictures)
            for entry, pictures in zip(self.entries, self._pictures, strict=True)
        ]
        small = 0 < self._image_px <= SMALL_IMAGE_PX
        return _PAGE.format(
            title=esc(self.title),
            panel=self.panel_px,
            body_class="small-images" if small else "",
            facts=fact_html,
            methods=self._methods_html(),
            sections=sections,
            cards="\n".join(cards),
        )

    def write(self, directory, stem: str = "report") -> dict[str, pathlib.Path]:
        """Writes ``<stem>.html`` and ``<stem>.json`` into ``directory`` (created if needed).

        Args:
            directory: the output folder.
            stem: the file name without extension: a plain name, never a path (``"a/b"``,
                ``".."`` and absolute paths are refused, so nothing is written outside
                ``directory``).

        Returns:
            ``{"html": path, "json": path}``.

        Example:
            >>> report = tfattr.report.Report()
            >>> report.add(x, {"IG": attr})
            >>> paths = report.write("out", stem="ig")
            >>> paths["html"].as_posix(), paths["json"].as_posix()
            ('out/ig.html', 'out/ig.json')
        """
        if not self.entries:
            raise ValueError("report: nothing to write; add images with Report.add(...) first.")
        folder = pathlib.Path(os.fspath(directory))
        _check_stem(stem, folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"html": folder / f"{stem}.html", "json": folder / f"{stem}.json"}
        paths["html"].write_text(self.to_html(), encoding="utf-8")
        paths["json"].write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return paths

    # --------------------------------------------------------------------------------------------
    def _drawing_text(self) -> str:
        parts = []
        kinds = set(self.kinds.values())
        if self.style == "captum":
            parts.append("Captum's style")
        if "region" in kinds and self.style in ("auto", "region"):
            parts.append(
                "region maps: a heat map from each map's minimum (blue) to maximum (red) over "
                "the photo"
            )
        if "pixel" in kinds and self.style in ("auto", "pixel"):
            parts.append(
                "pixel maps: over a darkened photo, the top 1 % of values clipped; signed "
                "maps warm for the class and cool against it, magnitudes dark to bright"
            )
        if self.method or self.sign:
            parts.append(f"method {self.method or 'default'}, sign {self.sign or 'default'}")
        reduce = self.reduce if isinstance(self.reduce, str) else _readable(dict(self.reduce))
        parts.append(f"channels reduced by {reduce}; each panel on its own colour scale")
        return "; ".join(parts) + "."

    def _methods_html(self) -> str:
        esc = html.escape
        rows = []
        for method in self.methods:
            deltas = [
                e["attributions"][method]["relative_delta"]
                for e in self.entries
                if e["attributions"][method].get("relative_delta") is not None
            ]
            if deltas:
                worst = max(abs(d) for d in deltas)
                flagged = sum(abs(d) > DELTA_TOLERANCE for d in deltas)
                mark = " warn" if flagged else ""
                delta = (
                    f"<td class='num{mark}'>{worst:.1%}"
                    + (f" ({flagged} flagged)" if flagged else "")
                    + "</td>"
                )
            else:
                delta = "<td class='num'>–</td>"
            spent = self.seconds.get(method)
            rows.append(
                f"<tr><td>{esc(method)}</td><td>{esc(self.kinds.get(method, ''))}</td>"
                f"<td class='num'>{'–' if spent is None else f'{spent:.2f} s'}</td>{delta}</tr>"
            )
        return (
            "<table><thead><tr><th>method</th><th>kind of map</th><th>time</th>"
            "<th>largest |convergence delta|</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
            + f"<p class='note'>Convergence delta: sum of the attributions minus "
            f"F(x) − F(baseline), as a share of |F(x) − F(baseline)|; flagged above "
            f"{DELTA_TOLERANCE:.0%} (more steps or another rule make it smaller).</p>"
        )

    def _card_html(self, entry: dict, pictures: dict[str, bytes]) -> str:
        esc = html.escape
        figures = [_figure(pictures["image"], "image", esc(entry["name"]))]
        for method in self.methods:
            stats = entry["attributions"][method]
            notes = []
            if stats["scale"] == 0:
                notes.append("nothing to show")
            if stats.get("convergence_delta") is not None:
                relative = stats.get("relative_delta")
                text = f"δ {stats['convergence_delta']:+.3g}"
                if relative is not None:
                    text += f" ({relative:.1%})"
                warn = relative is not None and abs(relative) > DELTA_TOLERANCE
                notes.append(
                    f"<span class='warn' title='|delta| above {DELTA_TOLERANCE:.0%} of "
                    f"|F(x) - F(baseline)|: use more steps'>{esc(text)} ⚠</span>"
                    if warn
                    else esc(text)
                )
            if stats.get("steps") is not None:
                notes.append(f"{stats['steps']} steps")
            caption = f"<b>{esc(method)}</b>" + "".join(f"<br>{n}" for n in notes)
            figures.append(_figure(pictures[method], method, caption))
        return (
            f"<article class='card' id='image-{entry['index']}'><header>"
            f"<h3>{entry['index'] + 1}. {esc(entry['name'])}</h3>"
            f"{_prediction_html(entry)}</header>"
            f"<div class='panels'>{''.join(figures)}</div></article>"
        )


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
        >>> inputs = spec.preprocess(photos)                    # caffe: shown through spec
        >>> ig = tfattr.IntegratedGradients(model, steps=16).explain(inputs, target=3)
        >>> paths = tfattr.report.write_report("out", inputs, {"IG": ig},
        ...                                    predictions=model(inputs), spec=spec)
        >>> sorted(paths)
        ['html', 'json']
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
        >>> explainers = {"IG": tfattr.IntegratedGradients(model, steps=16),
        ...               "Grad-CAM": tfattr.GradCAM(model)}
        >>> report = tfattr.report.explain_to_report(explainers, x, batch_size=1,
        ...                                          progress=False)
        >>> summary = report.to_dict()
        >>> summary["count"], summary["methods"], sorted(summary["seconds"])
        (2, ['IG', 'Grad-CAM'], ['Grad-CAM', 'IG'])
        >>> paths = report.write("out")
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
        attributions, seconds = {}, {}
        for name, explainer in explainers.items():
            tick = time.perf_counter()
            attributions[name] = explainer.explain(chunk, target=[int(t) for t in chunk_targets])
            seconds[name] = time.perf_counter() - tick
        report.add(
            chunk,
            attributions,
            predictions=scores,
            targets=chunk_targets,
            labels=None if labels is None else np.asarray(labels).reshape(-1)[start:stop],
            names=None if names is None else list(names)[start:stop],
            display=None if display is None else shown[start:stop],
            seconds=seconds,
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
        return [f"image {offset + i + 1}" for i in range(n)]
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


def _check_stem(stem, folder: pathlib.Path) -> None:
    """Refuses a stem that is not a plain file name inside `folder`."""
    text = stem if isinstance(stem, str) else None
    bad = (
        text is None
        or not text.strip()
        or text in (".", "..")
        or "\x00" in text
        or any(sep in text for sep in ("/", "\\", os.sep))
        or (os.altsep is not None and os.altsep in text)
        or pathlib.PurePath(text).is_absolute()
        or pathlib.PurePath(text).name != text
    )
    if not bad:
        root = os.path.abspath(folder)
        for suffix in (".html", ".json"):
            target = os.path.abspath(os.path.join(root, f"{text}{suffix}"))
            bad = bad or os.path.dirname(target) != root
    if bad:
        raise ValueError(
            f"stem: expected a plain file name such as 'report', got {stem!r}, which would "
            f"write outside {str(folder)!r}. Give the folder as `directory` and only the file "
            f"name as `stem`."
        )


def _deltas(deltas, attributions, n: int, name: str = "deltas") -> dict[str, np.ndarray]:
    """{method: (n,) float values} from the user's mapping of per-image values, checked."""
    if deltas is None:
        return {}
    if not isinstance(deltas, Mapping):
        raise TypeError(f"{name}: expected a dict {{method name: (N,) values}}.")
    out = {}
    for method, value in deltas.items():
        if method not in attributions:
            raise ValueError(
                f"{name}: {method!r} is not among the methods {list(attributions)}; give "
                f"{name} for the methods of this batch."
            )
        array = np.asarray(value.numpy() if hasattr(value, "numpy") else value, np.float64)
        array = array.reshape(-1) if array.size == n else array
        if array.shape != (n,):
            raise ValueError(f"{name}[{method!r}]: expected {n} values, got shape {array.shape}.")
        out[method] = array
    return out


def _delta_facts(delta: float, maps: np.ndarray) -> dict:
    """The delta and its share of F(x) - F(b) (= sum(attr) - delta), for one image."""
    difference = float(convergence.score_difference(maps[None], [delta])[0])
    relative = float(convergence.relative_error([delta], [difference])[0]) if difference else None
    return {
        "convergence_delta": float(delta),
        "score_difference": difference,
        "relative_delta": relative,
        "large_delta": None if relative is None else bool(relative > DELTA_TOLERANCE),
    }


def _readable(value) -> str:
    """Metadata as words: lists joined by commas, dicts as 'key: value' pairs, no JSON quotes."""
    if isinstance(value, Mapping):
        return "; ".join(
            f"{k}: {_readable(v)}" if v not in ({}, None, "") else str(k) for k, v in value.items()
        )
    if isinstance(value, (list, tuple)):
        return ", ".join(_readable(v) for v in value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if value is None:
        return "–"
    return str(value)


def _figure(png: bytes, alt: str, caption_html: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f"<figure><img src='data:image/png;base64,{data}' alt='{html.escape(alt)}'>"
        f"<figcaption>{caption_html}</figcaption></figure>"
    )


def _label(class_id, name) -> str:
    text = str(name).replace("_", " ") if name else f"class {class_id}"
    return f"{html.escape(text)} <span class='id'>({class_id})</span>"


def _prediction_html(entry: dict) -> str:
    parts = []
    if entry["target"] is not None:
        parts.append(f"<p>explained: <b>{_label(entry['target'], entry['target_name'])}</b></p>")
    if entry["label"] is not None:
        mark = "" if entry["correct"] is None else (" ✓" if entry["correct"] else " ✗")
        parts.append(f"<p>label: {_label(entry['label'], entry['label_name'])}{mark}</p>")
    if entry["prediction"]:
        rows = "".join(
            f"<tr><td>{_label(item['class'], item['name'])}</td><td class='num'>"
            f"{'' if item['score'] is None else _score(item['score'])}</td></tr>"
            for item in entry["prediction"]["top"]
        )
        parts.append(f"<table class='top'><caption>top predictions</caption>{rows}</table>")
    return "".join(parts)


def _score(score: float) -> str:
    """Probabilities as percentages; other scores (logits) as numbers."""
    return f"{score:.1%}" if 0.0 <= score <= 1.0 else f"{score:.3g}"


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
*, *::before, *::after {{ box-sizing: border-box; }}
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f;
  line-height: 1.4; margin: 0 auto; padding: 1rem 1.5rem; max-width: 1400px;
  overflow-wrap: anywhere; }}
h1 {{ font-size: 1.5rem; margin: .2rem 0 .8rem; }}
h2 {{ font-size: 1.15rem; margin: 1.4rem 0 .5rem; }}
h3 {{ font-size: 1rem; margin: 1rem 0 .3rem; }}
dl.facts {{ display: grid; grid-template-columns: minmax(6rem, max-content) 1fr;
  gap: .2rem 1rem; margin: 0; }}
dl.facts dt {{ font-weight: 600; }}
dl.facts dd {{ margin: 0; }}
table {{ border-collapse: collapse; max-width: 100%; }}
th, td {{ padding: .2rem .6rem; border-bottom: 1px solid #e2e2e2; text-align: left; }}
th {{ font-weight: 600; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
.note {{ color: #555; font-size: .85rem; }}
.warn {{ color: #b3261e; font-weight: 600; }}
.card {{ border: 1px solid #ddd; border-radius: 8px; padding: .8rem; margin: 1rem 0;
  display: grid; grid-template-columns: minmax(11rem, 15rem) minmax(0, 1fr); gap: .8rem; }}
@media (max-width: 760px) {{ .card {{ grid-template-columns: minmax(0, 1fr); }} }}
.card header h3 {{ margin: 0 0 .3rem; }}
.card header p {{ margin: 0 0 .3rem; }}
table.top {{ font-size: .85rem; }}
table.top caption {{ text-align: left; color: #555; font-size: .8rem; }}
.id {{ color: #777; font-size: .85em; }}
.panels {{ display: grid; grid-template-columns: repeat(auto-fill, minmax({panel}px, 1fr));
  gap: .6rem; align-content: start; }}
figure {{ margin: 0; min-width: 0; }}
figure img {{ display: block; width: 100%; height: auto; border-radius: 3px; }}
.small-images figure img {{ image-rendering: pixelated; }}
figcaption {{ font-size: .8rem; margin-top: .2rem; }}
</style></head>
<body class="{body_class}">
<h1>{title}</h1>
<dl class="facts">{facts}</dl>
<h2>Methods</h2>
{methods}
{sections}
<h2>Images</h2>
{cards}
</body></html>
"""
