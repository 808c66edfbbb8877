"""Keras callbacks that explain a fixed set of validation images during training.

tf-explain's callbacks (GradCAMCallback, SmoothGradCallback, ...) for every tfattr method at
once: :class:`AttributionCallback` takes any explainer (or several), and every ``every`` epochs
draws a comparison grid (:func:`tfattr.viz.compare`) that it logs to TensorBoard with
``tf.summary.image`` and/or writes as PNG files.

The callback observes training without changing it: explainers call the model being trained
(so they see its current weights), in inference mode, and draw their randomness from their own
seeds with stateless ops; the global Python, NumPy and TensorFlow random states are saved and
restored around each explanation as a guard. A ``fit`` with and without the callback gives the
same weights.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pathlib
import random
import warnings
from collections.abc import Mapping

import keras
import numpy as np
import tensorflow as tf

from tfattr.core.explainer import Explainer
from tfattr.core.tf_compat import existing_global_generator
from tfattr.viz.figures import compare
from tfattr.viz.images import figure_to_array, save


class AttributionCallback(keras.callbacks.Callback):
    """Logs attribution grids of fixed validation images every ``every`` epochs.

    Args:
        explainer: an explainer built on the model being trained (``tfattr.Saliency(model)``), a
            factory ``model -> explainer`` (e.g. ``tfattr.Saliency`` itself, or
            ``lambda m: tfattr.IntegratedGradients(m, steps=16)``) called once when training
            starts, or a dict ``{column title: explainer or factory}`` for a grid of methods.
        validation_data: images ``(N, H, W, C)``, or ``(images, labels)`` with int labels or
            one-hot rows, or a ``tf.data.Dataset`` of either (materialised once, when the
            callback is built, so iterating it cannot interfere with training).
        targets: the classes to explain: None (the labels when given, else each image's top
            class at that epoch), an int, or N ints.
        every: log after every ``every``-th epoch (epochs ``every``, ``2 * every``, ...).
        log_dir: TensorBoard folder for ``tf.summary.image`` (step = epoch number, from 1).
        png_dir: folder for ``<name>_epoch<NNNN>.png`` files.
        method, sign, outlier_perc, reduce, shared_scale: how the grid is drawn (see
            :func:`tfattr.viz.compare`).
        deprocess, spec: how to display preprocessed images (see :func:`tfattr.viz.visualize`).
        display: displayable versions of the images (e.g. before preprocessing), instead.
        name: summary tag and file name prefix.
        max_images: keep at most this many validation images.
        explain_options: extra keyword arguments for every ``explain`` call (e.g. ``steps``).
        dpi: resolution of the rendered grid.

    Example:
        >>> import keras
        >>> net = keras.models.clone_model(model)
        >>> net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        >>> methods = {"Saliency": tfattr.Saliency,   # factories: built on the trained model
        ...            "IG": lambda m: tfattr.IntegratedGradients(m, steps=32)}
        >>> callback = tfattr.callbacks.AttributionCallback(
        ...     methods, validation_data=(x, y), every=2, log_dir="logs", png_dir="pngs")

        >>> _ = net.fit(x, y, epochs=2, verbose=0, callbacks=[callback])
        >>> [path.name for path in callback.written]          # epoch 2 of 2
        ['attributions_epoch0002.png']
        >>> callback.last_grid.dtype.name, callback.last_grid.shape[-1]
        ('uint8', 3)
    """

    def __init__(
        self,
        explainer,
        validation_data,
        targets=None,
        every: int = 1,
        log_dir=None,
        png_dir=None,
        method: str = "blended_heat_map",
        sign: str = "absolute_value",
        *,
        outlier_perc: float = 2,
        reduce="sum",
        shared_scale=False,
        deprocess=None,
        spec=None,
        display=None,
        name: str = "attributions",
        max_images: int = 8,
        explain_options: Mapping | None = None,
        dpi: float = 72,
    ):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every: expected an int >= 1 (epochs), got {every!r}.")
        if log_dir is None and png_dir is None:
            raise ValueError("AttributionCallback: give log_dir (TensorBoard), png_dir, or both.")
        self.sources = dict(explainer) if isinstance(explainer, Mapping) else {"": explainer}
        for title, source in self.sources.items():
            if not (isinstance(source, Explainer) or callable(source)):
                raise TypeError(
                    f"explainer{f'[{title!r}]' if title else ''}: expected a tfattr explainer or "
                    f"a function model -> explainer, got {type(source).__name__}."
                )
        self.images, labels = _materialise(validation_data, max_images)
        self.targets = _targets(targets, labels, self.images.shape[0])
        self.display = None if display is None else np.asarray(display)[: self.images.shape[0]]
        self.every = every
        self.log_dir = None if log_dir is None else pathlib.Path(os.fspath(log_dir))
        self.png_dir = None if png_dir is None else pathlib.Path(os.fspath(png_dir))
        self.draw_options = {
            "method": method,
            "sign": sign,
            "outlier_perc": outlier_perc,
            "reduce": reduce,
            "shared_scale": shared_scale,
            "deprocess": deprocess,
            "spec": spec,
        }
        self.name = name
        self.explain_options = dict(explain_options or {})
        self.dpi = dpi
        self.written: list[pathlib.Path] = []  # PNG files, in order
        self.last_grid: np.ndarray | None = None  # uint8 (H, W, 3) of the last logged grid
        self._explainers: dict[str, Explainer] | None = None
        self._writer = None

    # --------------------------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self._explainers = {
            title: self._build(title, source) for title, source in self.sources.items()
        }

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.log(epoch + 1)

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # --------------------------------------------------------------------------------------------
    def explain(self) -> dict[str, np.ndarray]:
        """Attributions of the validation images with the model's current weights.

        Returns:
            ``{column title: attributions}``, numpy arrays (one map per validation image).

        Example:
            >>> callback = tfattr.callbacks.AttributionCallback(
            ...     {"Saliency": tfattr.Saliency, "Grad-CAM": tfattr.GradCAM}, (x, y),
            ...     png_dir="pngs")
            >>> callback.set_model(model)                   # Keras does this in fit()
            >>> {title: maps.shape for title, maps in callback.explain().items()}
            {'Saliency': (2, 32, 32, 3), 'Grad-CAM': (2, 32, 32)}
        """
        if self._explainers is None:
            self.on_train_begin()
        with _preserved_random_state():
            return {
                title: np.asarray(
                    explainer.explain(self.images, target=self.targets, **self.explain_options)
                )
                for title, explainer in self._explainers.items()
            }

    def log(self, step: int) -> np.ndarray:
        """Explains, draws the grid and writes it; returns the grid as uint8 RGB.

        ``on_epoch_end`` calls it every ``every`` epochs; call it yourself to log at other times.

        Args:
            step: the TensorBoard step and the number in the PNG file name (the epoch).

        Returns:
            The grid, uint8 RGB ``(H, W, 3)``.

        Example:
            >>> callback = tfattr.callbacks.AttributionCallback(tfattr.Saliency, (x, y),
            ...                                                  png_dir="pngs", name="saliency")
            >>> callback.set_model(model)
            >>> grid = callback.log(step=0)                 # before training
            >>> grid.dtype.name, callback.written[-1].name
            ('uint8', 'saliency_epoch0000.png')
        """
        attributions = self.explain()
        labels = None if self.targets is None else [f"target {t}" for t in self.targets]
        fig, _ = compare(
            self.display if self.display is not None else self.images,
            {title or self.name: attr for title, attr in attributions.items()},
            row_titles=labels,
            use_pyplot=False,  # a detached figure: nothing global, collected after use
            **(
                {**self.draw_options, "deprocess": None, "spec": None}
                if self.display is not None
                else self.draw_options
            ),
        )
        fig.suptitle(f"{self.name}, epoch {step}", fontsize=10)
        grid = figure_to_array(fig, dpi=self.dpi)
        if self.png_dir is not None:
            self.written.append(save(grid, self.png_dir / f"{self.name}_epoch{step:04d}.png"))
        if self.log_dir is not None:
            if self._writer is None:
                self._writer = tf.summary.create_file_writer(str(self.log_dir))
            with self._writer.as_default():
                image_summary(self.name, grid, step)
            self._writer.flush()
        self.last_grid = grid
        return grid

    def _build(self, title: str, source) -> Explainer:
        label = f"explainer[{title!r}]" if title else "explainer"
        if isinstance(source, Explainer):
            explainer = source
        else:
            explainer = source(self.model)
            if not isinstance(explainer, Explainer):
                raise TypeError(f"{label}: the factory returned {type(explainer).__name__}.")
        if self.model is not None and explainer.model is not self.model:
            warnings.warn(
                f"{label} explains a different model object than the one being trained, so it "
                f"will not see the training weights. Build it on the trained model, or pass a "
                f"factory (model -> explainer).",
                stacklevel=3,
            )
        return explainer


# ------------------------------------------------------------------------------------------------
# Helpers


def image_summary(tag: str, image: np.ndarray, step: int) -> None:
    """``tf.summary.image`` of one uint8 RGB image, also without the tensorboard package.

    TF's ``tf.summary.image`` is implemented by tensorboard, which TF does not install. Without it
    the same record is written directly: the tensor ``[width, height, PNG]`` under the
    ``images`` plugin, which is exactly what ``tf.summary.image`` writes.

    Args:
        tag: the summary's name.
        image: uint8 RGB ``(H, W, 3)``.
        step: the summary's step (e.g. the epoch).

    Example:
        >>> import tensorflow as tf
        >>> writer = tf.summary.create_file_writer("logs")
        >>> with writer.as_default():
        ...     tfattr.callbacks.image_summary("overlay", tfattr.viz.overlay(cam[0], photo), 1)
        >>> writer.flush()
        >>> import pathlib; len(list(pathlib.Path("logs").glob("events.out.tfevents.*")))
        1
    """

    if importlib.util.find_spec("tensorboard") is not None:
        tf.summary.image(tag, image[None], step=step)
        return
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="images")
    )
    height, width = image.shape[:2]
    tensor = tf.stack([str(width), str(height), tf.io.encode_png(image)])
    tf.summary.write(tag, tensor, step=step, metadata=metadata)


@contextlib.contextmanager
def _preserved_random_state():
    """Saves and restores the global random states that training may draw from."""
    python, numpy = random.getstate(), np.random.get_state()
    generator = _global_generator()
    tf_state = None if generator is None else generator.state.numpy()
    try:
        yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy)
        if generator is not None:
            generator.state.assign(tf_state)


def _global_generator():
    """TF's global tf.random.Generator if it was ever created (without creating it)."""
    return existing_global_generator()


