"""Sanity checks: does the explanation depend on the model and not only on the input?

- :func:`model_randomization` -- Adebayo et al. 2018: re-initialise the layers from the top
  (cascading) or one at a time (independent) and measure how similar the explanation stays.
  A method that explains the model must change; one that stays similar is an edge detector.
- :func:`input_shift_invariance` -- Kindermans et al. 2017: a constant shift of the input that the
  first layer's bias absorbs leaves the model unchanged, so the explanation should not change.
- :func:`fragility` -- Ghorbani et al. 2019: small random perturbations that keep the prediction
  should keep the explanation (top-k intersection and rank correlation of the maps).

All checks work on copies of the model; the user's model is never modified.
"""

from __future__ import annotations

import dataclasses
import numbers
import warnings

import keras
import numpy as np
import tensorflow as tf

from tfattr.core.adapter import model_kind
from tfattr.core.explainer import Explainer
from tfattr.core.inputs import (
    as_images,
    as_targets,
    check_choice,
    check_positive_int,
    check_seed,
)
from tfattr.core.optional import require
from tfattr.core.random import uniform_rows
from tfattr.errors import ModelError, OpaqueModelError
from tfattr.methods.gradient.noise_tunnel import NoiseTunnel
from tfattr.metrics import pearson, spearman

__all__ = [
    "FragilityResult",
    "RandomizationResult",
    "ShiftResult",
    "copy_model",
    "fragility",
    "input_shift_invariance",
    "model_randomization",
    "plot_randomization",
    "reinitialize",
    "shifted_model",
    "similarity",
    "weighted_layers",
]

MEASURES = ("spearman_abs", "spearman", "ssim", "hog")


# ------------------------------------------------------------------------------------------
# Model copies and explainers built on them


def copy_model(model):
    """An independent copy of a Keras 3 or tf-keras model with the same weights.

    Args:
        model: a Keras 3 or tf-keras Functional or Sequential model.

    Returns:
        A new model of the same architecture and weights; changing it leaves ``model`` as it is.

    Raises:
        OpaqueModelError: the model is not a Keras model.
        ModelError: Keras cannot clone it (a subclassed model without ``get_config``).

    Example:
        >>> copy = tfattr.sanity.copy_model(model)
        >>> copy is not model and len(copy.weights) == len(model.weights)
        True
    """
    kind = model_kind(model)
    if kind not in ("keras", "tf_keras"):
        raise OpaqueModelError(
            f"model: sanity checks re-initialise or edit layers, which needs a Keras model; got a "
            f"{kind} model. Load the model as a keras.Model (tfattr.models.load(...).model)."
        )
    if kind == "keras":
        clone_model = keras.models.clone_model
    else:
        import tf_keras

        clone_model = tf_keras.models.clone_model
    try:
        copy = clone_model(model)
    except Exception as error:  # subclassed models without get_config cannot be cloned
        raise ModelError(
            f"model: could not copy the model with clone_model ({error}). Subclassed models "
            f"need get_config/from_config; a Functional or Sequential model always works."
        ) from error
    copy.set_weights(model.get_weights())
    return copy


def weighted_layers(model) -> list:
    """Layers that own weights, bottom-up, with nested models expanded.

    Args:
        model: a Keras 3 or tf-keras model.

    Returns:
        A list of layers, input side first: the order :func:`model_randomization` reverses.

    Example:
        >>> [layer.name for layer in tfattr.sanity.weighted_layers(model)]
        ['block1_conv1', 'block3_conv3', 'block5_conv3', 'predictions']
    """
    layers = []
    for layer in model.layers:
        if getattr(layer, "layers", None):
            layers.extend(weighted_layers(layer))
        elif layer.weights:
            layers.append(layer)
    return layers


