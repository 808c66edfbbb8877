"""ImageNet-1k class names and WordNet ids, shipped with tfattr: no network needed.

The 1000 classes are always in the same order: Keras' ``imagenet_class_index.json``,
tensorflow-datasets' ImageNet-2012 label file and TFDS ImageNet-A labels all use the sorted WordNet
ids. tfattr ships two public data files in ``tfattr/assets/``: Keras' class index (WordNet id
and name of each class, md5 ``c2c37ea5...``) and TF-Hub's ``ImageNetLabels.txt`` (1001 labels,
``background`` first, for TF-Hub classifiers). Names are read from them, so nothing is
downloaded; a class index in Keras' cache or a download are only used when the packaged file
is missing (a broken install).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import logging
import os
import pathlib
import re

log = logging.getLogger("tfattr")

CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_URL = (
    "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
)
CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"
HUB_LABELS_FILE = "ImageNetLabels.txt"
_WNID = re.compile(r"^n\d{8}$")


def keras_home() -> pathlib.Path:
    """Keras' cache folder, read from ``$KERAS_HOME`` at call time (Keras reads it at import)."""
    return pathlib.Path(os.path.expanduser(os.environ.get("KERAS_HOME") or "~/.keras"))


def is_wnid(name: str) -> bool:
    """Whether `name` is a WordNet id such as ``"n01440764"``."""
    return bool(_WNID.match(name))


def packaged_asset(name: str) -> pathlib.Path:
    """The path of a data file shipped in ``tfattr/assets/`` (it may be missing if removed)."""
    return pathlib.Path(str(importlib.resources.files("tfattr") / "assets" / name))


@functools.lru_cache(maxsize=1)
def _packaged_class_index() -> dict | None:
    """Keras' class index as shipped with tfattr, or None when the file is missing or altered."""
    path = packaged_asset(CLASS_INDEX_FILE)
    if not path.is_file():
        return None
    data = path.read_bytes()
    if hashlib.md5(data).hexdigest() != CLASS_INDEX_MD5:
        log.warning("ignoring %s: its md5 is not that of Keras' ImageNet class index", path)
        return None
    return json.loads(data)


@functools.lru_cache(maxsize=1)
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k WordNet ids in class order (from the shipped class index).

    Returns:
        A tuple of 1000 strings, ``("n01440764", "n01443537", ...)``.
    """
    index = _packaged_class_index()
    if index is not None:
        return tuple(index[str(i)][0] for i in range(1000))
    from tensorflow_datasets.datasets.imagenet2012 import imagenet_common

    with open(imagenet_common.label_names_file()) as f:
        wnids = tuple(line.strip() for line in f if line.strip())
    if len(wnids) != 1000:  # guards against a changed tfds file format
        raise RuntimeError(
            f"expected 1000 ImageNet WordNet ids in tfds' label file, got {len(wnids)}"
        )
    return wnids


def _read_class_index(path: pathlib.Path) -> tuple[str, ...] | None:
    """Names from a Keras class-index file, or None if it is absent or not the expected file."""
    if not path.is_file():
        return None
    data = path.read_bytes()
    if hashlib.md5(data).hexdigest() != CLASS_INDEX_MD5:
        log.warning("ignoring %s: its md5 is not that of Keras' ImageNet class index", path)
        return None
    index = json.loads(data)
    return tuple(index[str(i)][1] for i in range(1000))


# Keras homes where the download already failed in this process: offline, each try costs seconds.
_FAILED_DOWNLOADS: set[pathlib.Path] = set()


def _download_class_index(home: pathlib.Path) -> pathlib.Path | None:
    """Downloads the class index into Keras' cache; None when offline or the download fails."""
    import keras

    if home in _FAILED_DOWNLOADS:
        return None
    try:
        return pathlib.Path(
            keras.utils.get_file(
                CLASS_INDEX_FILE,
                CLASS_INDEX_URL,
                cache_dir=str(home),
                cache_subdir="models",
                file_hash=CLASS_INDEX_MD5,
            )
        )
    except Exception as error:  # any network failure means "use the offline fallback"
        _FAILED_DOWNLOADS.add(home)
        log.warning(
            "ImageNet class names unavailable (%s); using WordNet ids. Place %s in %s for names.",
            str(error).splitlines()[0] if str(error) else type(error).__name__,
            CLASS_INDEX_FILE,
            home / "models",
        )
        return None


def imagenet_class_names(download: bool = True) -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in Keras' class order (``"tench"``, ..., ``"toilet_tissue"``).

    Read from the class index shipped with tfattr, without any network access. Only when that
    file is missing (a broken install) does it look in ``$KERAS_HOME/models/``, download the file
    there when allowed and online, and otherwise return the WordNet ids (``"n01440764"``, ...)
    that ship with tensorflow-datasets. It never fails for lack of network.

    Args:
        download: whether to try downloading the class-index file when neither the packaged
            file nor Keras' cached copy is present.

    Returns:
        A tuple of 1000 strings: human-readable names, or WordNet ids offline.

    Example:
        >>> names = tfattr.data.imagenet_class_names()
        >>> names[281]
        'tabby'
    """
    index = _packaged_class_index()
    if index is not None:
        return tuple(index[str(i)][1] for i in range(1000))
    home = keras_home()
    names = _read_class_index(home / "models" / CLASS_INDEX_FILE)
    if names is None and download:
        path = _download_class_index(home)
        names = _read_class_index(path) if path is not None else None
    return names if names is not None else imagenet_wnids()


@functools.lru_cache(maxsize=1)
def imagenet_hub_labels() -> tuple[str, ...]:
    """The 1001 labels of TF-Hub ImageNet classifiers (``"background"``, ``"tench"``, ...).

    TF-Hub's ``ImageNetLabels.txt``, shipped with tfattr: output ``i + 1`` of a TF-Hub
    classifier is ImageNet-1k class ``i``; the names are written with spaces (``"great white
    shark"``) where Keras' index uses underscores.

    Returns:
        A tuple of 1001 strings.

    Example:
        >>> tfattr.data.imagenet_hub_labels()[341]
        'zebra'
    """
    path = packaged_asset(HUB_LABELS_FILE)
    labels = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    labels = tuple(label for label in labels if label)
    if len(labels) != 1001 or labels[0] != "background":
        raise RuntimeError(f"{path}: expected 1001 labels starting with 'background'.")
    return labels


def normalize_name(name: str) -> str:
    """Lower case, with spaces and hyphens as underscores: ``"Golden Retriever"`` -> ``"golden_retriever"``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def find_class(name: str, names, wnids=None) -> int:
    """Index of class `name` among `names` (or a WordNet id among `wnids`), case-insensitively.

    Raises:
        ValueError: the name is unknown (with close matches) or ambiguous (with the candidates).
    """
    if wnids is not None and is_wnid(name) and name in wnids:
        return list(wnids).index(name)
    key = normalize_name(name)
    hits = [i for i, candidate in enumerate(names) if normalize_name(candidate) == key]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        shown = ", ".join(f"{i}" + (f" ({wnids[i]})" if wnids else "") for i in hits)
        raise ValueError(
            f"target: the class name {name!r} is ambiguous (classes {shown}); give the index"
            f"{' or the WordNet id' if wnids else ''} instead."
        )
    close = [c for c in names if key in normalize_name(c)][:8]
    hint = f" Close matches: {close}." if close else ""
    raise ValueError(
        f"target: unknown class name {name!r}.{hint} Give a class index, or one of the model's "
        f"class names (spec.class_names)."
    )
