"""The shared machinery: model adapter, gradient engine, input checks, baselines, quadrature."""

from tfattr.core.adapter import ModelAdapter, adapt
from tfattr.core.engine import GradientEngine, Plan, Rows
from tfattr.core.explainer import Explainer, GradientExplainer

__all__ = [
    "Explainer",
    "GradientEngine",
    "GradientExplainer",
    "ModelAdapter",
    "Plan",
    "Rows",
    "adapt",
]
