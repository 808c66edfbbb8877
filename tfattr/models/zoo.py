"""``load``: preset ImageNet models, TF-Hub handles, SavedModel folders and Keras files."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re

from tfattr.core.adapter import ModelAdapter, output_layer
from tfattr.data.images import as_size
from tfattr.models import hub, kerashub, weights_file
from tfattr.models.preprocessing import Preprocess, as_preprocess
from tfattr.models.spec import ModelSpec


@dataclasses.dataclass(frozen=True)
class Preset:
    """How to build and feed one keras.applications architecture."""

    constructor: str  # attribute of keras.applications
    preprocess: str  # a Preprocess mode, as that architecture's preprocess_input
    input_size: int  # Keras' default (ImageNet weights with the top need it for VGG/Inception)
    # The last convolutional feature map (or its activation), as in the Grad-CAM literature;
    # None: the map the classifier's global pooling reads (the layer has no fixed name).
    cam_layer: str | None
    model_name: str  # the name Keras gives the model (a prefix when it ends in "_")
    family: str = ""  # the keras.applications module: preprocess_input lives there
    # Preprocessing when built with include_preprocessing=False (models that include their own).
    preprocess_excluded: str | None = None


def _family(family, mode, cam_layer, variants, excluded=None):
    """Presets of one family: ``variants`` maps a snake-case name to (constructor, size, name)."""
    return {
        key: Preset(constructor, mode, size, cam_layer, model_name, family, excluded)
        for key, (constructor, size, model_name) in variants.items()
    }


# Modes are those of each module's preprocess_input; "none" where the model holds its own
# Rescaling/Normalization layers and takes 0..255 (EfficientNet, EfficientNetV2, ConvNeXt,
# MobileNetV3: their preprocess_input is a pass-through).
KERAS_PRESETS = {
    **_family("vgg16", "caffe", "block5_conv3", {"vgg16": ("VGG16", 224, "vgg16")}),
    # VGG19's last conv layer is block5_conv4 (block5_conv3 is VGG16's).
    **_family("vgg19", "caffe", "block5_conv4", {"vgg19": ("VGG19", 224, "vgg19")}),
    **_family(
        "resnet",
        "caffe",
        "conv5_block3_out",
        {f"resnet{d}": (f"ResNet{d}", 224, f"resnet{d}") for d in (50, 101, 152)},
    ),
    **_family(
        "resnet_v2",
        "tf",
        "post_relu",
        {f"resnet{d}_v2": (f"ResNet{d}V2", 224, f"resnet{d}v2") for d in (50, 101, 152)},
    ),
    **_family(
        "inception_v3", "tf", "mixed10", {"inception_v3": ("InceptionV3", 299, "inception_v3")}
    ),
    **_family(
        "inception_resnet_v2",
        "tf",
        "conv_7b_ac",
        {"inception_resnet_v2": ("InceptionResNetV2", 299, "inception_resnet_v2")},
    ),
    **_family(
        "xception", "tf", "block14_sepconv2_act", {"xception": ("Xception", 299, "xception")}
    ),
    **_family(
        "mobilenet", "tf", "conv_pw_13_relu", {"mobilenet": ("MobileNet", 224, "mobilenet_")}
    ),
    **_family(
        "mobilenet_v2", "tf", "out_relu", {"mobilenet_v2": ("MobileNetV2", 224, "mobilenetv2_")}
    ),
    **_family(
        "mobilenet_v3",
        "none",
        None,
        {
            "mobilenet_v3_small": ("MobileNetV3Small", 224, "MobileNetV3Small"),
            "mobilenet_v3_large": ("MobileNetV3Large", 224, "MobileNetV3Large"),
        },
        excluded="tf",
    ),
    **_family(
        "densenet",
        "torch",
        "relu",
        {f"densenet{d}": (f"DenseNet{d}", 224, f"densenet{d}") for d in (121, 169, 201)},
    ),
    **_family(
        "nasnet",
        "tf",
        None,
        {
            "nasnet_mobile": ("NASNetMobile", 224, "nasnet_mobile"),
            "nasnet_large": ("NASNetLarge", 331, "nasnet_large"),
        },
    ),
    **_family(
        "efficientnet",
        "none",
        "top_activation",
        {
            f"efficientnet_b{i}": (f"EfficientNetB{i}", size, f"efficientnetb{i}")
            for i, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600))
        },
    ),
    **_family(
        "efficientnet_v2",
        "none",
        "top_activation",
        {
            f"efficientnet_v2_{v}": (f"EfficientNetV2{v.upper()}", size, f"efficientnetv2-{v}")
            for v, size in (
                ("b0", 224),
                ("b1", 240),
                ("b2", 260),
                ("b3", 300),
                ("s", 384),
                ("m", 480),
                ("l", 480),
            )
        },
        excluded="tf",
    ),
    **_family(
        "convnext",
        "none",
        None,
        {
            f"convnext_{v}": (f"ConvNeXt{v.title().replace('Xl', 'XL')}", 224, f"convnext_{v}")
            for v in ("tiny", "small", "base", "large", "xlarge")
        },
        excluded="torch",
    ),
}
"""keras.applications models ``load`` knows, by snake-case name -> their settings."""
# TF-Hub presets: (handle, preprocessing, input size). Hub image models take [0, 1] floats.
HUB_PRESETS = {"inception_v1": (hub.INCEPTION_V1_HANDLE, "unit", 224)}
"""TF-Hub models ``load`` knows: name -> (handle, preprocessing, input size)."""
PRESETS = (*KERAS_PRESETS, *HUB_PRESETS)
"""Every preset name ``tfattr.models.load`` accepts."""
# Each family, smallest variant first: {"efficientnet_v2": ("efficientnet_v2_b0", ...), ...}.
FAMILIES = {
    family: tuple(k for k, p in KERAS_PRESETS.items() if p.family == family)
    for family in dict.fromkeys(p.family for p in KERAS_PRESETS.values())
}
"""keras.applications families -> their preset names."""


def _compact(name: str) -> str:
    return re.sub(r"[\s_\-.]", "", name.lower())


# "EfficientNetV2B0", "efficientnet_v2_b0", "efficientnetv2-b0" -> "efficientnet_v2_b0".
_ALIASES = {
    _compact(spelling): key
    for key, preset in KERAS_PRESETS.items()
    for spelling in (key, preset.constructor)
}


def preset_name(name: str) -> str | None:
    """The preset key of a keras.applications name or its snake case, or None.

    Args:
        name: a keras.applications constructor name (``"EfficientNetV2B0"``), its snake case
            (``"efficientnet_v2_b0"``) or Keras' weight-file spelling (``"efficientnetv2-b0"``).

    Returns:
        The preset key (a name :func:`list_models` gives), or None for other names.

    Example:
        >>> tfattr.models.preset_name("EfficientNetV2B0")
        'efficientnet_v2_b0'
        >>> tfattr.models.preset_name("efficientnetv2-b0"), tfattr.models.preset_name("alexnet")
        ('efficientnet_v2_b0', None)
    """
    return _ALIASES.get(_compact(name)) if isinstance(name, str) else None


def list_models() -> list[dict]:
    """Every model ``load`` knows by name, as dicts with ``name``, ``family``, ``source``,
    ``constructor`` (or TF-Hub ``handle``), ``input_size`` and ``preprocess``.

    Returns:
        A list of dicts, one per preset, keras.applications first and TF-Hub last.

    Example:
        >>> [m["name"] for m in tfattr.models.list_models() if m["family"] == "convnext"]
        ['convnext_tiny', 'convnext_small', 'convnext_base', 'convnext_large', 'convnext_xlarge']
    """
    models = [
        {
            "name": key,
            "family": p.family,
            "source": "keras.applications",
            "constructor": p.constructor,
            "input_size": p.input_size,
            "preprocess": p.preprocess,
        }
        for key, p in KERAS_PRESETS.items()
    ]
    models += [
        {
            "name": key,
            "family": key,
            "source": "tfhub",
            "handle": handle,
            "input_size": size,
            "preprocess": mode,
        }
        for key, (handle, mode, size) in HUB_PRESETS.items()
    ]
    return models


def load(
    name_or_path,
    weights="imagenet",
    *,
    input_size=None,
    preprocess=None,
    class_names=None,
    safe_mode: bool = True,
    **build_options,
) -> ModelSpec:
    """Loads a model with its preprocessing, input size, classes and default Grad-CAM layer.

    Accepts every keras.applications architecture by its Keras name or its snake case
    (``"EfficientNetV2B0"`` or ``"efficientnet_v2_b0"``, ``"ResNet50"``, ``"mobilenet_v3_small"``,
    ``"convnext_tiny"``...: :func:`list_models`), ``"inception_v1"`` (the TF-Hub ImageNet
    classifier with 1001 classes), any TF-Hub handle (loaded with ``hub.load``), a local
    SavedModel folder, a ``.keras`` or ``.h5`` model file, or a keras.applications weight file --
    Keras' ImageNet ``.h5`` downloads (``mobilenet_2_5_128_tf.h5``) and Keras 3 ``.weights.h5``
    files from ``model.save_weights`` -- whose architecture and options (MobileNet's ``alpha``,
    ``classes``, ...) are recognised from the variables' shapes.

    Preprocessing is that of the family's ``preprocess_input``; models that hold their own
    (EfficientNet, EfficientNetV2, ConvNeXt, MobileNetV3) take 0..255 and get ``"none"``, or,
    built with ``include_preprocessing=False``, the scaling their documentation asks for. The
    default CAM layer is the last convolutional feature map, as the Keras Grad-CAM example picks.

    Args:
        name_or_path: a preset name, a TF-Hub handle, or a path.
        weights: for presets, ``"imagenet"`` (downloaded by Keras, cached in ``~/.keras``), None
            (random initialisation; offline) or a local weight file.
        input_size: int or ``(height, width)``; default: the preset's size, or what the model's
            signature says (224 when it does not say).
        preprocess: override the preprocessing: a mode (``"caffe"``, ``"tf"``, ``"torch"``,
            ``"unit"``, ``"none"``) or a function uint8 images -> model inputs. Default: the
            preset's; ``"unit"`` for other TF-Hub/SavedModel models; ``"none"`` for other Keras
            models (recognised keras.applications models keep theirs).
        class_names: one name per model output, for non-ImageNet models.
        safe_mode: Keras ``safe_mode`` for ``.keras``/``.h5`` files (True refuses to deserialise
            ``Lambda`` code); turn it off only for files you trust.
        **build_options: passed to the keras.applications constructor (e.g. ``alpha=0.5``,
            ``classes=10``); they override what a weight file's shapes say.

    Returns:
        A :class:`ModelSpec`.

    Raises:
        ValueError: unknown name, missing path, an unreadable file, or weights that cannot be
            fetched (offline), each message naming the fix.

    ``load("resnet50")`` downloads the ImageNet weights once (Keras caches them); offline, give
    the weight file's path as ``weights=`` or load the file itself
    (``load("mobilenet_2_5_128_tf.h5")``: a MobileNet with ``alpha=0.25`` at 128 px).

    Example:
        >>> spec = tfattr.models.load("MobileNet", weights=None, input_size=64, alpha=0.25)
        >>> spec.name, spec.input_size, spec.cam_layer, spec.preprocess
        ('mobilenet', (64, 64), 'conv_pw_13_relu', Preprocess('tf'))
        >>> model.save("my_model.keras")                  # a Keras file: its own preprocessing
        >>> tfattr.models.load("my_model.keras", preprocess="caffe").cam_layer
        'block5_conv3'
    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise TypeError(
            f"name_or_path: expected a preset name, a TF-Hub handle or a path, got "
            f"{type(name_or_path).__name__}. To explain a model object, pass it to an explainer."
        )
    name = os.fspath(name_or_path)
    size = as_size(input_size, "input_size") if input_size is not None else None
    overrides = {"preprocess": preprocess, "class_names": class_names}
    key = preset_name(name)
    if key is not None:
        return _load_preset(key, weights, size, build_options, overrides)
    key = name.lower()
    if weights != "imagenet":  # only keras.applications presets are built around a weight file
        raise ValueError(
            f"weights: {weights!r} applies to the keras.applications presets (see "
            f"tfattr.models.list_models()) only; {name!r} brings its own weights."
        )
    path = pathlib.Path(name)
    if build_options and not (path.is_file() and path.suffix.lower() in (".h5", ".hdf5")):
        raise TypeError(
            f"load: unexpected options {sorted(build_options)}; constructor options apply to "
            f"keras.applications presets and their .h5 weight files only."
        )
    if key in HUB_PRESETS:
        handle, mode, default = HUB_PRESETS[key]
        return _load_saved_model(handle, hub.load_hub(handle), size, mode, overrides, default)
    if path.exists():
        return _load_path(path, size, safe_mode, build_options, overrides)
    if hub.is_hub_handle(name):
        handle = hub.full_handle(name)
        return _load_saved_model(handle, hub.load_hub(handle, name), size, "unit", overrides)
    raise ValueError(
        f"name_or_path: {name!r} is not a known model (tfattr.models.list_models(): "
        f"{', '.join(FAMILIES)} families, e.g. {', '.join(f[0] for f in FAMILIES.values())}; "
        f"{', '.join(HUB_PRESETS)}), not a TF-Hub "
        f"handle (https://... or publisher/.../version), and no file or folder exists at that "
        f"path."
    )


