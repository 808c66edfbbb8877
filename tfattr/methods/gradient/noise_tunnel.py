"""NoiseTunnel: SmoothGrad, SmoothGrad-squared and VarGrad over any gradient explainer."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from tfattr.core import random
from tfattr.core.engine import fused
from tfattr.core.explainer import Explainer, GradientExplainer
from tfattr.core.inputs import check_choice, check_positive_int, check_seed

KINDS = ("smoothgrad", "smoothgrad_sq", "vargrad")
_STATISTICS = {"smoothgrad": ("sum",), "smoothgrad_sq": ("sumsq",), "vargrad": ("sum", "sumsq")}


@fused
def _add_noise(images, image, sigma, noise, draw):
    """``images[image] + sigma * noise[draw]`` per row, in one fused pass."""
    return tf.gather(images, image) + sigma * tf.gather(noise, draw)


class NoiseTunnel(Explainer):
    """A statistic of another explainer's attributions over Gaussian-noised copies of the input.

    With ``a_s`` the wrapped explainer's attribution of ``x + e_s``, ``e_s ~ N(0, sigma^2)``:
    ``smoothgrad`` = mean_s a_s, ``smoothgrad_sq`` = mean_s a_s^2, ``vargrad`` =
    mean_s a_s^2 - (mean_s a_s)^2 (Captum's definitions). ``sigma`` is ``stddev`` when given
    (absolute, Captum's ``stdevs``), else ``spread * (max(x) - min(x))`` per image (the SmoothGrad
    paper's 10-20 %). The ``samples x points`` model evaluations stream through the engine in
    chunks of the wrapped explainer's ``batch_size``; the noise of sample s comes from
    ``(seed, s)``, so results do not depend on batching. Targets default to the top class of the
    clean image.

    Args:
        explainer: a gradient explainer (Saliency, InputXGradient, IntegratedGradients,
            GradientShap, ...); its model, batch size and options are used.
        kind: ``smoothgrad`` (default), ``smoothgrad_sq`` or ``vargrad``.
        samples: noisy copies per image. Default 50.
        stddev: absolute noise standard deviation, or None to use ``spread``.
        spread: noise level relative to each image's value range when ``stddev`` is None.
        seed: seed of the noise.

    Options of the wrapped explainer can be overridden per call too:
    ``NoiseTunnel(IntegratedGradients(model)).explain(x, steps=20)``.

    Example:
        >>> nt = tfattr.NoiseTunnel(tfattr.IntegratedGradients(model), kind="smoothgrad_sq")
        >>> attr = nt.explain(images, target=3, samples=10, seed=0)

    References: Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017;
    Adebayo et al., "Local Explanation Methods for Deep Neural Networks Lack Sensitivity to
    Parameter Values", 2018 (VarGrad).
    """

    defaults = {"kind": "smoothgrad", "samples": 50, "stddev": None, "spread": 0.15, "seed": None}

    def __init__(self, explainer: Explainer, **options):
        if not isinstance(explainer, GradientExplainer) or isinstance(explainer, NoiseTunnel):
            raise TypeError(
                f"explainer: NoiseTunnel wraps a gradient explainer instance such as "
                f"tfattr.Saliency(model) or tfattr.IntegratedGradients(model), got "
                f"{type(explainer).__name__}."
            )
        if not explainer.plan_is_attribution:
            raise TypeError(
                f"explainer: NoiseTunnel cannot wrap {type(explainer).__name__}: its attribution "
                f"is not a sum of per-row values that noisy copies can share. Average its "
                f"attributions of noisy inputs yourself, or wrap Saliency, IntegratedGradients, "
                f"GradCAM, ..."
            )
        self.explainer = explainer
        self.adapter, self.engine, self.spec = explainer.adapter, explainer.engine, explainer.spec
        self.options = self.merge_options(self.defaults, options)

    def merge_options(self, base, overrides):
        own = {k: v for k, v in overrides.items() if k in self.defaults}
        inner = {k: v for k, v in overrides.items() if k not in self.defaults}
        merged = super().merge_options(base, own)
        if inner:
            self.explainer.merge_options(self.explainer.options, inner)  # validates
        return {**merged, **inner}

    def check_options(self, options):
        check_choice(options["kind"], "kind", KINDS)
        check_positive_int(options["samples"], "samples")
        for name in ("stddev", "spread"):
            value = options[name]
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or value < 0
            ):
                raise ValueError(f"{name}: expected a number >= 0, got {value!r}.")
        if options["stddev"] is None and options["spread"] is None:
            raise ValueError("stddev and spread are both None; give one of them.")
        check_seed(options["seed"])

    def attribute(self, x, targets, options):
        inner_options = {k: v for k, v in options.items() if k not in self.defaults}
        inner_options = self.explainer.merge_options(self.explainer.options, inner_options)
        if inner_options.get("return_convergence_delta"):
            raise ValueError(
                "return_convergence_delta: not available through NoiseTunnel; call the wrapped "
                "explainer on the noisy inputs yourself to study completeness."
            )
        inner = self.explainer.plan(x, inner_options)
        if targets is None:
            targets = self.explainer.top_classes(x)
        if options["stddev"] is not None:
            scale = tf.fill((int(x.shape[0]),), float(options["stddev"]))
        else:
            axes = list(range(1, x.shape.rank))
            scale = options["spread"] * (tf.reduce_max(x, axes) - tf.reduce_min(x, axes))

        def build(images, rows, tensors):
            """The wrapped explainer's points and weights, at ``x + sigma * noise[sample]``."""
            # The chunk's rows share few samples: one noise image per sample, not per row.
            samples = rows.first_group + tf.range(rows.group_span)
            noise = random.normal_rows(tensors["noise_seed"], samples, images.shape[1:], 4)
            sigma = tf.reshape(tf.gather(tensors["noise_scale"], rows.image), (-1, 1, 1, 1))
            noisy = _add_noise(*rows.gathered(images), sigma, noise, rows.group - rows.first_group)
            return inner.build(noisy, dataclasses.replace(rows, source=None), tensors)

        samples, kind = options["samples"], options["kind"]
        plan = dataclasses.replace(
            inner,
            build=build,
            key=("noise_tunnel", inner.key),
            tensors={
                **inner.tensors,
                "noise_seed": tf.constant(check_seed(options["seed"]), tf.int64),
                "noise_scale": scale,
            },
            groups=samples,
            statistics=_STATISTICS[kind],
        )
        stats = self.engine.run(x, targets, plan)
        if kind == "smoothgrad":
            return stats["sum"] / samples
        mean_square = stats["sumsq"] / samples
        if kind == "smoothgrad_sq":
            return mean_square
        return mean_square - tf.square(stats["sum"] / samples)

    def __repr__(self):
        return f"NoiseTunnel({self.explainer!r}, kind={self.options['kind']!r})"


class SmoothGrad(NoiseTunnel):
    """SmoothGrad: the mean signed gradient over noisy copies of the input.

    ``SmoothGrad(model, ...)`` is ``NoiseTunnel(Saliency(model, abs=False), kind="smoothgrad")``;
    pass ``kind="smoothgrad_sq"`` or ``"vargrad"`` for the other statistics.

    Args:
        model: see :class:`~tfattr.core.explainer.Explainer` (``output``, ``batch_size``,
            ``output_index``, ``jit_compile``, ``progress``, ``allow_nonfinite`` are accepted
            too).
        samples, stddev, spread, seed, kind: see :class:`NoiseTunnel`.

    Example:
        >>> attr = tfattr.SmoothGrad(model, samples=50, seed=0).explain(images, target=3)

    Reference: Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017.
    """

    def __init__(
        self,
        model,
        *,
        output="logits",
        batch_size=32,
        output_index=None,
        jit_compile=False,
        progress=None,
        allow_nonfinite=False,
        **options,
    ):
        from tfattr.methods.gradient.saliency import Saliency

        saliency = Saliency(
            model,
            abs=False,
            output=output,
            batch_size=batch_size,
            output_index=output_index,
            jit_compile=jit_compile,
            progress=progress,
            allow_nonfinite=allow_nonfinite,
        )
        super().__init__(saliency, **options)
