"""Attribution methods: one small module each, on the shared engine and model adapter."""

from tfattr.methods.activations import Activations
from tfattr.methods.deeplift import DeepLift, DeepLiftShap
from tfattr.methods.gradcam import GradCAM, GradCAMPlusPlus, GuidedGradCAM
from tfattr.methods.gradient_shap import GradientShap
from tfattr.methods.guided_backprop import GuidedBackprop
from tfattr.methods.input_x_gradient import InputXGradient
from tfattr.methods.integrated_gradients import IntegratedGradients
from tfattr.methods.noise_tunnel import NoiseTunnel, SmoothGrad
from tfattr.methods.occlusion import Occlusion
from tfattr.methods.saliency import Saliency

__all__ = [
    "Activations",
    "DeepLift",
    "DeepLiftShap",
    "GradCAM",
    "GradCAMPlusPlus",
    "GradientShap",
    "GuidedBackprop",
    "GuidedGradCAM",
    "InputXGradient",
    "IntegratedGradients",
    "NoiseTunnel",
    "Occlusion",
    "Saliency",
    "SmoothGrad",
]
