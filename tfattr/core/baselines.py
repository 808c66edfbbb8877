"""Baselines (references) for path and reference-based methods, resolved in one place.

A baseline lives in the model's input space (the preprocessed tensor the model sees):

- ``None``: zeros (Captum's default). For inputs preprocessed by mean subtraction (caffe style)
  zero is the mean colour, for inputs in [-1, 1] mid-grey.
- ``"black"`` / ``"white"``: the black / white image in the model's input scale when that scale
  is known -- ``value_range=(low, high)`` (every element at ``low`` / ``high``), or the
  preprocessing of a :class:`tfattr.models.ModelSpec` the explainer was built on (per channel:
  ``preprocess(0)`` / ``preprocess(255)``, e.g. minus the ImageNet mean in BGR for VGG). When
  it is not known, ``"black"`` is zeros and ``"white"`` every element at the image's maximum.
- ``"uniform"``: noise uniform between black and white (as above; unknown: between the image's
  minimum and maximum), drawn from ``seed``.
- ``"blur"``: the image blurred with a Gaussian of ``blur_sigma`` pixels (default: the larger
  side / 8), as in the blurred baselines of Sturmfels et al. 2020.
- a tensor broadcastable to one image (a scalar, ``(C,)``, ``(H, W, C)``, ``(1, H, W, C)``).
- a stack ``(K, H, W, C)`` of K baselines, whose results are averaged (e.g. the "random
  baselines" Integrated Gradients of the classic tutorial);
- one baseline per image, explicitly: ``per_image(b)`` with ``b`` of shape ``(N, H, W, C)``
  (image i against ``b[i]``, Captum's reading of that shape), or ``(N, K, H, W, C)`` for K
  baselines per image, averaged per image.

A stack whose K equals the number of images N (N > 1) could mean either "K baselines for every
image" or "one baseline per image" (Captum reads it the second way): it is refused, naming both
readings, until it is wrapped in ``per_image(b)`` or ``stack(b)``. The ``baselines`` option of
GradientShap and DeepLiftShap is a distribution of references, so its rows are always a stack.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import tensorflow as tf

from tfattr.core import targets as target_kinds
from tfattr.core.inputs import as_images
from tfattr.core.random import uniform_rows

NAMES = ("black", "white", "uniform", "blur")


@dataclasses.dataclass(frozen=True)
class Tagged:
    """Baseline values with their reading made explicit (see :func:`per_image`, :func:`stack`)."""

    values: object
    per_image: bool

    def __repr__(self) -> str:
        kind = "per_image" if self.per_image else "stack"
        return f"{kind}(shape={tuple(np.shape(self.values))})"


def per_image(values) -> Tagged:
    """Marks baselines as one per image: ``(N, H, W, C)`` (image i against ``values[i]``) or
    ``(N, K, H, W, C)`` (K per image, their results averaged per image).

    Example:
        >>> ig.explain(images, baseline=tfattr.core.baselines.per_image(blurred_images))
    """
    return Tagged(values, True)


def stack(values) -> Tagged:
    """Marks ``(K, H, W, C)`` baselines as a stack shared by every image, results averaged.

    Example:
        >>> ig.explain(images, baseline=tfattr.core.baselines.stack(random_references))
    """
    return Tagged(values, False)


@dataclasses.dataclass
class Baselines:
    """Resolved baselines: ``values`` is ``(K, H, W, C)`` shared by all images, or, when
    ``per_image``, ``(N*K, H, W, C)`` with image i's baselines at rows ``i*K .. i*K+K-1``."""

    values: tf.Tensor
    count: int
    per_image: bool

    @property
    def layout(self) -> str:
        """``single`` (one shared baseline), ``shared`` (K shared) or ``per_image``."""
        if self.per_image:
            return "per_image"
        return "single" if self.count == 1 else "shared"

    @property
    def tensors(self) -> dict[str, tf.Tensor]:
        """What a compiled step needs to pick baselines (see :func:`pick`)."""
        return {"baselines": self.values, "baseline_count": tf.constant(self.count, tf.int32)}

    def per_image_stack(self, n: int) -> tf.Tensor:
        """``(N, K, H, W, C)``: every image's baselines."""
        if self.per_image:
            return tf.reshape(self.values, (n, self.count, *self.values.shape[1:]))
        return tf.broadcast_to(self.values[None], (n, *self.values.shape))