def build_explainer(explainer, model) -> Explainer:
    """The explainer for `model`: `explainer(model)` for a factory, a rebuilt copy for an instance.

    An instance is rebuilt with its class, output, batch size and options (NoiseTunnel: around a
    rebuilt inner explainer); pass a factory ``lambda m: ...`` for anything else.
    """
    if isinstance(explainer, Explainer):
        if explainer.model is model:
            return explainer
        try:
            if isinstance(explainer, NoiseTunnel):  # SmoothGrad too: rebuild around the inner
                own = {k: v for k, v in explainer.options.items() if k in explainer.defaults}
                return NoiseTunnel(build_explainer(explainer.explainer, model), **own)
            return type(explainer)(
                model,
                output=explainer.adapter.output,
                batch_size=explainer.engine.batch_size,
                **explainer.options,
            )
        except TypeError as error:
            raise TypeError(
                f"explainer: could not rebuild {type(explainer).__name__} on a copy of the model "
                f"({error}); pass a factory instead, e.g. lambda m: tfattr.Saliency(m)."
            ) from error
    if callable(explainer):
        built = explainer(model)
        if not isinstance(built, Explainer):
            raise TypeError(
                f"explainer: the factory must return a tfattr explainer, got "
                f"{type(built).__name__}."
            )
        return built
    raise TypeError(
        f"explainer: expected a tfattr explainer or a factory model -> explainer, got "
        f"{type(explainer).__name__}."
    )


def _explain(explainer: Explainer, x: tf.Tensor, targets: tf.Tensor) -> np.ndarray:
    result = explainer.explain(x, target=targets)
    if isinstance(result, tuple):
        result = result[0]
    return np.asarray(result, np.float64)


# ------------------------------------------------------------------------------------------
# Similarity of explanations (Adebayo et al. 2018)


