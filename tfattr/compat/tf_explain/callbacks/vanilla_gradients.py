"""tf-explain's ``VanillaGradientsCallback``."""

from __future__ import annotations

from pathlib import Path

from tfattr.compat.tf_explain.callbacks._base import ExplainerCallback
from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients


class VanillaGradientsCallback(ExplainerCallback):
    """Logs tf-explain's vanilla-gradients grid to TensorBoard after each epoch.

    The score model (the model without its final activation layer) is set up once, when Keras
    hands the model to the callback. The tag is the explainer's class name.

    Args:
        validation_data: ``(images, labels)``.
        class_index: the class to explain.
        output_dir: TensorBoard folder (default ``./logs/vanilla_gradients``; a timestamped
            subfolder is created in it).

    Example:
        >>> from tfattr.compat.tf_explain.callbacks.vanilla_gradients import (
        ...     VanillaGradientsCallback)
        >>> model.fit(x, y, callbacks=[VanillaGradientsCallback((x_val, y_val), class_index=0)])
    """

    explainer = VanillaGradients()
    default_output_subdir = "vanilla_gradients"

    def __init__(self, validation_data, class_index, output_dir=None):
        if not output_dir:
            output_dir = Path("./logs") / self.default_output_subdir
        super().__init__(output_dir)
        self.validation_data = validation_data
        self.class_index = class_index
        self.score_model = None
        self.tag = type(self.explainer).__name__

    def set_model(self, model):
        super().set_model(model)
        self.score_model = self.explainer.get_score_model(model)

    def grid(self):
        return self.explainer.explain_score_model(
            self.validation_data, self.score_model, self.class_index
        )
