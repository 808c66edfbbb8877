"""tfattr: attribution methods for TensorFlow/Keras image classifiers.

Example:
    >>> import tfattr
    >>> ig = tfattr.IntegratedGradients(model, steps=50)
    >>> attr, delta = ig.explain(images, target=386, return_convergence_delta=True)
"""

from tfattr.core import Explainer, ModelAdapter, adapt
from tfattr.errors import LayerNotFoundError, ModelError, OpaqueModelError, TfattrError
from tfattr.methods import (
    LRP,
    RISE,
    XRAI,
    Activations,
    BlurIntegratedGradients,
    Deconvolution,
    DeepLift,
    DeepLiftShap,
    ExpectedGradients,
    FeatureAblation,
    GradCAM,
    GradCAMPlusPlus,
    GradientShap,
    GuidedBackprop,
    GuidedGradCAM,
    GuidedIntegratedGradients,
    InputXGradient,
    IntegratedGradients,
    KernelShap,
    LayerCAM,
    Lime,
    NoiseTunnel,
    Occlusion,
    Saliency,
    ScoreCAM,
    SmoothGrad,
)

__version__ = "0.1.0"

# Submodules load on first use (``tfattr.viz`` pulls in matplotlib, ``tfattr.data`` tfds).
_SUBMODULES = (
    "adversarial",
    "callbacks",
    "cli",
    "compat",
    "data",
    "metrics",
    "models",
    "report",
    "sanity",
    "viz",
)


def __getattr__(name):
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"tfattr.{name}")
    raise AttributeError(f"module 'tfattr' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))


__all__ = [
    "__version__",
    "Activations",
    "adapt",
    "BlurIntegratedGradients",
    "Deconvolution",
    "DeepLift",
    "DeepLiftShap",
    "ExpectedGradients",
    "Explainer",
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
    "LayerNotFoundError",
    "Lime",
    "LRP",
    "ModelAdapter",
    "ModelError",
    "NoiseTunnel",
    "Occlusion",
    "OpaqueModelError",
    "RISE",
    "Saliency",
    "ScoreCAM",
    "SmoothGrad",
    "TfattrError",
    "XRAI",
]
