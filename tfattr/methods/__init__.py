"""Attribution methods: one small module each, on the shared engine and model adapter."""

from tfattr.methods.gradient_shap import GradientShap
from tfattr.methods.input_x_gradient import InputXGradient
from tfattr.methods.integrated_gradients import IntegratedGradients
from tfattr.methods.noise_tunnel import NoiseTunnel, SmoothGrad
from tfattr.methods.saliency import Saliency

__all__ = [
    "GradientShap",
    "InputXGradient",
    "IntegratedGradients",
    "NoiseTunnel",
    "Saliency",
    "SmoothGrad",
]
