"""Input checking in one place: images, targets and the options that every explainer shares."""

from __future__ import annotations

import numbers
import threading
import weakref

import numpy as np
import tensorflow as tf

from tfattr.core import targets
from tfattr.core.adapter import ModelAdapter


def as_images(inputs, adapter: ModelAdapter | None = None, name: str = "inputs"):
    """Checks images and returns ``(float32 tensor (N, H, W, C), was_single_image)``.

    Accepts array-likes of any real numeric dtype, a single image ``(H, W, C)`` or a batch
    ``(N, H, W, C)``. Raises TypeError for non-numeric data and ValueError for a wrong rank, an
    empty batch, non-finite values, or a shape the model does not accept.
    """
    if isinstance(inputs, tf.Tensor | tf.Variable):
        dtype = inputs.dtype
        if not (dtype.is_floating or dtype.is_integer) or dtype.is_complex:
            raise TypeError(f"{name}: expected real numbers, got a tensor of dtype {dtype.name}.")
        if isinstance(inputs, tf.Tensor) and dtype == tf.float32:
            x = inputs
        else:
            x = tf.cast(tf.convert_to_tensor(inputs), tf.float32)  # (a variable: its value now)
        finite = _checked_before(inputs)
        if not finite:
            finite = _all_finite(x)
            if finite:
                _remember_checked(inputs)
    else:
        array = np.asarray(inputs)
        if array.dtype == object or not (
            np.issubdtype(array.dtype, np.floating) or np.issubdtype(array.dtype, np.integer)
        ):
            raise TypeError(
                f"{name}: expected an array of real numbers (images), got dtype "
                f"{array.dtype} from {type(inputs).__name__}."
            )
        array = array.astype(np.float32, copy=False)
        finite = bool(np.isfinite(array).all())  # (numpy: no device round-trip)
        x = tf.convert_to_tensor(array)
    rank = x.shape.rank
    if rank not in (3, 4):
        raise ValueError(
            f"{name}: expected one image (H, W, C) or a batch (N, H, W, C), got shape "
            f"{tuple(x.shape)}. A grayscale image needs its channel axis: x[..., None]."
        )
    single = rank == 3
    if single:
        x = x[None]
    if x.shape[0] == 0:
        raise ValueError(f"{name}: the batch is empty (shape {tuple(x.shape)}).")
    if not finite:
        bad = int(tf.reduce_sum(tf.cast(~tf.math.is_finite(x), tf.int32)))
        raise ValueError(
            f"{name}: {bad} values are NaN or infinite; attributions of such inputs are "
            f"meaningless. Clean them first (e.g. np.nan_to_num)."
        )
    expected = adapter.input_shape if adapter is not None else None
    if expected is not None:
        got = tuple(x.shape[1:])
        if any(e is not None and e != g for e, g in zip(expected, got, strict=True)):
            shown = tuple("?" if e is None else e for e in expected)
            raise ValueError(
                f"{name}: images have shape {got} but the model expects {shown} (H, W, C). "
                f"Resize them (tf.image.resize or tfattr.data.load_image(path, size=...))."
            )
    return x, single


# Eager tensors are immutable: one that passed the check (e.g. a batch explained for several
# classes or by several methods) is not read again. Variables are mutable: always checked.
_CHECKED: dict[int, weakref.ref] = {}
_CHECKED_KEPT = 16
_CHECKED_LOCK = threading.Lock()


def _checked_before(inputs) -> bool:
    ref = _CHECKED.get(id(inputs))
    return ref is not None and ref() is inputs


def _remember_checked(inputs) -> None:
    if not isinstance(inputs, tf.Tensor) or not tf.executing_eagerly():
        return
    key = id(inputs)
    with _CHECKED_LOCK:  # (explainers may run in threads, e.g. tfattr evaluate's replicas)
        _CHECKED[key] = weakref.ref(inputs, lambda _, key=key: _CHECKED.pop(key, None))
        while len(_CHECKED) > _CHECKED_KEPT:
            _CHECKED.pop(next(iter(_CHECKED)), None)


def _all_finite(x: tf.Tensor) -> bool:
    """Whether a float tensor holds no NaN or infinity: on the host's view of a CPU tensor
    (``np.asarray`` shares the tensor's buffer, where ``.numpy()`` would copy it, and wakes no
    TF thread pool), on the device otherwise."""
    if x.device.endswith("CPU:0") and tf.executing_eagerly():
        return bool(np.isfinite(np.asarray(x)).all())
    return bool(tf.reduce_all(tf.math.is_finite(x)))


def as_targets(target, n: int, num_classes: int, name: str = "target") -> tf.Tensor | None:
    """Checks ``target`` and returns int32 ``(N,)`` class ids, or None for "the top class".

    ``target`` may be None, an int, or a sequence / 1-D array / tensor of N ints (for tools that
    need class ids; explainers also take weights and callables: :mod:`tfattr.core.targets`).
    """
    return targets.resolve(target, n, num_classes, name=name, weights=False)


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}.")
    return int(value)


def check_choice(value, name: str, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {tuple(choices)}, got {value!r}.")
    return value


def check_seed(seed, name: str = "seed") -> int:
    """A seed is None (a fresh one is drawn) or a non-negative int."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{name}: expected None or a non-negative int, got {seed!r}.")
    return int(seed)
