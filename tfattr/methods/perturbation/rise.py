"""RISE (Petsiuk, Das, Saenko 2018): saliency from the scores of randomly masked inputs."""

from __future__ import annotations

import math

import tensorflow as tf

from tfattr.core import random
from tfattr.core import segments as seg
from tfattr.core.engine import Plan
from tfattr.core.explainer import Explainer
from tfattr.core.inputs import check_positive_int, check_seed
from tfattr.core.targets import pick


def masks(seed, sample, grid_size: int, keep_probability, size: tuple) -> tf.Tensor:
    """RISE masks ``(B, H, W)`` in [0, 1] for sample indices ``sample`` (B,).

    A ``grid_size`` square of Bernoulli(``keep_probability``) cells is upsampled bilinearly to
    ``(grid_size + 1) * cell`` (``cell = ceil(size / grid_size)``) and cropped to ``size`` at a
    random shift in ``[0, cell)`` per axis, as in the paper.
    """
    height, width = size
    cell = (math.ceil(height / grid_size), math.ceil(width / grid_size))
    grid = random.uniform_rows(seed, sample, (grid_size, grid_size), stream=31)
    grid = tf.cast(grid < keep_probability, tf.float32)
    big = ((grid_size + 1) * cell[0], (grid_size + 1) * cell[1])
    up = tf.image.resize(grid[..., None], big, method="bilinear")[..., 0]
    shift = random.uniform_rows(seed, sample, (2,), stream=32)
    dy = tf.cast(shift[:, 0] * cell[0], tf.int32)
    dx = tf.cast(shift[:, 1] * cell[1], tf.int32)
    up = tf.gather(up, dy[:, None] + tf.range(height)[None], axis=1, batch_dims=1)
    return tf.gather(up, dx[:, None] + tf.range(width)[None], axis=2, batch_dims=1)


class RISE(Explainer):
    """Randomized Input Sampling: the mean of random masks weighted by the masked input's score.

    ``S(x) = sum_s F(x * M_s) M_s / sum_s M_s`` (per pixel), with ``x * M`` meaning
    ``baseline + M (x - baseline)``. The normalisation by the masks' sum is Xplique's; the
    paper divides by ``samples * keep_probability``, the sum's expectation. Masks follow the
    paper (see :func:`masks`) and are drawn on the device from ``(seed, mask index)``, so no more
    than ``batch_size`` of them exist at once and every image of a call sees the same masks. The
    score is the explainer's ``output`` (logits by default; the paper uses probabilities: pass
    ``output="probabilities"``).

    Args:
        samples: number of masks (forward passes per image). Default 4000 (the paper's).
        grid_size: cells per side of the low-resolution grid. Default 7 (the paper's).
        keep_probability: probability that a cell is kept. Default 0.5 (the paper's ``p``).
        baseline: what masked-out pixels become (number or array broadcastable to one image).
            Default 0.
        seed: seed of the masks; the same seed gives identical results.

    Returns from ``explain``: ``(N, H, W)`` float32 maps.

    Example:
        >>> saliency = tfattr.RISE(model, samples=2000, seed=0).explain(images, target=3)

    Reference: Petsiuk, Das, Saenko, "RISE: Randomized Input Sampling for Explanation of
    Black-box Models", BMVC 2018.
    """

    defaults = {
        "samples": 4000,
        "grid_size": 7,
        "keep_probability": 0.5,
        "baseline": 0.0,
        "seed": None,
    }

    def check_options(self, options):
        check_positive_int(options["samples"], "samples")
        check_positive_int(options["grid_size"], "grid_size")
        p = options["keep_probability"]
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
            raise ValueError(f"keep_probability: expected a number in (0, 1], got {p!r}.")
        check_seed(options["seed"])

    def attribute(self, x, targets, options):
        if targets is None:
            targets = self.top_classes(x)
        size = tuple(int(d) for d in x.shape[1:3])
        grid_size = options["grid_size"]
        if grid_size > min(size):
            raise ValueError(f"grid_size: {grid_size} is larger than the image {size}.")

        def build(images, rows, tensors):
            mask = masks(tensors["seed"], rows.point, grid_size, tensors["keep"], size)
            baseline = tensors["baseline"]
            return baseline + mask[..., None] * (images - baseline), mask

        def value(points, row_targets, mask, adapter):
            score = pick(adapter(points), row_targets)
            return tf.stack([score[:, None, None] * mask, mask], axis=-1)

        plan = Plan(
            points=options["samples"],
            build=build,
            key=("rise", grid_size, size),
            tensors={
                "seed": tf.constant(check_seed(options["seed"]), tf.int64),
                "keep": tf.constant(float(options["keep_probability"]), tf.float32),
                "baseline": seg.baseline_value(options["baseline"], tuple(x.shape[1:])),
            },
            value=value,
        )
        sums = self.engine.run(x, targets, plan)["sum"]
        return sums[..., 0] / tf.maximum(sums[..., 1], 1e-12)
