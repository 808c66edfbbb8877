"""tf-explain's callbacks: each logs its explainer's grid to TensorBoard after every epoch."""

from tfattr.compat.tf_explain.callbacks.activations_visualization import (
    ActivationsVisualizationCallback,
)
from tfattr.compat.tf_explain.callbacks.grad_cam import GradCAMCallback
from tfattr.compat.tf_explain.callbacks.gradients_inputs import GradientsInputsCallback
from tfattr.compat.tf_explain.callbacks.integrated_gradients import IntegratedGradientsCallback
from tfattr.compat.tf_explain.callbacks.occlusion_sensitivity import OcclusionSensitivityCallback
from tfattr.compat.tf_explain.callbacks.smoothgrad import SmoothGradCallback
from tfattr.compat.tf_explain.callbacks.vanilla_gradients import VanillaGradientsCallback

__all__ = [
    "ActivationsVisualizationCallback",
    "GradCAMCallback",
    "GradientsInputsCallback",
    "IntegratedGradientsCallback",
    "OcclusionSensitivityCallback",
    "SmoothGradCallback",
    "VanillaGradientsCallback",
]