def _load_path(path: pathlib.Path, size, safe_mode, build_options, overrides) -> ModelSpec:
    if kerashub.is_preset_dir(path):
        return keras_hub_spec(kerashub.load_preset(str(path)), str(path), size, overrides)
    if path.is_dir():
        if not hub.is_saved_model_dir(path):
            raise ValueError(
                f"name_or_path: the folder {str(path)!r} holds no saved_model.pb; pass a "
                f"SavedModel folder, a .keras/.h5 file, or a preset name."
            )
        return _load_saved_model(str(path), hub.load_hub(str(path)), size, "unit", overrides)
    suffix = path.suffix.lower()
    if weights_file.is_weights_file(path):
        preset, options, file_size = weights_file.identify(path)
        size = size or ((file_size, file_size) if file_size else None)
        options = {**options, **build_options}
        return _load_preset(preset, str(path), size, options, overrides, name=str(path))
    if suffix not in (".keras", ".h5", ".hdf5"):
        raise ValueError(
            f"name_or_path: cannot load {str(path)!r}: expected a .keras or .h5 model file, a "
            f"keras.applications .h5 weight file, or a SavedModel folder."
        )
    import keras

    try:
        model = keras.models.load_model(path, compile=False, safe_mode=safe_mode)
    except ValueError as error:
        if "safe_mode" in str(error) or "Lambda" in str(error):
            raise ValueError(
                f"name_or_path: {str(path)!r} contains code (a Lambda layer) that Keras refuses to "
                f"load with safe_mode=True. Only if you trust the file, pass safe_mode=False."
            ) from None
        raise
    return keras_spec(model, str(path), size, overrides)


