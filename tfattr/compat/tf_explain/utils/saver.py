"""Writing grids to image files (Pillow, so no OpenCV); the format follows the extension."""

from __future__ import annotations

import pathlib

import numpy as np


def save_rgb(image, output_dir, output_name):
    """Writes a uint8 RGB ``(H, W, 3)`` image to ``output_dir/output_name`` (folders created)."""
    return _save(image, output_dir, output_name)


def save_grayscale(image, output_dir, output_name):
    """Writes a uint8 grayscale ``(H, W)`` or ``(H, W, 1)`` image to ``output_dir/output_name``."""
    image = np.asarray(image)
    return _save(image[..., 0] if image.ndim == 3 else image, output_dir, output_name)


def _save(image, output_dir, output_name) -> pathlib.Path:
    from PIL import Image

    path = pathlib.Path(output_dir) / output_name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(image, np.uint8)).save(path)
    return path
