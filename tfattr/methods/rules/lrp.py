"""Layer-wise Relevance Propagation (Bach et al. 2015) with the epsilon, gamma and alpha-beta
rules and composite presets for conv nets (Montavon et al. 2019)."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core import layers, relevance
from tfattr.core.engine import Plan, gradients, images_as_points
from tfattr.core.explainer import GradientExplainer
from tfattr.core.inputs import check_choice
from tfattr.core.targets import pick, top

PRESETS = ("epsilon", "gamma", "alpha1beta0", "epsilon_gamma_box", "epsilon_plus_flat")
CONVOLUTIONS = ("Conv1D", "Conv2D", "Conv3D")


class LRP(GradientExplainer):
    """Relevance of each input element, propagated back from the target score layer by layer.

    The target score ``R = F(x)_target`` (a logit by default) is redistributed through every
    Conv/Dense layer by a rule (see :mod:`tfattr.core.relevance`): ``rule`` picks the same rule
    everywhere (``"epsilon"``, ``"gamma"``, ``"alpha1beta0"``) or a composite preset, named as
    Zennit's:

    - ``"epsilon_gamma_box"`` (default): z^B (box) for the first layer, gamma for the other
      convolutions, epsilon for dense layers;
    - ``"epsilon_plus_flat"``: flat for the first layer, alpha1-beta0 for the other
      convolutions, epsilon for dense layers.

    Activations (fused ``activation=`` included) pass relevance unchanged; a BatchNormalization
    right after a Conv/Dense layer without activation is folded into it; max-pooling is winner
    takes all; average pooling uses epsilon. The rules are backward passes of call overrides,
    so the work is one compiled forward/backward per image through the engine and the model is
    not modified. Residual ``Add`` layers and layers unknown to LRP keep their ordinary
    gradient, so relevance is not conserved through them.

    With the epsilon rule on a ReLU network without biases, relevance is conserved: each
    layer's input relevance sums to ``F(x)`` (up to epsilon); :meth:`relevance_by_layer`
    reports those sums.

    Args:
        rule: a preset above. Default ``"epsilon_gamma_box"``.
        epsilon: stabiliser of the epsilon rule. Default 1e-6 (Zennit's).
        gamma: weight of the positive part in the gamma rule. Default 0.25.
        bounds: ``(low, high)`` of the input for the z^B rule; None (default): each image's
            own minimum and maximum.

    Returns from ``explain``: ``(N, H, W, C)`` float32.

    Example:
        >>> attr = tfattr.LRP(model, rule="epsilon_plus_flat").explain(images, target=281)

    References: Bach et al., "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by
    Layer-Wise Relevance Propagation", PLOS ONE 2015; Montavon et al., "Layer-Wise Relevance
    Propagation: An Overview", 2019.
    """

    defaults = {"rule": "epsilon_gamma_box", "epsilon": 1e-6, "gamma": 0.25, "bounds": None}
    at_inputs = True

    def check_options(self, options):
        layers.require_layers(self.adapter, type(self).__name__)
        check_choice(options["rule"], "rule", PRESETS)
        for name in ("epsilon", "gamma"):
            value = options[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name}: expected a number >= 0, got {value!r}.")
        bounds = options["bounds"]
        if bounds is not None:
            try:
                low, high = (float(b) for b in bounds)
            except (TypeError, ValueError):
                raise ValueError(f"bounds: expected (low, high), got {bounds!r}.") from None
            if not low < high:
                raise ValueError(f"bounds: low must be below high, got {bounds!r}.")

    @staticmethod
    def rule_for(options):
        """``(layer, first) -> Rule`` for the chosen preset."""
        preset = options["rule"]
        shared = {"epsilon": float(options["epsilon"]), "gamma": float(options["gamma"])}
        bounds = None if options["bounds"] is None else tuple(options["bounds"])

        def choose(layer, first):
            conv = type(layer).__name__ in CONVOLUTIONS
            if preset == "epsilon":
                return relevance.Rule("epsilon", **shared)
            if preset == "gamma":
                return relevance.Rule("gamma", **shared)
            if preset == "alpha1beta0":
                return relevance.Rule("alpha_beta", **shared)
            if first:
                name = "box" if preset == "epsilon_gamma_box" else "flat"
                return relevance.Rule(name, bounds=bounds, **shared)
            if not conv:
                return relevance.Rule("epsilon", **shared)
            name = "gamma" if preset == "epsilon_gamma_box" else "alpha_beta"
            return relevance.Rule(name, **shared)

        return choose

    def plan(self, x, options):
        overrides = relevance.overrides(self.adapter, tuple(x.shape[1:]), self.rule_for(options))

        def value(points, targets, coef, adapter):
            unit, scores = gradients(adapter, points, targets, overrides)
            if targets is None:
                targets = top(scores)
            score = pick(scores, targets)
            # Every rule is linear in the relevance: seeding 1 and scaling by F(x) is LRP.
            return unit * tf.reshape(score, (-1,) + (1,) * (points.shape.rank - 1))

        return Plan(
            points=1,
            build=images_as_points,
            key=("lrp", options["rule"], float(options["epsilon"]), float(options["gamma"]))
            + (None if options["bounds"] is None else tuple(options["bounds"]),),
            value=value,
        )

    def relevance_by_layer(self, inputs, target=None, **options) -> dict[str, tf.Tensor]:
        """Per image, the total relevance at the input of each rule layer (eager; for checks).

        Returns:
            ``{layer name: (N,) sums}`` in backward order, plus ``"output"``: the target scores.
        """
        opts = self.merge_options(self.options, options)
        explainer, x, _, targets = self.prepare(inputs, target)
        if targets is None:
            targets = explainer.top_classes(x)
        store: list = []
        overrides = relevance.overrides(
            explainer.adapter, tuple(x.shape[1:]), self.rule_for(opts), store=store
        )
        with tf.GradientTape() as tape:
            tape.watch(x)
            scores = explainer.adapter(x, overrides=overrides)
            score = pick(scores, targets)
        tape.gradient(score, x)
        sums = {"output": score}
        for layer, value in store:
            total = tf.reduce_sum(value, axis=list(range(1, value.shape.rank)))
            sums[layer.name] = total * score
        return sums