def _load_preset(key: str, weights, size, build_options, overrides, name=None) -> ModelSpec:
    import keras

    preset = KERAS_PRESETS[key]
    path = None
    if weights not in (None, "imagenet"):
        path = _check_weights_path(weights)
        weights = None  # built first, then loaded: a misfit is reported by names and shapes
        if weights_file.is_weights_file(path):
            try:
                found, options, file_size = weights_file.identify(path)
            except ValueError:  # not recognised: the file may still fit the options given
                found, options, file_size = key, {}, None
            if found != key:
                raise ValueError(
                    f"weights: {path!r} holds {found} weights, not {key}; load it with "
                    f"tfattr.models.load({path!r}) or pass {key} weights."
                )
            build_options = {**options, **build_options}
            size = size or ((file_size, file_size) if file_size else None)
    options = dict(build_options)
    if size is not None:
        options["input_shape"] = (*size, 3)
    constructor = getattr(keras.applications, preset.constructor)
    try:
        model = constructor(weights=weights, **options)
    except (ValueError, TypeError) as error:  # Keras' own argument checks
        if weights == "imagenet" and "URL fetch" in str(error):
            raise _offline_error(key, error) from None
        raise ValueError(f"{preset.constructor}({_format(options)}): {error}") from None
    except Exception as error:
        if weights != "imagenet":
            raise
        raise _offline_error(key, error) from None
    if path is not None:
        weights_file.load_weights(model, path)
    return keras_spec(model, name or key, size, overrides, preset=preset)


