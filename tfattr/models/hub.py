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


def load_hub(handle: str, given: str | None = None):
    """``hub.load(handle)``, with an error that says what to do when it cannot be fetched.

    Args:
        handle: a URL handle or a local SavedModel folder.
        given: what the user wrote, when it was completed into `handle` (a short handle that
            might also have been meant as a missing local path).
    """
    import tensorflow_hub as hub

    path_hint = f" No file or folder {given!r} exists either." if given and given != handle else ""
    try:
        return hub.load(handle)
    except (OSError, ValueError, tf.errors.OpError) as error:
        cache = os.environ.get("TFHUB_CACHE_DIR", "<system temp>/tfhub_modules")
        raise ValueError(
            f"name_or_path: could not load the TF-Hub model {handle!r} ({_first_line(error)}). "
            f"Offline, download it elsewhere and pass its SavedModel folder, or place it in "
            f"{cache}/<sha1 of the handle>/ (TFHUB_CACHE_DIR).{path_hint}"
        ) from None
    except Exception as error:  # urllib and socket errors when offline
        raise ValueError(
            f"name_or_path: could not download the TF-Hub model {handle!r} "
            f"({type(error).__name__}: {_first_line(error)}). Check the network, or pass a local "
            f"SavedModel folder.{path_hint}"
        ) from None


def _first_line(error) -> str:
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__