def resolve(
    baseline,
    x: tf.Tensor,
    *,
    seed: int = 0,
    value_range=None,
    blur_sigma=None,
    spec=None,
    name: str = "baseline",
) -> Baselines:
    """Turns a baseline option into :class:`Baselines` for the images ``x`` (N, H, W, C).

    ``value_range`` (low, high) or, without it, ``spec`` (a ModelSpec: its preprocessing)
    give the black and white images of the model's input scale (:func:`black_and_white`).
    """
    shape = tuple(x.shape[1:])
    if baseline is None:
        return Baselines(tf.zeros((1, *shape)), 1, False)
    if isinstance(baseline, str):
        if baseline not in NAMES:
            raise ValueError(
                f"{name}: expected one of {NAMES}, a tensor broadcastable to one image "
                f"{shape}, a stack {_dims('K', shape)} or per_image(b), got {baseline!r}."
            )
        if baseline == "blur":
            return Baselines(gaussian_blur(x, blur_sigma), 1, True)
        colours = black_and_white(shape, value_range, spec)
        if colours is not None:
            black, white = colours
            if baseline == "black":
                return Baselines(black, 1, False)
            if baseline == "white":
                return Baselines(white, 1, False)
            noise = uniform_rows(seed, tf.zeros((1,), tf.int32), shape, stream=7)
            return Baselines(black + (white - black) * noise, 1, False)
        if baseline == "black":
            return Baselines(tf.zeros((1, *shape)), 1, False)
        lo, hi = _value_range(x, None, name)
        if baseline == "white":
            return Baselines(tf.broadcast_to(hi, x.shape), 1, True)
        noise = uniform_rows(seed, tf.zeros((1,), tf.int32), shape, stream=7)
        return Baselines(lo + (hi - lo) * noise, 1, True)
    tagged = isinstance(baseline, Tagged)
    explicit = baseline.per_image if tagged else None
    if tagged:
        baseline = baseline.values
    if explicit is None and name == "baselines":
        explicit = False  # a distribution of references (GradientShap, DeepLiftShap)
    array = baseline.numpy() if isinstance(baseline, tf.Tensor | tf.Variable) else baseline
    n = int(x.shape[0])
    accepted = (
        f"one baseline broadcastable to {shape} (a scalar, ({shape[-1]},), {shape}, "
        f"{_dims(1, shape)}), a stack of baselines {_dims('K', shape)} shared by every image, "
        f"or per_image(b) with b of shape {_dims(n, shape)} or {_dims(n, shape, 'K')}"
    )
    ndim = np.ndim(array)
    if explicit:
        return _per_image(array, n, shape, accepted, name)
    if ndim > 4:
        raise ValueError(f"{name}: got shape {np.shape(array)}; expected {accepted}.")
    if ndim != 4:
        try:
            array = np.broadcast_to(np.asarray(array), shape)[None]
        except ValueError:
            raise ValueError(
                f"{name}: got shape {np.shape(array)}, which does not broadcast to one image "
                f"{shape}; expected {accepted}."
            ) from None
    values, _ = as_images(array, name=name)
    if tuple(values.shape[1:]) != shape:
        raise ValueError(f"{name}: got shape {tuple(values.shape)}; expected {accepted}.")
    count = int(values.shape[0])
    if explicit is None and count == n > 1:
        raise ValueError(
            f"{name}: shape {tuple(values.shape)} for {n} images can be read two ways: one "
            f"baseline per image (image i against {name}[i], Captum's reading), or a stack of "
            f"{n} baselines whose results are averaged for every image. Say which: "
            f"{name}=tfattr.core.baselines.per_image(b) or "
            f"{name}=tfattr.core.baselines.stack(b)."
        )
    return Baselines(values, count, False)


def _dims(lead, shape, second=None) -> str:
    """``(lead, [second,] *shape)`` written out, e.g. ``(K, 8, 8, 3)``."""
    parts = [lead, *([] if second is None else [second]), *shape]
    return "(" + ", ".join(str(p) for p in parts) + ")"


def _per_image(array, n, shape, accepted, name) -> Baselines:
    """``per_image(b)``: ``(N, *shape)`` or ``(N, K, *shape)`` as per-image baselines."""
    got = tuple(np.shape(array))
    if len(got) == len(shape) + 1 and got[0] == n and got[1:] == shape:
        values, _ = as_images(array, name=name)
        return Baselines(values, 1, True)
    if len(got) == len(shape) + 2 and got[0] == n and got[2:] == shape and got[1] > 0:
        values, _ = as_images(np.reshape(np.asarray(array), (-1, *shape)), name=name)
        return Baselines(values, got[1], True)
    raise ValueError(
        f"{name}: per_image baselines of shape {got} do not match {n} images of shape "
        f"{shape}; expected {_dims(n, shape)} or {_dims(n, shape, 'K')}, or without per_image: "
        f"{accepted.split(', or per_image')[0]}."
    )


