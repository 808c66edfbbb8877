"""tf-explain's ``GradientsInputs``, computed by :class:`tfattr.InputXGradient`."""

from __future__ import annotations

import tfattr
from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients


class GradientsInputs(VanillaGradients):
    """Input x gradient maps in a grayscale grid (tf-explain's ``GradientsInputs``).

    As :class:`VanillaGradients` (same score, same grayscale conversion) with ``x * dF/dx``.

    Example:
        >>> import keras
        >>> from tfattr.compat.tf_explain.core.gradients_inputs import GradientsInputs
        >>> scores = keras.layers.Dense(10)(keras.layers.Flatten()(model.input))
        >>> classifier = keras.Model(model.input, keras.layers.Softmax()(scores))
        >>> grid = GradientsInputs().explain((images, None), classifier, class_index=3)
        >>> grid.shape, grid.dtype.name    # 2 grayscale maps of 32 x 32 in a 2 x 2 grid
        ((64, 64), 'uint8')
    """

    tfattr_method = tfattr.InputXGradient

    @staticmethod
    def attributions(explainer, images, class_index):
        return explainer.explain(images, target=class_index)
