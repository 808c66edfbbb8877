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
        >>> import keras
        >>> from tfattr.compat.tf_explain.callbacks.integrated_gradients import (
        ...     IntegratedGradientsCallback)
        >>> net = keras.models.clone_model(model)
        >>> net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        >>> callback = IntegratedGradientsCallback((x, y), 3, output_dir="logs")
        >>> _ = net.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
        >>> len(list(callback.output_dir.glob("events.out.tfevents.*")))   # one grid an epoch
        1
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
        """This epoch's integrated-gradients grid of the validation images (what
        ``on_epoch_end`` logs).

        Returns:
            uint8 grayscale grid ``(rows * H, columns * W)`` (:meth:`IntegratedGradients.explain`).

        Example:
            >>> from tfattr.compat.tf_explain.callbacks.integrated_gradients import (
            ...     IntegratedGradientsCallback)
            >>> callback = IntegratedGradientsCallback((x, y), 3, output_dir="logs")
            >>> callback.set_model(model)                 # Keras does this in fit()
            >>> callback.grid().shape
            (64, 64)
        """
        return self.explainer.explain(
            self.validation_data, self.model, self.class_index, self.n_steps
        )
