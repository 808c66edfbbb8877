"""TF-Hub handles and SavedModel folders, loaded with ``hub.load`` (works under Keras 3).

``hub.KerasLayer`` is a tf-keras layer that Keras 3 models reject, so tfattr never wraps hub
models in Keras: the loaded object is called directly and is *opaque* (no layers), which every
pure-gradient method supports.
"""

from __future__ import annotations

import os
import pathlib
import re

import tensorflow as tf

INCEPTION_V1_HANDLE = "https://tfhub.dev/google/imagenet/inception_v1/classification/4"
_SHORT_HANDLE = re.compile(r"^[a-z0-9_\-]+(/[A-Za-z0-9_\-.]+)+/\d+$")


def is_hub_handle(name: str) -> bool:
    """Whether `name` is a remote TF-Hub / Kaggle handle (a URL or ``publisher/.../version``)."""
    if name.startswith(("https://", "http://", "gs://")):
        return True
    return bool(_SHORT_HANDLE.match(name)) and not os.path.exists(name)


def full_handle(name: str) -> str:
    """``google/imagenet/.../4`` -> ``https://tfhub.dev/google/imagenet/.../4``; URLs unchanged."""
    if name.startswith(("https://", "http://", "gs://")):
        return name
    return "https://tfhub.dev/" + name


def is_saved_model_dir(path) -> bool:
    """Whether `path` is a folder holding a ``saved_model.pb``."""
    path = pathlib.Path(path)
    return path.is_dir() and (path / "saved_model.pb").is_file()


def load_hub(handle: str):
    """``hub.load(handle)``, with an error that says what to do when it cannot be fetched."""
    import tensorflow_hub as hub

    try:
        return hub.load(handle)
    except (OSError, ValueError, tf.errors.OpError) as error:
        cache = os.environ.get("TFHUB_CACHE_DIR", "<system temp>/tfhub_modules")
        raise ValueError(
            f"name_or_path: could not load the TF-Hub model {handle!r} ({_first_line(error)}). "
            f"Offline, download it elsewhere and pass its SavedModel folder, or place it in "
            f"{cache}/<sha1 of the handle>/ (TFHUB_CACHE_DIR)."
        ) from None
    except Exception as error:  # urllib and socket errors when offline
        raise ValueError(
            f"name_or_path: could not download the TF-Hub model {handle!r} "
            f"({type(error).__name__}: {_first_line(error)}). Check the network, or pass a local "
            f"SavedModel folder."
        ) from None


def _first_line(error) -> str:
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


def signature_shapes(obj) -> tuple[tuple | None, tuple | None]:
    """``(input shape, output shape)`` of a loaded SavedModel's call, as lists; None if unknown."""
    functions = []
    call = obj.__call__ if callable(obj) else None
    if hasattr(call, "concrete_functions"):
        functions = list(call.concrete_functions)
    elif "serving_default" in getattr(obj, "signatures", {}):
        functions = [obj.signatures["serving_default"]]
    for fn in functions:
        inputs = [
            s
            for s in tf.nest.flatten(fn.structured_input_signature)
            if isinstance(s, tf.TensorSpec)
        ]
        outputs = [
            s
            for s in tf.nest.flatten(fn.structured_outputs)
            if isinstance(s, tf.TensorSpec | tf.Tensor)
        ]
        if len(inputs) == 1 and inputs[0].shape.rank == 4:
            out = tuple(outputs[0].shape.as_list()) if len(outputs) == 1 else None
            return tuple(inputs[0].shape.as_list()), out
    return None, None
