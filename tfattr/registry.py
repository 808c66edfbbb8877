"""The method registry: one line per attribution method, shared by the CLI, the demo and evaluate.

Each :class:`MethodInfo` names the explainer class, the options the command-line tools use by
default (chosen to be quick and reasonable on CPU; every option can still be changed per run),
and what the method needs. Adding a method to the tools is adding one entry to :data:`METHODS`.

Example:
    >>> from tfattr import registry
    >>> explainer = registry.make("integrated_gradients", model, steps=16)
    >>> registry.METHODS["gradcam"].cam
    True
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "ALIASES",
    "CLASSES",
    "METHODS",
    "MethodInfo",
    "make",
    "opaque_methods",
    "parse",
    "resolve",
]


@dataclasses.dataclass(frozen=True)
class MethodInfo:
    """How the tools build and describe one method.

    Attributes:
        name: the command-line name (``snake_case``).
        class_name: the explainer's name in the ``tfattr`` namespace.
        options: default method options for the tools (seeds fixed for reproducible runs).
        cam: whether it returns ``(N, H, W)`` CAM maps (a ``layer`` option) rather than pixel maps.
        needs_layers: whether it needs the model's layers (refused on SavedModel / TF-Hub models).
        summary: one line for ``--list-methods``.
        sized_options: optional ``(height, width) -> options`` for options that depend on the
            image size (e.g. occlusion windows); merged over ``options``.
        module: the module of ``tfattr.methods`` that defines the class.

    Example:
        >>> entry = tfattr.registry.METHODS["gradcam"]
        >>> entry.class_name, entry.cam, entry.needs_layers, entry.cls is tfattr.GradCAM
        ('GradCAM', True, True, True)
    """

    name: str
    class_name: str
    options: Mapping[str, Any]
    cam: bool = False
    needs_layers: bool = False
    summary: str = ""
    sized_options: Callable[[tuple[int, int]], dict] | None = None
    module: str = ""

    @property
    def cls(self):
        """The explainer class."""
        return getattr(importlib.import_module(self.module), self.class_name)

    def default_options(self, image_size: tuple[int, int] | None = None) -> dict:
        """The tools' default options, with the size-dependent ones for ``image_size``.

        Args:
            image_size: ``(height, width)`` of the images, or None (no size-dependent options).

        Returns:
            A new dict of options for the explainer's constructor.

        Example:
            >>> entry = tfattr.registry.resolve("occlusion")
            >>> entry.default_options(), entry.default_options((32, 32))
            ({'baseline': 0.0}, {'baseline': 0.0, 'window': (4, 4), 'stride': (2, 2)})
        """
        options = dict(self.options)
        if self.sized_options is not None and image_size is not None:
            options.update(self.sized_options(tuple(image_size)))
        return options


def _occlusion_options(size: tuple[int, int]) -> dict:
    # Windows of 1/8 of the image, half-overlapping: 15 x 15 positions whatever the size.
    window = tuple(max(1, s // 8) for s in size)
    return {"window": window, "stride": tuple(max(1, w // 2) for w in window)}


_ENTRIES = (
    MethodInfo(
        "saliency",
        "Saliency",
        {},
        summary="|gradient| of the target score",
        module="tfattr.methods.gradient.saliency",
    ),
    MethodInfo(
        "input_x_gradient",
        "InputXGradient",
        {},
        summary="input x gradient",
        module="tfattr.methods.gradient.input_x_gradient",
    ),
    MethodInfo(
        "integrated_gradients",
        "IntegratedGradients",
        {"steps": "auto", "tolerance": 0.01},
        summary="path integral of gradients from a black baseline (steps per image for 1% "
        "completeness)",
        module="tfattr.methods.gradient.integrated_gradients",
    ),
    MethodInfo(
        "smoothgrad",
        "SmoothGrad",
        {"samples": 24, "spread": 0.15, "seed": 0},
        summary="mean gradient over 24 noisy copies (15% noise)",
        module="tfattr.methods.gradient.noise_tunnel",
    ),
    MethodInfo(
        "gradient_shap",
        "GradientShap",
        {"samples": 24, "stddev": 0.0, "seed": 0},
        summary="expected gradients from a black baseline (24 samples)",
        module="tfattr.methods.gradient.gradient_shap",
    ),
    MethodInfo(
        "deeplift",
        "DeepLift",
        {},
        needs_layers=True,
        summary="DeepLift rescale rule against a black baseline",
        module="tfattr.methods.rules.deeplift",
    ),
    MethodInfo(
        "guided_backprop",
        "GuidedBackprop",
        {},
        needs_layers=True,
        summary="gradients with ReLUs passing only positive signals",
        module="tfattr.methods.rules.guided_backprop",
    ),
    MethodInfo(
        "gradcam",
        "GradCAM",
        {},
        cam=True,
        needs_layers=True,
        summary="Grad-CAM on the last feature map",
        module="tfattr.methods.cam.gradcam",
    ),
    MethodInfo(
        "gradcam_plus_plus",
        "GradCAMPlusPlus",
        {},
        cam=True,
        needs_layers=True,
        summary="Grad-CAM++ on the last feature map",
        module="tfattr.methods.cam.gradcam",
    ),
    MethodInfo(
        "guided_gradcam",
        "GuidedGradCAM",
        {},
        needs_layers=True,
        summary="Guided Backprop x upsampled Grad-CAM",
        module="tfattr.methods.cam.gradcam",
    ),
    MethodInfo(
        "deeplift_shap",
        "DeepLiftShap",
        {},
        needs_layers=True,
        summary="DeepLift averaged over baselines (default: black)",
        module="tfattr.methods.rules.deeplift",
    ),
    MethodInfo(
        "blur_integrated_gradients",
        "BlurIntegratedGradients",
        {"steps": 32},
        summary="integrated gradients along a path of decreasing blur (32 steps)",
        module="tfattr.methods.gradient.blur_ig",
    ),
    MethodInfo(
        "guided_integrated_gradients",
        "GuidedIntegratedGradients",
        {"steps": 32, "seed": 0},
        summary="integrated gradients along an adaptive path (32 steps)",
        module="tfattr.methods.gradient.guided_ig",
    ),
    MethodInfo(
        "deconvolution",
        "Deconvolution",
        {},
        needs_layers=True,
        summary="gradients with ReLUs replaced by ReLUs of the signal going back",
        module="tfattr.methods.rules.deconvolution",
    ),
    MethodInfo(
        "lrp",
        "LRP",
        {},
        needs_layers=True,
        summary="layer-wise relevance propagation (epsilon / gamma / box rules)",
        module="tfattr.methods.rules.lrp",
    ),
    MethodInfo(
        "layercam",
        "LayerCAM",
        {},
        cam=True,
        needs_layers=True,
        summary="LayerCAM on the last feature map",
        module="tfattr.methods.cam.layer_cam",
    ),
    MethodInfo(
        "scorecam",
        "ScoreCAM",
        {},
        cam=True,
        needs_layers=True,
        summary="Score-CAM: channels weighted by the score of the masked input",
        module="tfattr.methods.cam.score_cam",
    ),
    MethodInfo(
        "hirescam",
        "HiResCAM",
        {},
        cam=True,
        needs_layers=True,
        summary="HiResCAM: gradient x activation summed over channels, on the last feature map",
        module="tfattr.methods.cam.hires_cam",
    ),
    MethodInfo(
        "gradcam_elementwise",
        "GradCAMElementWise",
        {},
        cam=True,
        needs_layers=True,
        summary="element-wise Grad-CAM: ReLU(gradient x activation) summed over channels",
        module="tfattr.methods.cam.gradcam_elementwise",
    ),
    MethodInfo(
        "xgradcam",
        "XGradCAM",
        {},
        cam=True,
        needs_layers=True,
        summary="XGrad-CAM: channels weighted by activation-weighted gradients",
        module="tfattr.methods.cam.xgrad_cam",
    ),
    MethodInfo(
        "eigencam",
        "EigenCAM",
        {},
        cam=True,
        needs_layers=True,
        summary="Eigen-CAM: first principal component of the activations (class-agnostic)",
        module="tfattr.methods.cam.eigen_cam",
    ),
    MethodInfo(
        "eigengradcam",
        "EigenGradCAM",
        {},
        cam=True,
        needs_layers=True,
        summary="EigenGrad-CAM: first principal component of activation x gradient",
        module="tfattr.methods.cam.eigen_cam",
    ),
    MethodInfo(
        "ablationcam",
        "AblationCAM",
        {},
        cam=True,
        needs_layers=True,
        summary="Ablation-CAM: channels weighted by the score drop when each is zeroed",
        module="tfattr.methods.cam.ablation_cam",
    ),
    MethodInfo(
        "fullgrad",
        "FullGrad",
        {},
        needs_layers=True,
        summary="FullGrad: input-gradient plus the bias-gradients of every layer",
        module="tfattr.methods.cam.fullgrad",
    ),
    MethodInfo(
        "feature_ablation",
        "FeatureAblation",
        {"n_segments": 50},
        summary="score drop when each SLIC segment is blacked out (50 segments)",
        module="tfattr.methods.perturbation.feature_ablation",
    ),
    MethodInfo(
        "lime",
        "Lime",
        {"samples": 128, "n_segments": 50, "seed": 0},
        summary="LIME on SLIC segments (128 samples)",
        module="tfattr.methods.perturbation.lime",
    ),
    MethodInfo(
        "kernel_shap",
        "KernelShap",
        {"samples": 128, "n_segments": 50, "seed": 0},
        summary="Kernel SHAP on SLIC segments (128 samples)",
        module="tfattr.methods.perturbation.lime",
    ),
    MethodInfo(
        "rise",
        "RISE",
        {"samples": 256, "seed": 0},
        summary="RISE: score-weighted random masks (256 masks)",
        module="tfattr.methods.perturbation.rise",
    ),
    MethodInfo(
        "xrai",
        "XRAI",
        {"steps": 16},
        summary="XRAI: regions ranked by integrated gradients (16 steps)",
        module="tfattr.methods.gradient.xrai",
    ),
    MethodInfo(
        "occlusion",
        "Occlusion",
        {"baseline": 0.0},
        summary="score drop when a sliding window (1/8 of the image) is blacked out",
        sized_options=_occlusion_options,
        module="tfattr.methods.perturbation.occlusion",
    ),
)

METHODS: dict[str, MethodInfo] = {entry.name: entry for entry in _ENTRIES}
"""Every method of the registry by its name (``tfattr.registry.METHODS['saliency']``)."""

# Every public explainer class -> its module: the registry's methods, and the classes that are not
# a command-line method of their own (a wrapper, feature maps, an alias). ``tfattr``'s exports and
# ``tfattr.methods`` derive from this.
CLASSES: dict[str, str] = {
    **{entry.class_name: entry.module for entry in _ENTRIES},
    "NoiseTunnel": "tfattr.methods.gradient.noise_tunnel",
    "Activations": "tfattr.methods.cam.activations",
    "ExpectedGradients": "tfattr.methods.gradient.gradient_shap",
}
"""Every public explainer class name -> the module defining it; ``tfattr`` exports these."""


def opaque_methods() -> list[str]:
    """The classes that work on models exposing no layers (SavedModel, TF-Hub, callables).

    Returns:
        Class names in the ``tfattr`` namespace.

    Example:
        >>> names = tfattr.registry.opaque_methods()
        >>> "IntegratedGradients" in names, "GradCAM" in names   # Grad-CAM needs layers
        (True, False)
    """
    return [e.class_name for e in _ENTRIES if not e.needs_layers] + ["NoiseTunnel"]


# Other spellings users type; they map to the registry's names.
ALIASES = {
    "ig": "integrated_gradients",
    "grad_cam": "gradcam",
    "gradcampp": "gradcam_plus_plus",
    "gradcam++": "gradcam_plus_plus",
    "vanilla_gradients": "saliency",
    "gradients": "saliency",
    "deep_lift": "deeplift",
    "guided_grad_cam": "guided_gradcam",
    "expected_gradients": "gradient_shap",
    "score_cam": "scorecam",
    "layer_cam": "layercam",
    "kernelshap": "kernel_shap",
    "hires_cam": "hirescam",
    "gradcam_element_wise": "gradcam_elementwise",
    "grad_cam_elementwise": "gradcam_elementwise",
    "xgrad_cam": "xgradcam",
    "eigen_cam": "eigencam",
    "eigengrad_cam": "eigengradcam",
    "eigen_grad_cam": "eigengradcam",
    "ablation_cam": "ablationcam",
    "full_grad": "fullgrad",
}
"""Other spellings of method names (``ig``, ``grad_cam``, ...) -> the registry name."""


def resolve(name: str) -> MethodInfo:
    """The entry of a method name (case-insensitive, ``-`` or ``_``, aliases such as ``ig``).

    Args:
        name: a registry name, or an alias from :data:`ALIASES`.

    Returns:
        The :class:`MethodInfo`.

    Example:
        >>> tfattr.registry.resolve("IG").class_name, tfattr.registry.resolve("Grad-CAM").name
        ('IntegratedGradients', 'gradcam')

    Raises:
        ValueError: an unknown name; the message lists the known ones.
    """
    key = str(name).strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in METHODS:
        raise ValueError(f"unknown method {name!r}; choose from: {', '.join(METHODS)}.")
    return METHODS[key]


def parse(names) -> list[MethodInfo]:
    """Entries for a comma-separated string or a list of names, in order, without repeats.

    ``"all"`` means every method.

    Args:
        names: ``"ig,saliency"``, a list of names, or ``"all"``.

    Returns:
        A list of :class:`MethodInfo`.

    Raises:
        ValueError: no name, or an unknown one.

    Example:
        >>> [entry.name for entry in tfattr.registry.parse("ig,saliency,IG")]
        ['integrated_gradients', 'saliency']
        >>> len(tfattr.registry.parse("all")) == len(tfattr.registry.METHODS)
        True
    """
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    if not names:
        raise ValueError("no method given; choose from: " + ", ".join(METHODS) + ".")
    if [n.strip().lower() for n in names] == ["all"]:
        return list(METHODS.values())
    found: list[MethodInfo] = []
    for name in names:
        entry = resolve(name)
        if entry not in found:
            found.append(entry)
    return found


def make(name: str, model, *, image_size=None, batch_size: int = 32, cam_layer=None, **options):
    """Builds the explainer of a registered method with the tools' defaults.

    Args:
        name: a method name (see :func:`resolve`).
        model: the model (or a ModelAdapter) to explain.
        image_size: ``(height, width)`` for size-dependent defaults.
        batch_size: the explainer's batch size (rows per compiled call).
        cam_layer: the ``layer`` option of CAM methods, e.g. ``spec.cam_layer`` (None: the
            method's own default, the last 4-D layer).
        **options: overrides of the defaults.

    Returns:
        An explainer instance.

    Example:
        >>> occlusion = tfattr.registry.make("occlusion", model, image_size=(32, 32))
        >>> occlusion.options["window"], occlusion.explain(x, target=3).shape
        ((4, 4), TensorShape([2, 32, 32, 3]))
    """

    entry = resolve(name)
    merged = entry.default_options(image_size)
    if cam_layer is not None and "layer" in entry.cls.defaults:
        merged["layer"] = cam_layer
    merged.update(options)
    return entry.cls(model, batch_size=batch_size, **merged)
