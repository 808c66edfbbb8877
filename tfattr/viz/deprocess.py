"""Undo a model's preprocessing so that the tensor the model saw can be shown as an RGB photo.

Attributions are computed on the preprocessed tensor (``shared/DESIGN.md``: explain what the
model sees); to draw them over the image we need it back in displayable RGB. The inverses of
Keras' three ``preprocess_input`` modes are here, plus ``[0, 1]`` (TF-Hub models), under the
mode names of ``tfattr.models.Preprocess`` (``caffe``, ``tf``, ``torch``, ``unit``, ``none``), so
that a ``ModelSpec`` is enough to display its inputs: its ``preprocess.mode`` names the inverse
(a spec may also carry its own ``deprocess`` callable).

Every function takes an array-like (numpy or tf) of shape ``(..., H, W, 3)`` and returns uint8 RGB.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Keras' caffe mode subtracts these means from the BGR channels (keras.applications.imagenet_utils).
CAFFE_BGR_MEAN = np.array([103.939, 116.779, 123.68], np.float32)
# Keras' torch mode scales to [0, 1], then standardises each RGB channel with these.
TORCH_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
TORCH_STD = np.array([0.229, 0.224, 0.225], np.float32)


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _float(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def deprocess_caffe(x) -> np.ndarray:
    """Inverse of caffe preprocessing (VGG16/19, ResNet50): add the BGR means, BGR -> RGB.

    Args:
        x: caffe-preprocessed images ``(..., H, W, 3)`` (BGR, ImageNet means subtracted).

    Returns:
        uint8 RGB images of the same shape.

    Example:
        >>> import keras
        >>> vgg_input = keras.applications.vgg16.preprocess_input(photo.astype("float32"))
        >>> rgb = tfattr.viz.deprocess_caffe(vgg_input)
        >>> rgb.dtype.name, int(np.abs(rgb.astype(int) - photo).max()) <= 1
        ('uint8', True)
    """
    x = _float(x)
    return _to_uint8((x + CAFFE_BGR_MEAN)[..., ::-1])


def deprocess_tf(x) -> np.ndarray:
    """Inverse of tf preprocessing (``x / 127.5 - 1``; InceptionV3, MobileNet): [-1, 1] -> uint8.

    Args:
        x: images in [-1, 1], shape ``(..., H, W, 3)``.

    Returns:
        uint8 RGB images of the same shape.

    Example:
        >>> tfattr.viz.deprocess_tf(np.array([-1.0, 0.0, 1.0])).tolist()
        [0, 128, 255]
    """
    return _to_uint8((_float(x) + 1.0) * 127.5)


def deprocess_torch(x) -> np.ndarray:
    """Inverse of torch preprocessing (``(x / 255 - mean) / std`` per RGB channel).

    Args:
        x: standardised images ``(..., H, W, 3)``.

    Returns:
        uint8 RGB images of the same shape.

    Example:
        >>> rgb = tfattr.viz.deprocess_torch(tfattr.models.Preprocess("torch")(photo))
        >>> int(np.abs(rgb.astype(int) - photo).max()) <= 1
        True
    """
    return _to_uint8((_float(x) * TORCH_STD + TORCH_MEAN) * 255.0)


def deprocess_unit(x) -> np.ndarray:
    """Images in [0, 1] (TF-Hub models) -> uint8.

    Args:
        x: images in [0, 1], shape ``(..., H, W, 3)``.

    Returns:
        uint8 RGB images of the same shape.

    Example:
        >>> tfattr.viz.deprocess_unit(np.array([0.0, 0.5, 1.0])).tolist()
        [0, 128, 255]
    """
    return _to_uint8(_float(x) * 255.0)


def deprocess_none(x) -> np.ndarray:
    """Images already in [0, 255] -> uint8 (clipped and rounded).

    Args:
        x: images in [0, 255] (any dtype), shape ``(..., H, W, 3)``.

    Returns:
        uint8 RGB images of the same shape.

    Example:
        >>> tfattr.viz.deprocess_none(np.array([-3.0, 127.6, 300.0])).tolist()
        [0, 128, 255]
    """
    return _to_uint8(_float(x))


DEPROCESSORS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "caffe": deprocess_caffe,
    "tf": deprocess_tf,
    "torch": deprocess_torch,
    "unit": deprocess_unit,
    "none": deprocess_none,
}
"""Named inverses of keras.applications preprocessing: name -> function to uint8 RGB."""
_ALIASES = {
    "[0,1]": "unit",
    "0_1": "unit",
    "0-1": "unit",
    "[-1,1]": "tf",
    "-1_1": "tf",
    "raw": "none",
    "uint8": "none",
    "[0,255]": "none",
}


def get_deprocess(mode: str) -> Callable[[np.ndarray], np.ndarray]:
    """The inverse of a named preprocessing mode.

    Args:
        mode: ``"caffe"``, ``"tf"`` (also ``"[-1,1]"``), ``"torch"``, ``"unit"`` (also
            ``"[0,1]"``) or ``"none"`` (also ``"raw"``, ``"uint8"``), case-insensitive.

    Returns:
        A function ``array (..., H, W, 3) -> uint8 RGB``.

    Example:
        >>> to_rgb = tfattr.viz.get_deprocess("[-1,1]")         # an alias of "tf"
        >>> to_rgb is tfattr.viz.deprocess_tf, to_rgb(np.zeros((2, 2, 3))).dtype.name
        (True, 'uint8')
    """
    key = str(mode).strip().lower().replace(" ", "")
    key = _ALIASES.get(key, key)
    if key not in DEPROCESSORS:
        raise ValueError(
            f"deprocess: unknown preprocessing mode {mode!r}; expected one of "
            f"{sorted(DEPROCESSORS)} (aliases {sorted(_ALIASES)}) or a function."
        )
    return DEPROCESSORS[key]


def resolve_deprocess(deprocess=None, spec=None) -> Callable[[np.ndarray], np.ndarray] | None:
    """Chooses the deprocess function from an explicit argument or a model spec.

    Args:
        deprocess: None, a mode name (see :func:`get_deprocess`), a callable, or a spec-like
            object (below). Takes precedence over ``spec``.
        spec: a ``tfattr.models.ModelSpec`` (its ``preprocess.mode``), or any object with a
            callable ``deprocess`` attribute or a ``preprocessing`` mode name.

    Returns:
        A callable, or None when neither argument says anything (images are then shown as they
        are, if they are in [0, 1] or [0, 255]).

    Example:
        >>> tfattr.viz.resolve_deprocess(spec=spec) is tfattr.viz.deprocess_caffe
        True
        >>> tfattr.viz.resolve_deprocess("tf", spec=spec) is tfattr.viz.deprocess_tf
        True
        >>> tfattr.viz.resolve_deprocess() is None
        True
    """

    for source in (deprocess, spec):
        if source is None:
            continue
        if isinstance(source, str):
            return get_deprocess(source)
        own = getattr(source, "deprocess", None)
        if callable(own):
            return own
        # A spec names its preprocessing: ``preprocessing="caffe"`` or ``preprocess=Preprocess(
        # "caffe")`` (tfattr.models.ModelSpec), whose ``mode`` names the inverse to use here.
        name = getattr(source, "preprocessing", None)
        if not isinstance(name, str):
            name = getattr(getattr(source, "preprocess", None), "mode", None)
        if isinstance(name, str):
            return get_deprocess(name)
        if callable(source):
            return source
        raise TypeError(
            f"deprocess: expected a mode name, a function or a ModelSpec-like object (with a "
            f"deprocess function or a preprocessing name), got {type(source).__name__}."
        )
    return None
