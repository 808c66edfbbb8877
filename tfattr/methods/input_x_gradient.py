"""Input x Gradient (Shrikumar et al. 2016)."""

from __future__ import annotations

from tfattr.core.engine import Plan
from tfattr.core.explainer import GradientExplainer


class InputXGradient(GradientExplainer):
    """The input times the gradient of the target score, ``x * dF_target/dx``.

    Equal to Integrated Gradients with a zero baseline for models that are linear in their input.

    Args:
        model: the model to explain; ``output``, ``batch_size`` and the other common options
            are those of :class:`~tfattr.core.explainer.Explainer`.

    Example:
        >>> attr = tfattr.InputXGradient(model).explain(images, target=3)

    Reference: Shrikumar et al., "Not Just a Black Box: Learning Important Features Through
    Propagating Activation Differences", 2016.
    """

    def plan(self, x, options):
        return Plan(
            points=1,
            make_rows=lambda x_rows, rows, tensors: (x_rows, x_rows),
            key=("input_x_gradient",),
            argmax_targets=True,
        )
