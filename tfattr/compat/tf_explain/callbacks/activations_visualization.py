"""tf-explain's ``ActivationsVisualizationCallback``."""

from __future__ import annotations

from pathlib import Path

from tfattr.compat.tf_explain.callbacks._base import ExplainerCallback
from tfattr.compat.tf_explain.core.activations import ExtractActivations


class ActivationsVisualizationCallback(ExplainerCallback):
    """Logs tf-explain's feature-map grid of chosen layers to TensorBoard after each epoch.

    Args:
        validation_data: ``(images, labels)``.
        layers_name: a layer name or list of names.
        output_dir: TensorBoard folder (a timestamped subfolder is created in it).

    Example:
        >>> from tfattr.compat.tf_explain.callbacks.activations_visualization import (
        ...     ActivationsVisualizationCallback)
        >>> model.fit(x, y, callbacks=[ActivationsVisualizationCallback((x_val, y_val), ["conv"])])
    """

    tag = "Activations Visualization"

    def __init__(
        self,
        validation_data,
        layers_name,
        output_dir=Path("./logs/activations_visualizations"),
    ):
        super().__init__(output_dir)
        self.validation_data = validation_data
        self.layers_name = layers_name
        self.explainer = ExtractActivations()

    def grid(self):
        return self.explainer.explain(self.validation_data, self.model, self.layers_name)
