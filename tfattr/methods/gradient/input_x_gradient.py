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

    at_inputs = True

    def plan(self, x, options):
        def input_weighted(images, rows, tensors):  # the point is x, its gradient's weight x
            return images, images

        return Plan(1, input_weighted, ("input_x_gradient",))