def black_and_white(shape: tuple, value_range=None, spec=None):
    """The black and white images ``(1, *shape)`` in the model's input scale, or None.

    From ``value_range=(low, high)`` (every element at low / high), else from the
    preprocessing of ``spec`` (a :class:`tfattr.models.ModelSpec`) applied to a black (0) and a
    white (255) uint8 image, else None (the scale is unknown).

    Example:
        >>> black, white = black_and_white((8, 8, 3), spec=tfattr.models.load("vgg16", None))
        >>> black[0, 0, 0].numpy()   # BGR minus the ImageNet mean
        array([-103.939, -116.779, -123.68 ], dtype=float32)
    """
    shape = tuple(int(d) for d in shape)
    if value_range is not None:
        lo, hi = _value_range(None, value_range, "value_range")
        return tf.fill((1, *shape), lo), tf.fill((1, *shape), hi)
    preprocess = getattr(spec, "preprocess", None)
    if preprocess is None:
        return None
    images = [tf.fill((1, *shape), tf.constant(v, tf.uint8)) for v in (0, 255)]
    black, white = (tf.cast(preprocess(image), tf.float32) for image in images)
    if tuple(black.shape) != (1, *shape):
        raise ValueError(
            f"baseline: the preprocessing of {getattr(spec, 'name', 'the model')!r} maps a "
            f"black image of shape {(1, *shape)} to shape {tuple(black.shape)}; pass "
            f"value_range=(low, high) or a baseline tensor."
        )
    return black, white


def _value_range(x, value_range, name):
    """Per-image (lo, hi) as (N, 1, 1, 1) tensors, or the given constants."""
    if value_range is not None:
        try:
            lo, hi = (float(v) for v in value_range)
        except (TypeError, ValueError):
            raise ValueError(f"value_range: expected (low, high), got {value_range!r}.") from None
        if not lo < hi:
            raise ValueError(f"value_range: low must be below high, got {value_range!r}.")
        return tf.constant(lo), tf.constant(hi)
    axes = list(range(1, x.shape.rank))
    return (
        tf.reduce_min(x, axis=axes, keepdims=True),
        tf.reduce_max(x, axis=axes, keepdims=True),
    )


def gaussian_blur(x: tf.Tensor, sigma=None) -> tf.Tensor:
    """Gaussian blur of images ``(N, H, W, C)`` per channel, with reflected borders."""
    height, width = int(x.shape[1]), int(x.shape[2])
    if sigma is None:
        sigma = max(height, width) / 8
    if not isinstance(sigma, int | float) or isinstance(sigma, bool) or sigma <= 0:
        raise ValueError(f"blur_sigma: expected a positive number of pixels, got {sigma!r}.")
    radius = min(int(math.ceil(3 * sigma)), height - 1, width - 1)
    if radius < 1:
        return x
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = tf.constant(taps / taps.sum(), tf.float32)
    channels = int(x.shape[3])
    padded = tf.pad(x, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    rows = tf.tile(tf.reshape(taps, (-1, 1, 1, 1)), (1, 1, channels, 1))
    cols = tf.tile(tf.reshape(taps, (1, -1, 1, 1)), (1, 1, channels, 1))
    blurred = tf.nn.depthwise_conv2d(padded, rows, [1, 1, 1, 1], "VALID")
    return tf.nn.depthwise_conv2d(blurred, cols, [1, 1, 1, 1], "VALID")


def pick(tensors: dict, layout: str, image: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
    """Inside a compiled step: baseline ``k`` of image ``image`` for each row.

    With the ``single`` layout the one baseline is returned as ``(1, H, W, C)`` for
    broadcasting, sparing a copy per row.
    """
    if layout == "single":
        return tensors["baselines"]
    index = image * tensors["baseline_count"] + k if layout == "per_image" else k
    return tf.gather(tensors["baselines"], index)


def mean_baseline_scores(engine, baselines: Baselines, targets: tf.Tensor) -> tf.Tensor:
    """Mean over each image's K baselines of the target score F(baseline): (N,)."""
    n = int(targets.shape[0])
    scores = engine.scores(baselines.values)  # (K or N*K, classes)
    if baselines.per_image:
        scores = tf.reshape(scores, (n, baselines.count, -1))
        return tf.reduce_mean(target_kinds.pick(scores, targets), axis=1)
    picked = target_kinds.pick_each(scores, targets)  # (K, N)
    return tf.reduce_mean(picked, axis=0)


def convergence_delta(engine, x, attributions, targets, baselines: Baselines) -> tf.Tensor:
    """Completeness error per image: ``sum(attr) - (F(x) - mean_k F(b_k))``."""
    at_input = engine.target_scores(x, targets)
    at_baseline = mean_baseline_scores(engine, baselines, targets)
    total = tf.reduce_sum(attributions, axis=list(range(1, attributions.shape.rank)))
    return total - (at_input - at_baseline)
