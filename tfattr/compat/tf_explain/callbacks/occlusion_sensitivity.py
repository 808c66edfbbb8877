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
        >>> from tfattr.compat.tf_explain.callbacks.occlusion_sensitivity import (
        ...     OcclusionSensitivityCallback)
        >>> model.fit(x, y, callbacks=[OcclusionSensitivityCallback((x_val, y_val), 0, 8)])
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
        return self.explainer.explain(
            self.validation_data, self.model, self.class_index, self.patch_size
        )
