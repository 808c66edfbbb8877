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
        >>> import keras
        >>> from tfattr.compat.tf_explain.callbacks.activations_visualization import (
        ...     ActivationsVisualizationCallback)
        >>> net = keras.models.clone_model(model)
        >>> net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        >>> callback = ActivationsVisualizationCallback((x, y), ["block1_conv1"], output_dir="logs")
        >>> _ = net.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
        >>> len(list(callback.output_dir.glob("events.out.tfevents.*")))   # one grid an epoch
        1
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
        """This epoch's feature-map grid of the validation images (what ``on_epoch_end`` logs).

        Returns:
            uint8 grayscale grid ``(rows * h, columns * w)`` (:meth:`ExtractActivations.explain`).

        Example:
            >>> from tfattr.compat.tf_explain.callbacks.activations_visualization import (
            ...     ActivationsVisualizationCallback)
            >>> callback = ActivationsVisualizationCallback((x, y), ["block1_conv1"],
            ...                                             output_dir="logs")
            >>> callback.set_model(model)                 # Keras does this in fit()
            >>> callback.grid().shape
            (90, 90)
        """
        return self.explainer.explain(self.validation_data, self.model, self.layers_name)
