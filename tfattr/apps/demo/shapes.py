"""A procedurally generated image dataset with ground-truth evidence masks.

Each image shows one shape of a class -- ``circle``, ``square``, ``triangle`` or ``cross`` -- at a
random position, scale, rotation and colour, on a textured background (a colour gradient,
sinusoidal stripes and pixel noise) with distractor clutter (short line segments and dots in
random colours). The mask marks the shape's pixels: the only evidence for the class, so a faithful
attribution of the correct class should put its mass there.

Every image is a pure function of ``(seed, index)``: the same seed gives the same images whatever
the number requested, so subsets of a dataset agree with the whole.

Example:
    >>> images, labels, masks = make_dataset(32, seed=1)
    >>> images.shape, images.dtype, masks.shape
    ((32, 48, 48, 3), dtype('uint8'), (32, 48, 48))
"""

from __future__ import annotations

import numpy as np

CLASSES = ("circle", "square", "triangle", "cross")
IMAGE_SIZE = 48
# Seeds of the splits used by the training script and the demo (disjoint streams of images).
TRAIN_SEED, VALIDATION_SEED, TEST_SEED = 1, 2, 3


def shape_mask(kind: str, size: int, cy: float, cx: float, radius: float, angle: float):
    """Boolean ``(size, size)`` mask of one shape centred at ``(cy, cx)``.

    Args:
        kind: one of :data:`CLASSES`.
        size: image side in pixels.
        cy, cx: centre, in pixels.
        radius: half the shape's extent, in pixels.
        angle: rotation in radians (ignored for circles).

    Returns:
        A bool array, True on the shape.
    """
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    dy, dx = y - cy, x - cx
    # Rotated coordinates: u along the shape's axis, v across it.
    u = np.cos(angle) * dx + np.sin(angle) * dy
    v = -np.sin(angle) * dx + np.cos(angle) * dy
    if kind == "circle":
        return dx * dx + dy * dy <= radius * radius
    if kind == "square":
        half = radius * 0.8  # equal area to the circle would be 0.89; a bit smaller reads better
        return (np.abs(u) <= half) & (np.abs(v) <= half)
    if kind == "triangle":
        # Equilateral triangle with circumradius `radius`: three half-planes.
        inside = np.ones_like(u, dtype=bool)
        for k in range(3):
            theta = angle + np.pi / 2 + 2 * np.pi * k / 3
            inside &= np.cos(theta) * dx + np.sin(theta) * dy <= radius / 2
        return inside
    if kind == "cross":
        arm = radius / 3
        return ((np.abs(u) <= radius) & (np.abs(v) <= arm)) | (
            (np.abs(v) <= radius) & (np.abs(u) <= arm)
        )
    raise ValueError(f"kind: expected one of {CLASSES}, got {kind!r}.")


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A float (size, size, 3) texture: colour gradient + stripes + noise, in 0..255."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / size
    start, end = rng.uniform(40, 215, 3), rng.uniform(40, 215, 3)
    direction = rng.uniform(0, 2 * np.pi)
    t = (np.cos(direction) * x + np.sin(direction) * y + 1.5) / 3.0
    image = start + (end - start) * t[..., None]
    frequency, orientation = rng.uniform(3, 9), rng.uniform(0, np.pi)
    stripes = np.sin(2 * np.pi * frequency * (np.cos(orientation) * x + np.sin(orientation) * y))
    image += rng.uniform(8, 25) * stripes[..., None] * rng.uniform(0.5, 1.0, 3)
    image += rng.normal(0, 8, image.shape)
    return image


def _clutter(rng: np.random.Generator, image: np.ndarray) -> None:
    """Draws 3-6 distractors (line segments and dots) into `image` in place."""
    size = image.shape[0]
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    for _ in range(rng.integers(3, 7)):
        colour = rng.uniform(0, 255, 3)
        if rng.random() < 0.5:  # a thin segment
            y0, x0 = rng.uniform(0, size, 2)
            length, theta = rng.uniform(5, 14), rng.uniform(0, np.pi)
            ux, uy = np.cos(theta), np.sin(theta)
            along = (x - x0) * ux + (y - y0) * uy
            across = -(x - x0) * uy + (y - y0) * ux
            hit = (np.abs(along) <= length / 2) & (np.abs(across) <= rng.uniform(0.5, 1.0))
        else:  # a dot, much smaller than any shape
            cy, cx = rng.uniform(0, size, 2)
            hit = (y - cy) ** 2 + (x - cx) ** 2 <= rng.uniform(1.0, 2.0) ** 2
        image[hit] = colour


def _shape_colour(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    """A random colour that stands out from the mean colour under the shape."""
    for _ in range(100):
        colour = rng.uniform(0, 255, 3)
        if np.abs(colour - background).sum() > 150:
            return colour
    return 255.0 - background  # the complement always contrasts


def make_example(seed: int, index: int, size: int = IMAGE_SIZE):
    """One example: ``(image uint8 (size, size, 3), label int, mask bool (size, size))``."""
    rng = np.random.default_rng([seed, index])
    label = int(rng.integers(len(CLASSES)))
    image = _background(rng, size)
    _clutter(rng, image)
    radius = rng.uniform(0.13, 0.25) * size
    margin = radius + 1
    cy, cx = rng.uniform(margin, size - margin, 2)
    mask = shape_mask(CLASSES[label], size, cy, cx, radius, rng.uniform(0, 2 * np.pi))
    colour = _shape_colour(rng, image[mask].mean(axis=0))
    image[mask] = colour + rng.normal(0, 6, (int(mask.sum()), 3))
    return np.clip(np.round(image), 0, 255).astype(np.uint8), label, mask


def make_dataset(count: int, seed: int = TEST_SEED, size: int = IMAGE_SIZE, start: int = 0):
    """``count`` examples ``start, start + 1, ...`` of the stream ``seed``.

    Args:
        count: number of images.
        seed: the stream (the training script uses :data:`TRAIN_SEED`, the demo
            :data:`TEST_SEED`).
        size: image side in pixels.
        start: index of the first example.

    Returns:
        ``(images uint8 (count, size, size, 3), labels int64 (count,), masks bool (count, size,
        size))``.

    Example:
        >>> images, labels, masks = make_dataset(8)
    """
    examples = [make_example(seed, start + i, size) for i in range(count)]
    images = np.stack([e[0] for e in examples])
    labels = np.asarray([e[1] for e in examples], np.int64)
    masks = np.stack([e[2] for e in examples])
    return images, labels, masks