def _materialise(data, max_images: int) -> tuple[np.ndarray, np.ndarray | None]:
    if isinstance(data, tf.data.Dataset):
        xs, ys, count = [], [], 0
        for element in data:
            x, y = element if isinstance(element, tuple | list) else (element, None)
            x = np.asarray(x)
            batch = x if x.ndim == 4 else x[None]
            xs.append(batch)
            if y is not None:
                y = np.asarray(y)
                ys.append(y if x.ndim == 4 else y[None])
            count += batch.shape[0]
            if count >= max_images:
                break
        images = np.concatenate(xs)[:max_images]
        labels = np.concatenate(ys)[:max_images] if ys else None
        return images, labels
    if isinstance(data, tuple | list) and len(data) == 2:
        images, labels = (np.asarray(v.numpy() if hasattr(v, "numpy") else v) for v in data)
    else:
        images, labels = np.asarray(data.numpy() if hasattr(data, "numpy") else data), None
    if images.ndim == 3:
        images = images[None]
        labels = None if labels is None else labels.reshape(1, *labels.shape)
    if images.ndim != 4 or images.shape[0] == 0:
        raise ValueError(
            f"validation_data: expected images (N, H, W, C) or (images, labels), got images of "
            f"shape {images.shape}."
        )
    return images[:max_images], None if labels is None else labels[:max_images]


def _targets(targets, labels, n: int) -> list[int] | None:
    if targets is not None:
        array = np.asarray(targets)
        array = np.full((n,), int(array)) if array.ndim == 0 else array[:n]
        return [int(t) for t in array]
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:  # sparse labels with a trailing axis
        labels = labels[:, 0]
    if labels.ndim == 2:  # one-hot rows
        labels = labels.argmax(axis=1)
    if labels.ndim != 1 or not (
        np.issubdtype(labels.dtype, np.integer) or np.all(labels == np.round(labels))
    ):
        raise ValueError(
            f"validation_data: labels must be class ids (N,) or one-hot rows (N, classes), got "
            f"shape {labels.shape}; or pass targets= explicitly."
        )
    return [int(t) for t in labels]
