"""tf-explain's ``OcclusionSensitivityCallback``."""

from __future__ import annotations

from pathlib import Path

from tfattr.compat.tf_explain.callbacks._base import ExplainerCallback
from tfattr.compat.tf_explain.core.occlusion_sensitivity import OcclusionSensitivity


class OcclusionSensitivityCallback(ExplainerCallback):
    """Logs tf-explain's occlusion-sensitivity grid to TensorBoard after each epoch.

    Args:
        validation_data: ``(images, labels)``.
        class_index: the class to explain.
        patch_size: side of the grey patches, in pixels.
        output_dir: TensorBoard folder (a timestamped subfolder is created in it).

    Example:
        >>> import keras
        >>> from tfattr.compat.tf_explain.callbacks.occlusion_sensitivity import (
        ...     OcclusionSensitivityCallback)
        >>> net = keras.models.clone_model(model)
        >>> net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        >>> callback = OcclusionSensitivityCallback((x, y), 3, 8, output_dir="logs")
        >>> _ = net.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
        >>> len(list(callback.output_dir.glob("events.out.tfevents.*")))   # one grid an epoch
        1
    """

    tag = "Occlusion Sensitivity"

    def __init__(
        self,
        validation_data,
        class_index,
        patch_size,
        output_dir=Path("./logs/occlusion_sensitivity"),
    ):
        super().__init__(output_dir)
        self.validation_data = validation_data
        self.class_index = class_index
        self.patch_size = patch_size
        self.explainer = OcclusionSensitivity()

    def grid(self):
        """This epoch's occlusion-sensitivity grid of the validation images (what
        ``on_epoch_end`` logs).

        Returns:
            uint8 RGB grid ``(rows * H, columns * W, 3)`` (:meth:`OcclusionSensitivity.explain`).

        Example:
            >>> from tfattr.compat.tf_explain.callbacks.occlusion_sensitivity import (
            ...     OcclusionSensitivityCallback)
            >>> callback = OcclusionSensitivityCallback((x, y), 3, 8, output_dir="logs")
            >>> callback.set_model(model)                 # Keras does this in fit()
            >>> callback.grid().shape
            (64, 64, 3)
        """
        return self.explainer.explain(
            self.validation_data, self.model, self.class_index, self.patch_size
        )
