"""Attribution methods: one small module each, on the shared engine and model adapter."""

from tfattr.methods.activations import Activations
from tfattr.methods.blur_ig import BlurIntegratedGradients
from tfattr.methods.deconvolution import Deconvolution
from tfattr.methods.deeplift import DeepLift, DeepLiftShap
from tfattr.methods.feature_ablation import FeatureAblation
from tfattr.methods.gradcam import GradCAM, GradCAMPlusPlus, GuidedGradCAM
from tfattr.methods.gradient_shap import GradientShap
from tfattr.methods.guided_backprop import GuidedBackprop
from tfattr.methods.guided_ig import GuidedIntegratedGradients
from tfattr.methods.input_x_gradient import InputXGradient
from tfattr.methods.integrated_gradients import IntegratedGradients
from tfattr.methods.layer_cam import LayerCAM
from tfattr.methods.lime import KernelShap, Lime
from tfattr.methods.lrp import LRP
from tfattr.methods.noise_tunnel import NoiseTunnel, SmoothGrad
from tfattr.methods.occlusion import Occlusion
from tfattr.methods.rise import RISE
from tfattr.methods.saliency import Saliency
from tfattr.methods.score_cam import ScoreCAM
from tfattr.methods.xrai import XRAI

# Expected Gradients (Erion et al. 2021) is GradientShap with a background stack as baselines.
ExpectedGradients = GradientShap

__all__ = [
    "Activations",
    "BlurIntegratedGradients",
    "Deconvolution",
    "DeepLift",
    "DeepLiftShap",
    "ExpectedGradients",
    "FeatureAblation",
    "GradCAM",
    "GradCAMPlusPlus",
    "GradientShap",
    "GuidedBackprop",
    "GuidedGradCAM",
    "GuidedIntegratedGradients",
    "InputXGradient",
    "IntegratedGradients",
    "KernelShap",
    "LayerCAM",
    "Lime",
    "LRP",
    "NoiseTunnel",
    "Occlusion",
    "RISE",
    "Saliency",
    "ScoreCAM",
    "SmoothGrad",
    "XRAI",
]
