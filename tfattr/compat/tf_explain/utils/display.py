"""Grids and heat-map overlays as tf-explain draws them, with matplotlib colormaps (no OpenCV).

tf-explain colours its maps with OpenCV (``cv2.applyColorMap``) and blends with
``cv2.addWeighted``. Here the same steps run in NumPy, and OpenCV's ``COLORMAP_*`` integers map
to the matplotlib colormaps of the same name (OpenCV's viridis, magma, inferno, plasma, cividis
and twilight tables are matplotlib's; its jet, rainbow, hsv and the other older maps differ
slightly in their breakpoints).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import tensorflow as tf

# OpenCV's colormap ids (cv2.COLORMAP_*), so scripts can keep passing the same ints.
COLORMAP_AUTUMN = 0
COLORMAP_BONE = 1
COLORMAP_JET = 2
COLORMAP_WINTER = 3
COLORMAP_RAINBOW = 4
COLORMAP_OCEAN = 5
COLORMAP_SUMMER = 6
COLORMAP_SPRING = 7
COLORMAP_COOL = 8
COLORMAP_HSV = 9
COLORMAP_PINK = 10
COLORMAP_HOT = 11
COLORMAP_PARULA = 12
COLORMAP_MAGMA = 13
COLORMAP_INFERNO = 14
COLORMAP_PLASMA = 15
COLORMAP_VIRIDIS = 16
COLORMAP_CIVIDIS = 17
COLORMAP_TWILIGHT = 18
COLORMAP_TWILIGHT_SHIFTED = 19
COLORMAP_TURBO = 20
COLORMAP_DEEPGREEN = 21

OPENCV_COLORMAPS = {
    COLORMAP_AUTUMN: "autumn",
    COLORMAP_BONE: "bone",
    COLORMAP_JET: "jet",
    COLORMAP_WINTER: "winter",
    COLORMAP_RAINBOW: "rainbow",
    COLORMAP_OCEAN: "ocean",
    COLORMAP_SUMMER: "summer",
    COLORMAP_SPRING: "spring",
    COLORMAP_COOL: "cool",
    COLORMAP_HSV: "hsv",
    COLORMAP_PINK: "pink",
    COLORMAP_HOT: "hot",
    COLORMAP_MAGMA: "magma",
    COLORMAP_INFERNO: "inferno",
    COLORMAP_PLASMA: "plasma",
    COLORMAP_VIRIDIS: "viridis",
    COLORMAP_CIVIDIS: "cividis",
    COLORMAP_TWILIGHT: "twilight",
    COLORMAP_TWILIGHT_SHIFTED: "twilight_shifted",
    COLORMAP_TURBO: "turbo",
}


def resolve_colormap(colormap):
    """A matplotlib colormap for an OpenCV ``COLORMAP_*`` int, a matplotlib name or object.

    Raises:
        ValueError: an OpenCV colormap matplotlib does not have (parula, deepgreen) or an
            unknown id or name.
    """
    import matplotlib

    if isinstance(colormap, matplotlib.colors.Colormap):
        return colormap
    if isinstance(colormap, int | np.integer) and not isinstance(colormap, bool):
        name = OPENCV_COLORMAPS.get(int(colormap))
        if name is None:
            raise ValueError(
                f"colormap: OpenCV colormap {int(colormap)} has no matplotlib equivalent; pass "
                f"one of the ids {sorted(OPENCV_COLORMAPS)} or a matplotlib colormap name "
                f"(e.g. 'viridis')."
            )
        return matplotlib.colormaps[name]
    if isinstance(colormap, str):
        if colormap not in matplotlib.colormaps:
            raise ValueError(f"colormap: {colormap!r} is not a matplotlib colormap name.")
        return matplotlib.colormaps[colormap]
    raise TypeError(
        f"colormap: expected an OpenCV COLORMAP_* int, a matplotlib colormap name or object, got "
        f"{type(colormap).__name__}."
    )


def grid_display(array, num_rows=None, num_columns=None):
    """Tiles images ``(N, H, W[, C])`` into one ``(rows * H, columns * W[, C])`` image.

    Without ``num_rows``/``num_columns`` the grid is the smallest square, ``ceil(sqrt(N))`` on a
    side; missing cells are black (zeros). Rows are filled first.

    Args:
        array: the images, all of one shape and dtype.
        num_rows: rows of the grid (columns follow from N unless given too).
        num_columns: columns of the grid; kept when ``num_rows * num_columns < N`` (the rows are
            increased, with a warning, as tf-explain).

    Returns:
        The grid, same dtype as ``array``.
    """
    array = np.asarray(array)
    count = len(array)
    if num_rows is not None and num_columns is not None:
        if num_rows * num_columns < count:
            warnings.warn(
                "Given values for num_rows and num_columns doesn't allow to display all images. "
                "Values have been overrided to respect at least num_columns",
                stacklevel=2,
            )
            num_rows = math.ceil(count / num_columns)
    elif num_rows is not None:
        num_columns = math.ceil(count / num_rows)
    elif num_columns is not None:
        num_rows = math.ceil(count / num_columns)
    else:
        num_rows = num_columns = math.ceil(math.sqrt(count))
    padded = np.zeros((num_rows * num_columns, *array.shape[1:]), array.dtype)
    padded[:count] = array
    rows = [
        np.concatenate(padded[r * num_columns : (r + 1) * num_columns], axis=1)
        for r in range(num_rows)
    ]
    return np.concatenate(rows, axis=0)


def filter_display(array, num_rows=None, num_columns=None):
    """Grid of every channel of feature maps ``(N, H, W, C)``: image-major, then channel."""
    array = np.asarray(array)
    if array.ndim != 4:
        raise ValueError(
            f"filter_display: expected feature maps (N, H, W, C), got shape {array.shape}."
        )
    channels = np.transpose(array, (0, 3, 1, 2)).reshape(-1, *array.shape[1:3])
    return grid_display(channels, num_rows, num_columns)


def image_to_uint_255(image):
    """An image as uint8 in [0, 255]: uint8 stays, [-1, 1] and [0, 1] are rescaled.

    Float images whose maximum exceeds 1 are taken to be in [0, 255] already (tf-explain
    multiplies them by 255 again, and the uint8 cast wraps around); anything outside [0, 255]
    after the rescaling is clipped.
    """
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    image = image.astype(np.float64)
    if image.min() < 0:
        image = (image + 1.0) / 2.0 * 255.0
    elif image.max() <= 1.0:
        image = image * 255.0
    # astype truncates, as tf-explain's conversion does.
    return np.clip(image, 0, 255).astype(np.uint8)


def heatmap_display(heatmap, original_image, colormap=COLORMAP_VIRIDIS, image_weight=0.7):
    """Blends a colour-mapped heat map over an image, as tf-explain's ``heatmap_display``.

    The map is resized (bilinear) to the image, scaled to [0, 1] by its own minimum and maximum
    (a constant map becomes zeros rather than NaN), quantised to uint8, coloured, and added to
    ``image_weight`` times the image with saturation:
    ``clip(round(image_weight * image + colour), 0, 255)`` (OpenCV's ``addWeighted`` with the
    heat map at weight 1).

    Args:
        heatmap: ``(h, w)`` map.
        original_image: ``(H, W, C)`` image (see :func:`image_to_uint_255` for its range).
        colormap: an OpenCV ``COLORMAP_*`` int, a matplotlib colormap name or object.
        image_weight: weight of the image in [0, 1]; 0 shows the heat map alone.

    Returns:
        uint8 RGB ``(H, W, 3)``.
    """
    image = image_to_uint_255(original_image)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    image = image[..., :3]
    heat = np.asarray(heatmap, np.float32)
    heat = tf.image.resize(heat[..., None], image.shape[:2], method="bilinear")[..., 0].numpy()
    low, span = heat.min(), heat.max() - heat.min()
    unit = (heat - low) / span if span > 0 else np.zeros_like(heat)
    levels = (unit * 255).astype(np.uint8)
    colours = np.rint(resolve_colormap(colormap)(levels / 255.0)[..., :3] * 255.0)
    blended = np.rint(float(image_weight) * image.astype(np.float64) + colours)
    return np.clip(blended, 0, 255).astype(np.uint8)
