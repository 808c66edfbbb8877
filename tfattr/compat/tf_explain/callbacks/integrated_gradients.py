"""tf-explain's ``IntegratedGradientsCallback``."""

from __future__ import annotations

from pathlib import Path

from tfattr.compat.tf_explain.callbacks._base import ExplainerCallback
from tfattr.compat.tf_explain.core.integrated_gradients import IntegratedGradients


class IntegratedGradientsCallback(ExplainerCallback):
    """Logs tf-explain's integrated-gradients grid to TensorBoard after each epoch.

    Args:
        validation_data: ``(images, labels)``.
        class_index: the class to explain.
        n_steps: points on the path (tf-explain's callback default is 5, its explainer's 10).
        output_dir: TensorBoard folder (a timestamped subfolder is created in it).

    Example:
        >>> from tfattr.compat.tf_explain.callbacks.integrated_gradients import (
        ...     IntegratedGradientsCallback)
        >>> model.fit(x, y, callbacks=[IntegratedGradientsCallback((x_val, y_val), 0)])
    """

    tag = "IntegratedGradients"

    def __init__(
        self,
        validation_data,
        class_index,
        n_steps=5,
        output_dir=Path("./logs/integrated_gradients"),
    ):
        super().__init__(output_dir)
        self.validation_data = validation_data
        self.class_index = class_index
        self.n_steps = n_steps
        self.explainer = IntegratedGradients()

    def grid(self):
        return self.explainer.explain(
            self.validation_data, self.model, self.class_index, self.n_steps
        )