def _offline_error(key, error) -> ValueError:
    return ValueError(
        f"weights: could not download the ImageNet weights of {key} "
        f"({str(error).splitlines()[0]}). Offline, pass weights=<path to a local .h5 file> "
        f"or weights=None (random initialisation)."
    )


def _format(options: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in options.items())


def _check_weights_path(weights) -> str:
    if not isinstance(weights, str | os.PathLike):
        raise TypeError(
            f"weights: expected 'imagenet', None or a path to a weight file, got "
            f"{type(weights).__name__}."
        )
    if not pathlib.Path(weights).is_file():
        raise ValueError(
            f"weights: no weight file at {os.fspath(weights)!r}; pass 'imagenet', None, or the "
            f"path of an existing .h5 / .weights.h5 file."
        )
    return os.fspath(weights)


def _recognise(model) -> Preset | None:
    """The preset a loaded Keras model was built from, recognised by Keras' model name."""
    name = getattr(model, "name", "")
    for preset in KERAS_PRESETS.values():
        if name == preset.model_name or (
            preset.model_name.endswith("_") and name.startswith(preset.model_name)
        ):
            return preset
    return None


def _preprocess_mode(preset: Preset | None, model) -> str:
    """The preset's mode; its ``preprocess_excluded`` mode when the model has no Rescaling."""
    if preset is None:
        return "none"
    if preset.preprocess_excluded and not any(
        type(layer).__name__ in ("Rescaling", "Normalization") for layer in model.layers
    ):
        return preset.preprocess_excluded
    return preset.preprocess


