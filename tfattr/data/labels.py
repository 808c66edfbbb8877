"""ImageNet-1k class names and WordNet ids, offline first.

The 1000 classes are always in the same order: Keras' ``imagenet_class_index.json``,
tensorflow-datasets' ImageNet-2012 label file and TFDS ImageNet-A labels all use the sorted WordNet
ids. Human-readable names come from the Keras class-index file; the WordNet ids ship with
tensorflow-datasets, so they are the offline fallback and never need the network.
"""

from __future__ import annotations

import functools
import hashlib
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
_WNID = re.compile(r"^n\d{8}$")


def keras_home() -> pathlib.Path:
    """Keras' cache folder, read from ``$KERAS_HOME`` at call time (Keras reads it at import)."""
    return pathlib.Path(os.path.expanduser(os.environ.get("KERAS_HOME") or "~/.keras"))


def is_wnid(name: str) -> bool:
    """Whether `name` is a WordNet id such as ``"n01440764"``."""
    return bool(_WNID.match(name))


@functools.lru_cache(maxsize=1)
def imagenet_wnids() -> tuple[str, ...]:
    """The 1000 ImageNet-1k WordNet ids in class order, from the file tensorflow-datasets ships.

    Returns:
        A tuple of 1000 strings, ``("n01440764", "n01443537", ...)``.
    """
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

    Looks for Keras' class-index file in ``$KERAS_HOME/models/`` (default ``~/.keras``), downloads
    it there when allowed and online, and otherwise returns the WordNet ids that ship with
    tensorflow-datasets (``"n01440764"``, ...). It never fails for lack of network.

    Args:
        download: whether to try downloading the class-index file when it is not cached.

    Returns:
        A tuple of 1000 strings: human-readable names, or WordNet ids offline.

    Example:
        >>> names = tfattr.data.imagenet_class_names()
        >>> names[281]
        'tabby'
    """
    home = keras_home()
    names = _read_class_index(home / "models" / CLASS_INDEX_FILE)
    if names is None and download:
        path = _download_class_index(home)
        names = _read_class_index(path) if path is not None else None
    return names if names is not None else imagenet_wnids()


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
