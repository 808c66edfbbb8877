"""Saliency: the gradient of the target score w.r.t. the input (Simonyan et al. 2014)."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core.engine import Plan, images_as_points, target_gradients
from tfattr.core.explainer import GradientExplainer


class Saliency(GradientExplainer):
    """Vanilla gradients ``dF_target/dx``, in absolute value unless ``abs=False`` (as Captum).

    One gradient evaluation per image. Visualise with the maximum of ``|attr|`` over channels, as
    in the paper (``tfattr.viz``).

    Args:
        model: see :class:`~tfattr.core.explainer.Explainer`.
        abs: return ``|gradient|`` (default True) or the signed gradient.

    Example:
        >>> explainer = tfattr.Saliency(model)
        >>> attr = explainer.explain(images, target=3)   # (N, H, W, C)

    Reference: Simonyan, Vedaldi, Zisserman, "Deep Inside Convolutional Networks", 2014.
    """

    defaults = {"abs": True}
    at_inputs = True

    def check_options(self, options):
        if not isinstance(options["abs"], bool):
            raise TypeError(f"abs: expected True or False, got {options['abs']!r}.")

    def plan(self, x, options):
        if not options["abs"]:  # the engine's default: the gradient at each image
            return Plan(1, images_as_points, ("saliency",))

        def absolute_gradient(points, targets, weight, adapter):
            grads, _, scores = target_gradients(adapter, points, targets)
            return tf.abs(grads), scores

        return Plan(1, images_as_points, ("saliency", "abs"), value=absolute_gradient)
