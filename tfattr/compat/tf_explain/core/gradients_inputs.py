"""tf-explain's ``GradientsInputs``, computed by :class:`tfattr.InputXGradient`."""

from __future__ import annotations

import tfattr
from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients


class GradientsInputs(VanillaGradients):
    """Input x gradient maps in a grayscale grid (tf-explain's ``GradientsInputs``).

    As :class:`VanillaGradients` (same score, same grayscale conversion) with ``x * dF/dx``.

    Example:
        >>> from tfattr.compat.tf_explain.core.gradients_inputs import GradientsInputs
        >>> grid = GradientsInputs().explain((images, None), model, class_index=3)
    """

    tfattr_method = tfattr.InputXGradient

    @staticmethod
    def attributions(explainer, images, class_index):
        return explainer.explain(images, target=class_index)
