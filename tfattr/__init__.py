"""tfattr: attribution methods for TensorFlow/Keras image classifiers.

Example:
    >>> import tfattr
    >>> ig = tfattr.IntegratedGradients(model, steps=50)
    >>> attr, delta = ig.explain(images, target=386, return_convergence_delta=True)
"""

from tfattr.core import Explainer, ModelAdapter, adapt
from tfattr.errors import LayerNotFoundError, ModelError, OpaqueModelError, TfattrError
from tfattr.methods import (
    GradientShap,
    InputXGradient,
    IntegratedGradients,
    NoiseTunnel,
    Saliency,
    SmoothGrad,
)

__version__ = "0.1.0"

__all__ = [
    "Explainer",
    "GradientShap",
    "InputXGradient",
    "IntegratedGradients",
    "LayerNotFoundError",
    "ModelAdapter",
    "ModelError",
    "NoiseTunnel",
    "OpaqueModelError",
    "Saliency",
    "SmoothGrad",
    "TfattrError",
    "__version__",
    "adapt",
]