def _maps(attributions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(absolute map, signed map), each (N, H, W): channels summed."""
    a = np.asarray(attributions, np.float64)
    if a.ndim == 4:
        return np.abs(a).sum(axis=-1), a.sum(axis=-1)
    return np.abs(a), a


def _unit(maps: np.ndarray) -> np.ndarray:
    """Each map scaled to [0, 1] by its maximum (an all-zero map stays zero)."""
    top = maps.reshape(len(maps), -1).max(axis=1)[:, None, None]
    return maps / np.where(top > 0, top, 1.0)


def similarity(first, second) -> dict[str, np.ndarray]:
    """Adebayo et al.'s similarity measures between two batches of explanations.

    Args:
        first, second: ``(N, H, W, C)`` or ``(N, H, W)`` attributions.

    Returns:
        A dict of (N,) arrays: ``spearman_abs`` (rank correlation of the absolute maps),
        ``spearman`` (of the signed maps), ``ssim`` (structural similarity of the absolute maps
        scaled to [0, 1]) and ``hog`` (Pearson correlation of their HOG features).

    Example:
        >>> before = tfattr.Saliency(model).explain(x)
        >>> after = tfattr.SmoothGrad(model, samples=8, seed=0).explain(x)
        >>> tfattr.sanity.similarity(before, after)["spearman_abs"].shape   # one per image
        (2,)
    """
    hog = require("skimage.feature", "similarity (HOG)").hog
    structural_similarity = require("skimage.metrics", "similarity (SSIM)").structural_similarity

    abs1, signed1 = _maps(first)
    abs2, signed2 = _maps(second)
    if abs1.shape != abs2.shape:
        raise ValueError(f"similarity: shapes differ, {abs1.shape} and {abs2.shape}.")
    unit1, unit2 = _unit(abs1), _unit(abs2)
    h, w = abs1.shape[1:]
    window = min(7, h, w) - (1 - min(7, h, w) % 2)  # SSIM needs an odd window inside the image
    cell = max(2, min(h, w) // 4)

    def features(m):
        return hog(m, orientations=9, pixels_per_cell=(cell, cell), cells_per_block=(2, 2))

    return {
        "spearman_abs": spearman(abs1, abs2, "spearman_abs"),
        "spearman": spearman(signed1, signed2, "spearman"),
        "ssim": np.array(
            [
                structural_similarity(a, b, data_range=1.0, win_size=window)
                for a, b in zip(unit1, unit2, strict=True)
            ]
        ),
        "hog": pearson(
            np.stack([features(m) for m in unit1]), np.stack([features(m) for m in unit2]), "hog"
        ),
    }


# ------------------------------------------------------------------------------------------
# Model randomization


@dataclasses.dataclass
class RandomizationResult:
    """Similarity of explanations to the original as layers are re-initialised.

    Attributes:
        mode: ``"cascading"`` or ``"independent"``.
        layers: names of the re-initialised layers, top (logits) first.
        scores: measure -> (L, N) array; row l is the similarity after re-initialising layer l
            (cascading: layers 0..l).
        random_pairs: measure -> (N,) similarity of the original explanations of *different*
            images (image i with image i+1): the level of unrelated maps. Empty for one image.
        original: (N, H, W[, C]) the original explanations.
        randomized: (L, N, H, W[, C]) the explanation after each step.

    Example:
        >>> result = tfattr.sanity.model_randomization(model, tfattr.Saliency(model), x)
        >>> result.mode, result.layers[0]        # the top layer is re-initialised first
        ('cascading', 'predictions')
    """

    mode: str
    layers: list[str]
    scores: dict[str, np.ndarray]
    random_pairs: dict[str, np.ndarray]
    original: np.ndarray
    randomized: np.ndarray

    def mean(self, measure: str) -> np.ndarray:
        """(L,) the measure averaged over images.

        Args:
            measure: one of :data:`MEASURES` (e.g. ``"spearman_abs"``, ``"ssim"``).

        Returns:
            One value per re-initialised layer, top layer first.

        Example:
            >>> result = tfattr.sanity.model_randomization(model, tfattr.Saliency(model), x)
            >>> result.mean("spearman_abs").shape == (len(result.layers),)
            True
        """
        return np.nanmean(self.scores[check_choice(measure, "measure", MEASURES)], axis=1)

    def plot(self, ax=None, **kwargs):
        """Draws the similarity curves (see :func:`plot_randomization`).

        Args:
            ax: a matplotlib Axes (default: a new figure).
            **kwargs: :func:`plot_randomization`'s ``measures``.

        Returns:
            ``(fig, ax)``.

        Example:
            >>> result = tfattr.sanity.model_randomization(model, tfattr.Saliency(model), x)
            >>> fig, ax = result.plot(measures=("spearman_abs",))
        """
        return plot_randomization(self, ax=ax, **kwargs)


def model_randomization(
    model,
    explainer,
    images,
    target=None,
    *,
    mode: str = "cascading",
    initializer=None,
    seed: int | None = None,
    max_layers: int | None = None,
) -> RandomizationResult:
    """Model-parameter randomization test (Adebayo et al. 2018).

    On a copy of the model, layers with weights are re-initialised from the top (logits) down:
    ``cascading`` keeps the earlier re-initialisations (layers top..l random), ``independent``
    re-initialises one layer at a time. After each step the explanation of the same images and
    targets is recomputed and compared with the original by :func:`similarity`. A method that
    is sensitive to the model drives the similarity towards ``random_pairs`` (the level of
    unrelated maps); one that stays high is insensitive to the model's parameters.

    Args:
        model: a Keras 3 or tf-keras model (Functional or Sequential; nested models are walked).
        explainer: a factory ``model -> explainer`` (e.g. ``lambda m: tfattr.Saliency(m)``) or
            an explainer instance (rebuilt on each copy with the same class and options).
        images: ``(N, H, W, C)`` or one image.
        target: None (each image's top class under the original model), an int or one per image.
            The same targets are explained after every randomization.
        mode: ``"cascading"`` (default) or ``"independent"``.
        initializer: None (each weight from its layer's own initializer, e.g.
            ``kernel_initializer``; truncated normal where a layer has none) or a Keras
            initializer (name or object) used for every weight.
        seed: seed of the new weights.
        max_layers: randomize only the top ``max_layers`` layers with weights (None: all of
            them). Deep models (ResNet50 has over 100) cost one explanation per layer.

    Returns:
        A :class:`RandomizationResult`; ``result.plot()`` draws it.

    Example:
        >>> result = tfattr.sanity.model_randomization(model, lambda m: tfattr.Saliency(m), x)
        >>> means = result.mean("spearman_abs")   # one value per layer, top layer first
        >>> len(means) == len(result.layers)
        True

    Reference: Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim, "Sanity Checks for Saliency
    Maps", NeurIPS 2018.
    """
    check_choice(mode, "mode", ("cascading", "independent"))
    seed = check_seed(seed)
    original_explainer = build_explainer(explainer, model)
    x, _ = as_images(images, original_explainer.adapter, name="images")
    targets = as_targets(
        target, int(x.shape[0]), original_explainer.adapter.num_classes(x.shape[1:])
    )
    if targets is None:
        targets = original_explainer.top_classes(x)
    original = _explain(original_explainer, x, targets)

    copy = copy_model(model)
    if max_layers is not None:
        check_positive_int(max_layers, "max_layers")
    layers = weighted_layers(copy)[::-1][:max_layers]
    if not layers:
        raise ModelError("model: has no layers with weights to randomize.")
    saved = [[v.numpy() for v in layer.weights] for layer in layers]
    randomized, names = [], []
    for step, layer in enumerate(layers):
        if mode == "independent" and step > 0:
            _restore(layers[step - 1], saved[step - 1])
        reinitialize(layer, initializer, seed + step)
        randomized.append(_explain(build_explainer(explainer, copy), x, targets))
        names.append(layer.name)

    randomized = np.stack(randomized)
    per_step = [similarity(original, r) for r in randomized]
    scores = {m: np.stack([s[m] for s in per_step]) for m in MEASURES}
    random_pairs = similarity(original, np.roll(original, 1, axis=0)) if len(original) > 1 else {}
    return RandomizationResult(mode, names, scores, random_pairs, original, randomized)


def _restore(layer, values) -> None:
    for variable, value in zip(layer.weights, values, strict=True):
        variable.assign(value)


def reinitialize(layer, initializer=None, seed: int = 0) -> None:
    """Gives every weight of `layer` (trainable or not) new values from a seeded initializer.

    Args:
        layer: a Keras 3 or tf-keras layer (of a copy: it is modified in place).
        initializer: None (each weight from the layer's own ``<weight>_initializer``, truncated
            normal where it has none) or a Keras initializer (name or object) for every weight.
        seed: the same seed gives the same values.

    Example:
        >>> copy = tfattr.sanity.copy_model(model)
        >>> tfattr.sanity.reinitialize(copy.get_layer("predictions"), seed=0)
    """
    for index, variable in enumerate(layer.weights):
        # tf-keras names are "layer/kernel:0", Keras 3 names are "kernel".
        short = variable.name.split("/")[-1].split(":")[0]
        init = (
            initializer if initializer is not None else getattr(layer, f"{short}_initializer", None)
        )
        value = _draw(init, tuple(variable.shape), seed * 1000 + index)
        variable.assign(tf.cast(value, variable.dtype))


def _draw(init, shape, seed: int):
    if init is None:
        init = keras.initializers.TruncatedNormal(stddev=0.05)
    if isinstance(init, str):
        init = keras.initializers.get(init)
    config = init.get_config() if hasattr(init, "get_config") else {}
    if "seed" in config:
        # A fresh seeded instance, so that the draw depends only on `seed`.
        init = type(init).from_config({**config, "seed": seed})
    return init(shape, dtype="float32")


def plot_randomization(result: RandomizationResult, ax=None, *, measures=MEASURES):
    """Plots each similarity measure (mean over images) against the randomized layers.

    The leftmost point is the original model (similarity 1); dashed lines mark the
    random-pair level of each measure.

    Args:
        result: a :class:`RandomizationResult`.
        ax: a matplotlib Axes (a new figure when None).
        measures: which measures to draw.

    Returns:
        ``(figure, axes)``.

    Example:
        >>> result = tfattr.sanity.model_randomization(model, tfattr.Saliency(model), x)
        >>> fig, ax = tfattr.sanity.plot_randomization(result)
    """
    import matplotlib.pyplot as plt

    fig, ax = (
        plt.subplots(figsize=(1.2 + 0.6 * len(result.layers), 3.5))
        if ax is None
        else (
            ax.figure,
            ax,
        )
    )
    positions = np.arange(len(result.layers) + 1)
    for k, measure in enumerate(measures):
        color = f"C{k}"
        ax.plot(positions, [1.0, *result.mean(measure)], "o-", color=color, label=measure)
        if measure in result.random_pairs:
            level = float(np.nanmean(result.random_pairs[measure]))
            ax.axhline(level, color=color, linestyle="--", linewidth=0.8)
    ax.set_xticks(positions, ["original", *result.layers], rotation=45, ha="right")
    ax.set_ylabel("similarity to original")
    ax.set_title(f"{result.mode} randomization (dashed: random pairs)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig, ax


# ------------------------------------------------------------------------------------------
# Input shift invariance (Kindermans et al. 2017)


@dataclasses.dataclass
class ShiftResult:
    """Explanations of a model and of its input-shifted twin.

    Attributes:
        difference: (N,) ``||E2(x + c) - E1(x)|| / ||E1(x)||``.
        invariant: (N,) bool, ``difference <= tolerance``.
        model_difference: max |F2(x + c) - F1(x)| over images and classes (~0: the twin is the
            same function, so any change of the explanation is the method's fault).
        original, shifted: the two explanations.

    Example:
        >>> r = tfattr.sanity.input_shift_invariance(model, tfattr.InputXGradient(model), x)
        >>> r.difference.shape, r.invariant.shape
        ((2,), (2,))
    """

    difference: np.ndarray
    invariant: np.ndarray
    model_difference: float
    original: np.ndarray
    shifted: np.ndarray


def shifted_model(model, shift):
    """A copy of `model` whose first layer's bias absorbs a constant input shift.

    The first weighted layer (Dense or convolution, after any weightless layers such as
    Flatten) gets the bias ``b - W c``.

    Args:
        model: a Keras 3 or tf-keras model whose first weighted layer has a bias.
        shift: the constant ``c`` added to the inputs: a scalar or one value per channel.

    Returns:
        ``twin``, a copy with ``twin(x + shift) == model(x)`` (exactly with "valid" padding; a
        "same"-padded first convolution sees the shift in its zero padding).

    Raises:
        ModelError: the first weighted layer has no kernel and bias to absorb the shift.

    Example:
        >>> twin = tfattr.sanity.shifted_model(model, 0.5)
        >>> bool(np.allclose(twin(x + 0.5), model(x), atol=1e-5))
        True
    """
    twin = copy_model(model)
    layers = weighted_layers(twin)
    if not layers:
        raise ModelError("model: has no layers with weights to absorb the input shift.")
    first = layers[0]
    kernel, bias = getattr(first, "kernel", None), getattr(first, "bias", None)
    if kernel is None or bias is None:
        raise ModelError(
            f"model: the first layer with weights, {first.name!r} ({type(first).__name__}), "
            f"needs a kernel and a bias (use_bias=True) to absorb an input shift."
        )
    k = np.asarray(kernel.numpy() if hasattr(kernel, "numpy") else kernel, np.float64)
    channels = int(model.inputs[0].shape[-1])
    c = np.broadcast_to(np.asarray(shift, np.float64), (channels,))
    if k.ndim >= 3:  # convolution (..., in, out): each output sees sum_k W[k, in, out] c[in]
        delta = np.tensordot(c, k.sum(axis=tuple(range(k.ndim - 2))), axes=(0, 0))
    elif k.shape[0] == channels:  # Dense on the channel axis
        delta = c @ k
    else:  # Dense after Flatten: the shift, flattened like the image
        image = tuple(int(d) for d in model.inputs[0].shape[1:])
        delta = np.broadcast_to(c, image).reshape(-1) @ k
    bias.assign((np.asarray(bias.numpy(), np.float64) - delta).astype("float32"))
    return twin


def input_shift_invariance(
    model,
    explainer,
    images,
    target=None,
    *,
    shift=-1.0,
    tolerance: float = 1e-3,
) -> ShiftResult:
    """Input-shift invariance (Kindermans et al. 2017).

    Builds ``twin`` with ``twin(x + shift) == model(x)`` for every x (the first layer's bias
    absorbs the shift, :func:`shifted_model`) and compares the explanation of ``model`` at ``x``
    with that of ``twin`` at ``x + shift``. The two models are the same function, so a reliable
    explanation is unchanged: gradients (Saliency) are; Input x Gradient and IG with a zero
    baseline are not.

    Args:
        model: a Keras model whose first weighted layer is Dense or a convolution with bias
            (with "valid" padding: zero padding is not shifted, so "same" padding breaks the
            equivalence at the borders, which ``model_difference`` reports).
        explainer: a factory ``model -> explainer`` or an explainer instance (rebuilt on the
            twin).
        images: ``(N, H, W, C)`` or one image.
        target: None (top class), an int or one per image.
        shift: the constant added to the input: a number or one per channel. The paper shifts
            MNIST from [0, 1] to [-1, 0] (``shift=-1``).
        tolerance: largest relative change of the explanation counted as invariant.

    Returns:
        A :class:`ShiftResult`.

    Example:
        >>> r = tfattr.sanity.input_shift_invariance(model, lambda m: tfattr.Saliency(m), x)
        >>> bool(r.invariant.all())
        True

    Reference: Kindermans, Hooker, Adebayo, Alber, Schuett, Daehne, Erhan, Kim, "The
    (Un)reliability of Saliency Methods", 2017.
    """
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or tolerance < 0:
        raise ValueError(f"tolerance: expected a number >= 0, got {tolerance!r}.")
    first = build_explainer(explainer, model)
    x, _ = as_images(images, first.adapter, name="images")
    c = np.asarray(shift, np.float32)
    if c.ndim > 1 or (c.ndim == 1 and c.shape[0] != x.shape[-1]) or not np.all(np.isfinite(c)):
        raise ValueError(
            f"shift: expected a finite number or one per channel ({int(x.shape[-1])}), got "
            f"{shift!r}."
        )
    targets = as_targets(target, int(x.shape[0]), first.adapter.num_classes(x.shape[1:]))
    if targets is None:
        targets = first.top_classes(x)
    twin = build_explainer(explainer, shifted_model(model, c))
    moved = x + c
    model_difference = float(
        tf.reduce_max(tf.abs(twin.engine.scores(moved) - first.engine.scores(x)))
    )
    scale = float(tf.reduce_max(tf.abs(first.engine.scores(x)))) + 1e-12
    if model_difference > 1e-3 * scale:
        warnings.warn(
            f"input_shift_invariance: the shifted model differs from the original by "
            f"{model_difference:.3g} (scores up to {scale:.3g}), so the two models are not the "
            f"same function (e.g. 'same' zero padding in the first convolution); the check is "
            f"only meaningful for layers with 'valid' padding or Dense first layers.",
            RuntimeWarning,
            stacklevel=2,
        )
    original = _explain(first, x, targets)
    shifted = _explain(twin, moved, targets)
    n = len(original)
    norm = np.linalg.norm(original.reshape(n, -1), axis=1)
    change = np.linalg.norm((shifted - original).reshape(n, -1), axis=1)
    difference = change / np.where(norm > 0, norm, 1.0)
    return ShiftResult(difference, difference <= tolerance, model_difference, original, shifted)


# ------------------------------------------------------------------------------------------
# Fragility (Ghorbani et al. 2019)


@dataclasses.dataclass
class FragilityResult:
    """Stability of explanations under prediction-preserving noise.

    Attributes:
        topk_intersection: (N,) mean over kept perturbations of the fraction of the top-k
            pixels of the original map that stay in the top-k.
        spearman: (N,) mean rank correlation of the absolute maps.
        kept: (N,) how many perturbations kept the prediction (only those are counted).

    Example:
        >>> r = tfattr.sanity.fragility(model, tfattr.Saliency(model), x, epsilon=0.01, seed=0)
        >>> r.topk_intersection.shape
        (2,)
    """

    topk_intersection: np.ndarray
    spearman: np.ndarray
    kept: np.ndarray


def fragility(
    model,
    explainer,
    images,
    target=None,
    *,
    epsilon: float = 0.02,
    samples: int = 8,
    k: float | int = 0.1,
    seed: int | None = None,
) -> FragilityResult:
    """Fragility: how much an explanation moves under small noise that keeps the prediction.

    Each image gets ``samples`` random-sign perturbations ``x + epsilon * s`` (``s`` in {-1, 1}
    per element, the random baseline of Ghorbani et al.); perturbations that change the predicted
    class are discarded. The explanation of the perturbed image (for the same target) is compared
    with the original by the top-k intersection and the Spearman rank correlation of the absolute
    maps (channels summed). Higher is more robust.

    Args:
        model: the model the explainer explains (a Keras model, SavedModel or callable).
        explainer: a factory ``model -> explainer`` or an explainer instance.
        images: ``(N, H, W, C)`` or one image.
        target: None (top class), an int or one per image.
        epsilon: size of the perturbation per element, in the model's input scale.
        samples: perturbations per image.
        k: number of top pixels (int) or fraction of the pixels (float in (0, 1)).
        seed: seed of the perturbations.

    Returns:
        A :class:`FragilityResult`; images whose prediction every perturbation changed get NaN,
        with a RuntimeWarning.

    Example:
        >>> result = tfattr.sanity.fragility(model, tfattr.Saliency(model), x, epsilon=0.01, seed=0)

    Reference: Ghorbani, Abid, Zou, "Interpretation of Neural Networks is Fragile", AAAI 2019.
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or epsilon <= 0:
        raise ValueError(f"epsilon: expected a number > 0, got {epsilon!r}.")
    if isinstance(samples, bool) or not isinstance(samples, numbers.Integral) or samples < 1:
        raise ValueError(f"samples: expected an int >= 1, got {samples!r}.")
    seed = check_seed(seed)
    explain = build_explainer(explainer, model)
    x, _ = as_images(images, explain.adapter, name="images")
    n, h, w = (int(d) for d in x.shape[:3])
    top = _top_count(k, h * w)
    targets = as_targets(target, n, explain.adapter.num_classes(x.shape[1:]))
    predicted = explain.top_classes(x)
    if targets is None:
        targets = predicted
    reference = _maps(_explain(explain, x, targets))[0].reshape(n, -1)
    reference_top = _top_sets(reference, top)

    overlap = np.zeros((n, samples))
    ranks = np.zeros((n, samples))
    keep = np.zeros((n, samples), bool)
    for sample in range(samples):
        # Draw s is shared by the images: an image's result does not depend on its batch.
        draw = uniform_rows(seed, tf.constant([sample]), tuple(x.shape[1:]), stream=13)
        signs = tf.sign(draw - 0.5)
        noisy = x + float(epsilon) * signs
        keep[:, sample] = (explain.top_classes(noisy) == predicted).numpy()
        moved = _maps(_explain(explain, noisy, targets))[0].reshape(n, -1)
        overlap[:, sample] = [
            len(a & b) / top for a, b in zip(reference_top, _top_sets(moved, top), strict=True)
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # constant maps: counted below
            ranks[:, sample] = spearman(reference, moved)
    kept = keep.sum(axis=1)
    if np.any(kept == 0):
        warnings.warn(
            f"fragility: every perturbation changed the prediction of images "
            f"{np.flatnonzero(kept == 0).tolist()}; their scores are NaN (lower epsilon).",
            RuntimeWarning,
            stacklevel=2,
        )
    if np.any(np.isnan(ranks) & keep):
        warnings.warn(
            "fragility: some maps are constant, so their rank correlation is undefined (NaN).",
            RuntimeWarning,
            stacklevel=2,
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_overlap = np.where(
            kept > 0, np.where(keep, overlap, 0).sum(1) / np.maximum(kept, 1), np.nan
        )
        mean_ranks = np.where(
            kept > 0, np.where(keep, ranks, 0).sum(1) / np.maximum(kept, 1), np.nan
        )
    return FragilityResult(mean_overlap, mean_ranks, kept)


def _top_count(k, pixels: int) -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Real):
        raise ValueError(f"k: expected an int >= 1 or a fraction in (0, 1), got {k!r}.")
    if isinstance(k, numbers.Integral):
        if not 1 <= k <= pixels:
            raise ValueError(f"k: expected an int in [1, {pixels}] (pixels), got {k!r}.")
        return int(k)
    if not 0 < k < 1:
        raise ValueError(f"k: expected a fraction in (0, 1) or an int, got {k!r}.")
    return max(1, int(round(k * pixels)))


def _top_sets(maps: np.ndarray, top: int) -> list[set]:
    order = np.argsort(-maps, axis=1, kind="stable")[:, :top]
    return [set(row.tolist()) for row in order]
