"""``load``: preset ImageNet models, TF-Hub handles, SavedModel folders and Keras files."""

from __future__ import annotations

import dataclasses
import os
import pathlib

from tfattr.core.adapter import ModelAdapter
from tfattr.data.images import as_size
from tfattr.models import hub, weights_file
from tfattr.models.preprocessing import Preprocess, as_preprocess
from tfattr.models.spec import ModelSpec


@dataclasses.dataclass(frozen=True)
class Preset:
    """How to build and feed one keras.applications architecture."""

    constructor: str  # attribute of keras.applications
    preprocess: str  # a Preprocess mode, as that architecture's preprocess_input
    input_size: int  # Keras' default (ImageNet weights with the top need it for VGG/Inception)
    cam_layer: str  # the last convolutional feature map, as in the Grad-CAM literature
    model_name: str  # prefix of the name Keras gives the model, to recognise saved files


KERAS_PRESETS = {
    "vgg16": Preset("VGG16", "caffe", 224, "block5_conv3", "vgg16"),
    # VGG19's last conv layer is block5_conv4 (block5_conv3 is VGG16's).
    "vgg19": Preset("VGG19", "caffe", 224, "block5_conv4", "vgg19"),
    "inception_v3": Preset("InceptionV3", "tf", 299, "mixed10", "inception_v3"),
    "resnet50": Preset("ResNet50", "caffe", 224, "conv5_block3_out", "resnet50"),
    "mobilenet": Preset("MobileNet", "tf", 224, "conv_pw_13_relu", "mobilenet_"),
    "mobilenet_v2": Preset("MobileNetV2", "tf", 224, "out_relu", "mobilenetv2_"),
}
# TF-Hub presets: (handle, preprocessing, input size). Hub image models take [0, 1] floats.
HUB_PRESETS = {"inception_v1": (hub.INCEPTION_V1_HANDLE, "unit", 224)}
PRESETS = (*KERAS_PRESETS, *HUB_PRESETS)


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

    Accepts a preset name (``"vgg16"``, ``"vgg19"``, ``"inception_v3"``, ``"resnet50"``,
    ``"mobilenet"``, ``"mobilenet_v2"`` from keras.applications; ``"inception_v1"``, the TF-Hub
    ImageNet classifier with 1001 classes), any TF-Hub handle (loaded with ``hub.load``), a local
    SavedModel folder, a ``.keras`` or ``.h5`` model file, or a keras.applications ImageNet weight
    file (e.g. ``mobilenet_2_5_128_tf.h5``: the architecture is recognised from its layers).

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
        **build_options: passed to the keras.applications constructor (e.g. ``alpha=0.5``).

    Returns:
        A :class:`ModelSpec`.

    Raises:
        ValueError: unknown name, missing path, an unreadable file, or weights that cannot be
            fetched (offline), each message naming the fix.

    Example:
        >>> spec = tfattr.models.load("resnet50")
        >>> spec = tfattr.models.load("../shared/imagenet_assets/mobilenet_2_5_128_tf.h5")
        >>> spec.input_size, spec.cam_layer
        ((128, 128), 'conv_pw_13_relu')
    """
    if not isinstance(name_or_path, str | os.PathLike):
        raise TypeError(
            f"name_or_path: expected a preset name, a TF-Hub handle or a path, got "
            f"{type(name_or_path).__name__}. To explain a model object, pass it to an explainer."
        )
    name = os.fspath(name_or_path)
    size = as_size(input_size, "input_size") if input_size is not None else None
    overrides = {"preprocess": preprocess, "class_names": class_names}
    key = name.lower()
    if key in KERAS_PRESETS:
        return _load_preset(key, weights, size, build_options, overrides)
    if weights != "imagenet":  # only keras.applications presets are built around a weight file
        raise ValueError(
            f"weights: {weights!r} applies to the keras.applications presets "
            f"({', '.join(KERAS_PRESETS)}) only; {name!r} brings its own weights."
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
        f"name_or_path: {name!r} is not a known model ({', '.join(PRESETS)}), not a TF-Hub "
        f"handle (https://... or publisher/.../version), and no file or folder exists at that "
        f"path."
    )


def _load_path(path: pathlib.Path, size, safe_mode, build_options, overrides) -> ModelSpec:
    if path.is_dir():
        if not hub.is_saved_model_dir(path):
            raise ValueError(
                f"name_or_path: the folder {str(path)!r} holds no saved_model.pb; pass a "
                f"SavedModel folder, a .keras/.h5 file, or a preset name."
            )
        return _load_saved_model(str(path), hub.load_hub(str(path)), size, "unit", overrides)
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5") and not weights_file.is_full_model_h5(path):
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
    if weights not in (None, "imagenet"):
        weights = _check_weights_path(weights)
        if _is_legacy_weights_file(weights):
            found, options, file_size = weights_file.identify(weights)
            if found != key:
                raise ValueError(
                    f"weights: {weights!r} holds {found} weights, not {key}; load it with "
                    f"tfattr.models.load({weights!r}) or pass {key} weights."
                )
            build_options = {**options, **build_options}
            size = size or ((file_size, file_size) if file_size else None)
    options = dict(build_options)
    if size is not None:
        options["input_shape"] = (*size, 3)
    constructor = getattr(keras.applications, preset.constructor)
    try:
        model = constructor(weights=weights, **options)
    except ValueError:  # Keras' own argument checks already name the problem
        raise
    except Exception as error:
        if weights != "imagenet":
            raise
        raise ValueError(
            f"weights: could not download the ImageNet weights of {key} "
            f"({str(error).splitlines()[0]}). Offline, pass weights=<path to a local .h5 file> "
            f"or weights=None (random initialisation)."
        ) from None
    return keras_spec(model, name or key, size, overrides, preset=preset)


def _is_legacy_weights_file(path: str) -> bool:
    """A Keras 2 style ``.h5`` weight file (Keras 3's ``.weights.h5`` are read by Keras itself)."""
    lower = path.lower()
    return (
        lower.endswith((".h5", ".hdf5"))
        and not lower.endswith(".weights.h5")
        and not (weights_file.is_full_model_h5(path))
    )


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
        cam_layer = last_feature_map(model)
    mode = preset.preprocess if preset else "none"
    return _spec(name, model, input_size, num_classes, cam_layer, False, mode, overrides)


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


def last_feature_map(model) -> str | None:
    """Name of the last layer with a 4-D output (Grad-CAM's default), searched into nested models."""
    found = None
    for layer in _iter_layers(model):
        try:
            rank = len(layer.output.shape)
        except (AttributeError, ValueError):
            continue
        if rank == 4 and not hasattr(layer, "layers") and type(layer).__name__ != "InputLayer":
            found = layer.name
    return found