def keras_spec(
    model, name: str, size=None, overrides=None, preset: Preset | None = None
) -> ModelSpec:
    """A :class:`ModelSpec` for a Keras model (sizes and classes read from the model)."""
    overrides = overrides or {}
    preset = preset or _recognise(model)
    inputs = getattr(model, "inputs", None)
    height, width = tuple(inputs[0].shape[1:3]) if inputs else (None, None)
    if size is not None and (height, width) != (None, None) and (height, width) != size:
        raise ValueError(
            f"input_size: the model {name!r} takes {height}x{width} images, got {size}; leave "
            f"input_size unset."
        )
    default = preset.input_size if preset else 224
    input_size = size or (int(height or default), int(width or default))
    outputs = getattr(model, "outputs", None)
    if outputs and outputs[0].shape[-1] is not None:
        num_classes = int(outputs[0].shape[-1])
    else:  # subclassed model: one probing forward pass
        num_classes = ModelAdapter(model, output="raw").num_classes((*input_size, 3))
    cam_layer = preset.cam_layer if preset else None
    if cam_layer is None or not _has_layer(model, cam_layer):
        cam_layer = pooled_feature_map(model) or last_feature_map(model)
    mode = _preprocess_mode(preset, model)
    return _spec(name, model, input_size, num_classes, cam_layer, False, mode, overrides)


def keras_hub_spec(model, name: str = "keras_hub", size=None, overrides=None) -> ModelSpec:
    """A :class:`ModelSpec` for a KerasHub image classifier (a task with a backbone).

    The preprocessing is the task's image converter (scale and offset) or, without one, none;
    the CAM layer is the last feature map of convolutional backbones and None for token models
    (ViT, DeiT), whose CAM reshapes tokens with :func:`tfattr.models.kerashub.token_grid`.

    Args:
        model: a KerasHub image classifier (``keras_hub.models.ImageClassifier``), e.g.
            ``ImageClassifier.from_preset("resnet_50_imagenet")`` or one built from a backbone.
        name: the spec's name.
        size: ``(height, width)`` of the inputs; default: the model's input shape (224 when it
            does not say).
        overrides: ``{"preprocess": ..., "class_names": ...}`` replacing what the model says.

    Returns:
        A :class:`ModelSpec` (opaque False; the CAM layer None for token models).

    Example:
        >>> import keras_hub
        >>> backbone = keras_hub.models.ViTBackbone(image_shape=(32, 32, 3), patch_size=8,
        ...     num_layers=1, num_heads=1, hidden_dim=8, mlp_dim=8)
        >>> vit = keras_hub.models.ViTImageClassifier(backbone=backbone, num_classes=5)
        >>> spec = tfattr.models.keras_hub_spec(vit, "tiny_vit")
        >>> spec.input_size, spec.num_classes, spec.cam_layer   # CAM: tokens on their grid
        ((32, 32), 5, None)
    """
    overrides = dict(overrides or {})
    if overrides.get("preprocess") is None:
        overrides["preprocess"] = kerashub.preprocess_of(model)
    spec = keras_spec(model, name, size, overrides)
    if kerashub.token_grid(model) is not None:
        spec = dataclasses.replace(spec, cam_layer=None)
    return spec


