"""Real models: every keras.applications architecture, KerasHub classifiers, TF-Hub handles,
SavedModels, Keras files and weight files (``list_models()`` names them).

Example:
    >>> spec = tfattr.models.load("mobilenet_v2")
    >>> x = spec.preprocess(tfattr.data.load_image("cat.jpg", spec.input_size))
    >>> attr = tfattr.IntegratedGradients(spec.model).explain(x, target=spec.class_id("tabby"))
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
