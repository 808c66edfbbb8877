"""What every tf-explain explainer shares: unpacking ``validation_data`` and reusing tfattr
explainers across calls (a callback explains the same model every epoch; rebuilding the
explainer would retrace its compiled step each time)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def images_of(validation_data) -> np.ndarray:
    """The images of tf-explain's ``validation_data = (images, labels)`` as one array."""
    if not isinstance(validation_data, tuple | list) or len(validation_data) != 2:
        raise ValueError(
            "validation_data: expected a pair (images, labels) as tf-explain, e.g. (x, None) or "
            f"([image], None); got {type(validation_data).__name__}"
            + (
                f" of length {len(validation_data)}."
                if hasattr(validation_data, "__len__")
                else "."
            )
        )
    images, _ = validation_data
    if hasattr(images, "numpy"):
        images = images.numpy()
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"validation_data: expected images (N, H, W, C) or a list of (H, W, C) images, got "
            f"shape {images.shape}."
        )
    return images


def keras_of(model):
    """The Keras package a model belongs to: ``tf_keras`` for legacy models, else ``keras``."""
    if type(model).__module__.split(".")[0] == "tf_keras":
        import tf_keras

        return tf_keras
    import keras

    return keras


def sub_model(model, outputs, what: str):
    """A Keras model from ``model``'s inputs to ``outputs`` (symbolic tensors of its layers).

    Raises:
        ValueError: the model has no symbolic inputs (a subclassed model never built
            functionally), which tf-explain's helpers need too.
    """
    inputs = getattr(model, "inputs", None)
    if not inputs:
        raise ValueError(
            f"model: {what} needs a Functional or Sequential model (symbolic inputs); "
            f"{type(model).__name__} has none. Use the tfattr explainers, which also take "
            f"subclassed models."
        )
    return keras_of(model).Model(inputs=inputs, outputs=outputs)


class ExplainerCache:
    """Keeps the tfattr explainers an object built, one per model and configuration."""

    def cached(self, model, key: tuple, build: Callable[[], object]):
        """The explainer stored under ``(model, key)``, built by ``build()`` on first use."""
        cache = self.__dict__.setdefault("_tfattr_explainers", {})
        full_key = (id(model), *key)
        entry = cache.get(full_key)
        # Checking identity too: an id can be reused once a model is garbage collected.
        if entry is None or entry[0] is not model:
            entry = (model, build())
            cache[full_key] = entry
        return entry[1]