def _load_saved_model(name: str, obj, size, mode: str, overrides, default=224) -> ModelSpec:
    adapter = ModelAdapter(obj, output="raw")
    if size is None:
        height, width = (adapter.input_shape or (None, None))[:2]
        size = (int(height or default), int(width or default))
    # Signatures rarely state the number of outputs: one probing forward pass tells.
    num_classes = adapter.num_classes((*size, 3))
    return _spec(name, obj, size, num_classes, None, True, mode, overrides)


def _spec(name, model, input_size, num_classes, cam_layer, opaque, mode, overrides) -> ModelSpec:
    class_names = overrides.get("class_names")
    if class_names is not None:
        class_names = tuple(str(c) for c in class_names)
        if len(class_names) != num_classes:
            raise ValueError(
                f"class_names: expected {num_classes} names (one per model output), got "
                f"{len(class_names)}."
            )
    preprocess = overrides.get("preprocess")
    imagenet = class_names is None and num_classes in (1000, 1001)
    return ModelSpec(
        name=name,
        model=model,
        preprocess=as_preprocess(preprocess) if preprocess is not None else Preprocess(mode),
        input_size=tuple(input_size),
        num_classes=num_classes,
        label_offset=1 if imagenet and num_classes == 1001 else 0,
        cam_layer=cam_layer,
        opaque=opaque,
        imagenet=imagenet,
        names=class_names,
    )


def _iter_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _iter_layers(layer)


def _has_layer(model, name: str) -> bool:
    return any(layer.name == name for layer in _iter_layers(model))


_POOLS = ("GlobalAveragePooling2D", "GlobalMaxPooling2D")


def pooled_feature_map(model) -> str | None:
    """Name of the layer whose 4-D output the classifier's global pooling reads, or None.

    That is the last convolutional feature map (or its activation) of keras.applications
    models, also where its layer has no fixed name (NASNet, MobileNetV3) and where
    squeeze-and-excitation blocks pool earlier maps (EfficientNet): the *last* global pooling
    counts. When the pooling reads a nested backbone (KerasHub tasks), it is the layer that ends
    the backbone.

    Args:
        model: a Keras model (Functional or Sequential).

    Returns:
        The layer's name, or None when the model has no global pooling on a feature map.

    Example:
        >>> tfattr.models.pooled_feature_map(model)       # the map GlobalAveragePooling2D reads
        'block5_conv3'
    """
    layers = list(getattr(model, "layers", ()))
    for index in reversed(range(len(layers))):
        if type(layers[index]).__name__ not in _POOLS:
            continue
        try:
            tensor = layers[index].input
        except (AttributeError, ValueError, RuntimeError):  # a pooling layer called twice
            return None
        for layer in layers[:index]:
            try:
                output = layer.output
            except (AttributeError, ValueError, RuntimeError):
                continue
            if output is tensor and len(output.shape) == 4 and not hasattr(layer, "layers"):
                return layer.name
        # A nested model's call makes new tensors: a backbone called just before the pooling.
        previous = layers[index - 1] if index else None
        if previous is not None and hasattr(previous, "layers"):
            inner = output_layer(previous)
            return inner.name if inner is not None else None
        return None
    for layer in reversed(layers):  # no pooling at this level: the classifier may be nested
        if hasattr(layer, "layers"):
            found = pooled_feature_map(layer)
            if found is not None:
                return found
    return None


def last_feature_map(model) -> str | None:
    """Name of the last layer with a 4-D output (Grad-CAM's default), searched into nested models.

    Args:
        model: a Keras model.

    Returns:
        The layer's name, or None when no layer has a 4-D output.

    Example:
        >>> tfattr.models.last_feature_map(model)
        'block5_conv3'
    """

    found = None
    for layer in _iter_layers(model):
        try:
            rank = len(layer.output.shape)
        except (AttributeError, ValueError):
            continue
        if rank == 4 and not hasattr(layer, "layers") and type(layer).__name__ != "InputLayer":
            found = layer.name
    return found
