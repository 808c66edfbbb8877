"""tf-explain's explainers: ``explain(validation_data, model, class_index, ...)`` -> uint8 grid."""

from tfattr.compat.tf_explain.core.activations import ExtractActivations
from tfattr.compat.tf_explain.core.grad_cam import GradCAM
from tfattr.compat.tf_explain.core.gradients_inputs import GradientsInputs
from tfattr.compat.tf_explain.core.integrated_gradients import IntegratedGradients
from tfattr.compat.tf_explain.core.occlusion_sensitivity import OcclusionSensitivity
from tfattr.compat.tf_explain.core.smoothgrad import SmoothGrad
from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients

__all__ = [
    "ExtractActivations",
    "GradCAM",
    "GradientsInputs",
    "IntegratedGradients",
    "OcclusionSensitivity",
    "SmoothGrad",
    "VanillaGradients",
]
