"""Imports of packages that only a few features need, installed with an extra of tfattr.

``pip install "tfattr[segments]"`` adds scikit-image (superpixels for Lime, KernelShap, XRAI and
FeatureAblation, SSIM/HOG in :func:`tfattr.sanity.similarity`). Without it those features raise an
ImportError that says which extra to install; the rest of tfattr works.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# distribution-importable module -> (extra, package name on PyPI)
EXTRAS = {"skimage": ("segments", "scikit-image")}


def require(module: str, feature: str) -> ModuleType:
    """Imports ``module`` (e.g. ``"skimage.segmentation"``), or raises an ImportError naming the extra.

    Args:
        module: dotted module name; its top-level package must be listed in ``EXTRAS``.
        feature: what needs it, for the message (e.g. ``"segments='slic'"``).

    Returns:
        The imported module.

    Example:
        >>> segmentation = require("skimage.segmentation", "Lime's superpixels")
    """
    top = module.partition(".")[0]
    extra, package = EXTRAS[top]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name is None or error.name.partition(".")[0] != top:
            raise  # the package is there but one of its own dependencies is missing
        raise ImportError(
            f"{feature} needs {package}, which is not installed. Install it with "
            f'pip install "tfattr[{extra}]" (or pip install {package}).'
        ) from error
