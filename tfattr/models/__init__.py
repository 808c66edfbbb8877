"""Real models: every keras.applications architecture, KerasHub classifiers, TF-Hub handles,
SavedModels, Keras files and weight files (``list_models()`` names them).

``load("mobilenet_v2")`` downloads the ImageNet weights once; ``weights=None`` builds the same
architecture with random weights, offline. A Keras file loads the same way.

Example:
    >>> model.save("my_model.keras")                    # or load("mobilenet_v2"), ...
    >>> spec = tfattr.models.load("my_model.keras", preprocess="caffe")
    >>> x = spec.preprocess(tfattr.data.load_image("cat.jpg", spec.input_size))
    >>> x.shape, spec.cam_layer
    (TensorShape([32, 32, 3]), 'block5_conv3')
    >>> cam = tfattr.GradCAM(spec.model, layer=spec.cam_layer).explain(
    ...     x, target=spec.class_id("tabby"))
    >>> cam.shape
    TensorShape([32, 32])
"""

from tfattr.models.kerashub import TokenGrid, token_grid
from tfattr.models.logits import logits_model
from tfattr.models.preprocessing import Preprocess
from tfattr.models.spec import ModelSpec
from tfattr.models.zoo import (
    FAMILIES,
    HUB_PRESETS,
    KERAS_PRESETS,
    PRESETS,
    keras_hub_spec,
    last_feature_map,
    list_models,
    load,
    pooled_feature_map,
    preset_name,
)

__all__ = [
    "FAMILIES",
    "HUB_PRESETS",
    "KERAS_PRESETS",
    "PRESETS",
    "TokenGrid",
    "ModelSpec",
    "Preprocess",
    "keras_hub_spec",
    "last_feature_map",
    "list_models",
    "load",
    "logits_model",
    "pooled_feature_map",
    "preset_name",
    "token_grid",
]
