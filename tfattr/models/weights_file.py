"""Recognising keras.applications weight files: which architecture, with which options.

Two layouts hold weights without a model config:

- Keras 2 style ``.h5`` (Keras' ImageNet downloads, e.g. ``mobilenet_2_5_128_tf.h5``): one group
  per layer, named as the layer (``conv_pw_13``, ``predictions``).
- Keras 3 ``.weights.h5`` (``model.save_weights``): ``layers/<name>/vars/<i>``, where ``<name>`` is
  the layer's *class* with a counter in layer order (``conv2d_12``, ``dense``), not its name.

Both are read as ``{group: [variable shapes]}``. MobileNet v1/v2/v3 and VGG are recognised from
their layer types and shapes (MobileNet's ``alpha`` and ``depth_multiplier``, VGG's input size);
the other families by their number of parameters outside the classifier, which differs between
every keras.applications architecture. The chosen architecture is then built and must match the
file variable for variable. Messages name layers and shapes, never values.
"""

from __future__ import annotations

import math
import os
import pathlib
import re
import tempfile

# Parameters outside the classifier layer (and outside a Normalization layer) of each
# keras.applications architecture: with a 1000-class classifier they add up to the sizes of
# Keras' applications table; the tests check one of each family against a freshly built model.
_BACKBONES = {
    23_587_712: "resnet50",
    42_658_176: "resnet101",
    58_370_944: "resnet152",
    23_564_800: "resnet50_v2",
    42_626_560: "resnet101_v2",
    58_331_648: "resnet152_v2",
    21_802_784: "inception_v3",
    54_336_736: "inception_resnet_v2",
    20_861_480: "xception",
    7_037_504: "densenet121",
    12_642_880: "densenet169",
    18_321_984: "densenet201",
    4_269_716: "nasnet_mobile",
    84_916_818: "nasnet_large",
    4_049_564: "efficientnet_b0",
    6_575_232: "efficientnet_b1",
    7_768_562: "efficientnet_b2",
    10_783_528: "efficientnet_b3",
    17_673_816: "efficientnet_b4",
    28_513_520: "efficientnet_b5",
    40_960_136: "efficientnet_b6",
    64_097_680: "efficientnet_b7",
    5_919_312: "efficientnet_v2_b0",
    6_931_124: "efficientnet_v2_b1",
    8_769_374: "efficientnet_v2_b2",
    12_930_622: "efficientnet_v2_b3",
    20_331_360: "efficientnet_v2_s",
    53_150_388: "efficientnet_v2_m",
    117_746_848: "efficientnet_v2_l",
    27_820_128: "convnext_tiny",
    49_454_688: "convnext_small",
    87_566_464: "convnext_base",
    196_230_336: "convnext_large",
    348_147_968: "convnext_xlarge",
}

# Keras 2 style files: the first layer name that only one architecture has, checked in order.
_SIGNATURES = (
    ("block5_conv4", "vgg19"),
    ("block5_conv3", "vgg16"),
    ("conv_pw_13", "mobilenet"),
    ("block_16_project", "mobilenet_v2"),
    ("expanded_conv_14", "mobilenet_v3_large"),
    ("expanded_conv_10", "mobilenet_v3_small"),
)
_TOP_LAYERS = ("predictions", "conv_preds", "Logits")
_SIZE_IN_NAME = re.compile(r"_(96|128|160|192|224)(?:_tf)?(?:_no_top)?\.h5$")
_COUNTER = re.compile(r"^(.*?)(?:_(\d+))?$")
# MobileNetV2's documented widths; its layer widths are _make_divisible(filters * alpha, 8).
_V2_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
# MobileNetV3's documented widths first; others are tried after them.
_V3_ALPHAS = (1.0, 0.75, 0.5, 0.35, 1.25, 1.5)


def is_full_model_h5(path) -> bool:
    """Whether an ``.h5`` file stores a whole model (config + weights), not weights only."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "model_config" in f.attrs
    except OSError as error:
        raise ValueError(
            f"name_or_path: {str(path)!r} is not a readable HDF5 file ({error}); pass a Keras "
            f".h5/.keras file, a SavedModel folder or a preset name."
        ) from None


def is_weights_file(path) -> bool:
    """Whether `path` is an ``.h5`` file of weights only (either layout)."""
    lower = os.fspath(path).lower()
    return lower.endswith((".h5", ".hdf5")) and not is_full_model_h5(path)


def read_structure(path) -> tuple[str, dict[str, list[tuple[int, ...]]]]:
    """``(layout, {group: [variable shapes]})`` of a weight file; layout is ``keras3`` or ``legacy``.

    Keras 3 groups are paths below ``layers/`` (``conv2d_3``, or ``functional/layers/dense`` in a
    nested model); legacy groups are layer names. Groups without variables are left out.
    """
    import h5py

    structure: dict[str, list[tuple[int, ...]]] = {}
    with h5py.File(path, "r") as f:
        if "layers" in f and "layer_names" not in f.attrs:
            _walk_keras3(f["layers"], "", structure)
            return "keras3", structure
        for raw in f.attrs.get("layer_names", []):
            name = raw.decode() if isinstance(raw, bytes) else raw
            group = f[name]
            shapes = []
            for weight in group.attrs.get("weight_names", []):
                weight = weight.decode() if isinstance(weight, bytes) else weight
                shapes.append(tuple(group[weight].shape))
            if shapes:
                structure[name] = shapes
    return "legacy", structure


def _walk_keras3(group, prefix: str, structure: dict) -> None:
    for name in group:
        child = group[name]
        if not hasattr(child, "keys"):
            continue
        variables = child.get("vars")
        if variables is not None and len(variables):
            structure[prefix + name] = [
                tuple(variables[str(i)].shape) for i in range(len(variables))
            ]
        if "layers" in child:
            _walk_keras3(child["layers"], f"{prefix}{name}/layers/", structure)


def _ordered(structure: dict, kind: str) -> list[str]:
    """Keras 3 groups of one layer class (``conv2d``), in layer order (by their counter)."""
    found = []
    for key in structure:
        base, counter = _COUNTER.match(key).groups()
        if base == kind:
            found.append((int(counter or 0), key))
    return [key for _, key in sorted(found)]


def _parameters(shapes) -> int:
    return sum(math.prod(s) for s in shapes)


def _make_divisible(value: float, divisor: int = 8) -> int:
    """The width rule of MobileNetV2/V3: nearest multiple of 8, never 10 % below `value`."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * value else new


def identify(path) -> tuple[str, dict, int | None]:
    """``(preset name, constructor options, input size or None)`` of a keras.applications file.

    The options are those the file's shapes fix: ``classes`` (when not 1000), MobileNet's
    ``alpha`` and ``depth_multiplier``, MobileNetV3's ``alpha`` and ``minimalistic``.

    Raises:
        ValueError: not a keras.applications weight file with a classifier top; the message
            says how many layers and parameters the file holds.
    """
    path = pathlib.Path(path)
    layout, structure = read_structure(path)
    if layout == "legacy":
        preset, options = _identify_legacy(path, structure)
    else:
        preset, options = _identify_keras3(path, structure)
    match = _SIZE_IN_NAME.search(path.name) if preset.startswith("mobilenet") else None
    size = int(match.group(1)) if match else options.pop("_size", None)
    return preset, options, size


def _not_recognised(path, structure, why: str = "") -> ValueError:
    return ValueError(
        f"name_or_path: {str(path)!r} holds weights only ({len(structure)} layers with "
        f"{_parameters(s for v in structure.values() for s in v):,} parameters) and is not a "
        f"keras.applications weight file tfattr recognises{why}. Pass the architecture: "
        f"tfattr.models.load('<preset>', weights={str(path)!r}, ...options), or save the whole "
        f"model (model.save('model.keras')) and load that."
    )


def _identify_legacy(path, structure) -> tuple[str, dict]:
    names = set(structure)
    head = next((n for n in _TOP_LAYERS if n in names), None)
    if head is None:
        raise ValueError(
            f"name_or_path: {str(path)!r} has no classifier top (an include_top=False file); "
            f"tfattr explains classifiers, so use the weight file with the top."
        )
    options = _classes(structure[head][0][-1])
    preset = next((p for layer, p in _SIGNATURES if layer in names), None)
    if preset == "mobilenet":
        options.update(_mobilenet_options(structure["conv1"][0], structure["conv_dw_1"][0]))
    elif preset == "mobilenet_v2":
        alpha = _v2_alpha(structure["block_16_project"][0][-1])
        if alpha not in (None, 1.0):
            options["alpha"] = alpha
    elif preset is None:
        preset = _by_parameters(path, structure, head)
    return preset, options


def _identify_keras3(path, structure) -> tuple[str, dict]:
    convs = _ordered(structure, "conv2d")
    depthwise = _ordered(structure, "depthwise_conv2d")
    dense = _ordered(structure, "dense")
    if not structure:
        raise _not_recognised(path, structure, " (it holds no variables)")
    if depthwise and not dense and len(depthwise) == 13:  # MobileNet: 13 depthwise blocks
        if len(convs) != 15:  # the stem, 13 pointwise convolutions, and conv_preds
            raise _not_recognised(path, structure, " (a MobileNet without its classifier top?)")
        options = _mobilenet_options(structure[convs[0]][0], structure[depthwise[0]][0])
        return "mobilenet", {**options, **_classes(structure[convs[-1]][0][-1])}
    if depthwise and dense and len(depthwise) == 17 and len(dense) == 1:  # MobileNetV2
        options = _classes(structure[dense[-1]][0][-1])
        alpha = _v2_alpha(structure[convs[-2]][0][-1])  # block_16_project
        return "mobilenet_v2", {**options, **({"alpha": alpha} if alpha not in (None, 1.0) else {})}
    if depthwise and not dense and len(depthwise) in (11, 15):  # MobileNetV3 Small / Large
        return _mobilenet_v3(path, structure, len(depthwise) == 15)
    if convs and len(dense) == 3 and not depthwise and len(convs) in (13, 16):  # VGG
        options = _classes(structure[dense[-1]][0][-1])
        side = 32 * math.isqrt(structure[dense[0]][0][0] // 512)
        if side * side == 1024 * structure[dense[0]][0][0] // 512:
            options["_size"] = side
        return ("vgg16" if len(convs) == 13 else "vgg19"), options
    if not dense:
        raise _not_recognised(path, structure, " (no Dense classifier: an include_top=False file?)")
    return _by_parameters(path, structure, dense[-1]), _classes(structure[dense[-1]][0][-1])


def _classes(count: int) -> dict:
    return {} if count == 1000 else {"classes": int(count)}


def _mobilenet_options(stem_kernel, depthwise_kernel) -> dict:
    options = {}
    alpha = stem_kernel[-1] / 32
    if alpha != 1.0:
        options["alpha"] = alpha
    if depthwise_kernel[-1] != 1:
        options["depth_multiplier"] = int(depthwise_kernel[-1])
    return options


def _v2_alpha(project_width: int) -> float | None:
    return next((a for a in _V2_ALPHAS if _make_divisible(320 * a) == project_width), None)


def _mobilenet_v3(path, structure, large: bool) -> tuple[str, dict]:
    import keras

    preset = "mobilenet_v3_large" if large else "mobilenet_v3_small"
    kernels = [structure[k][0][:2] for k in _ordered(structure, "depthwise_conv2d")]
    options = _classes(structure[_ordered(structure, "conv2d")[-1]][0][-1])
    if all(k == (3, 3) for k in kernels):  # the minimalistic variant has no 5x5 kernels
        options["minimalistic"] = True
    constructor = getattr(keras.applications, "MobileNetV3Large" if large else "MobileNetV3Small")
    for alpha in _V3_ALPHAS:
        candidate = {**options, **({} if alpha == 1.0 else {"alpha": alpha})}
        model = constructor(weights=None, input_shape=(32, 32, 3), **candidate)
        if model_structure(model, "keras3") == structure:
            return preset, candidate
    raise _not_recognised(path, structure, f" (a {preset} of none of the widths {_V3_ALPHAS})")


def _by_parameters(path, structure, head: str) -> str:
    preset = _BACKBONES.get(parameters_of(structure, head))
    if preset is None:
        raise _not_recognised(path, structure)
    return preset


def model_structure(model, layout: str) -> dict[str, list[tuple[int, ...]]]:
    """The ``{group: [variable shapes]}`` a weight file of `model` would have, in `layout`."""
    if layout == "legacy":
        return {
            layer.name: [tuple(w.shape) for w in layer.weights]
            for layer in model.layers
            if layer.weights
        }
    with tempfile.TemporaryDirectory() as folder:
        target = os.path.join(folder, "model.weights.h5")
        model.save_weights(target)
        return read_structure(target)[1]


def describe_mismatch(path, model, limit: int = 3) -> str:
    """Which layers of a weight file do not fit `model`: names and shapes, never values."""
    layout, found = read_structure(path)
    expected = model_structure(model, layout)
    missing = [k for k in expected if k not in found]
    extra = [k for k in found if k not in expected]
    differ = [k for k in expected if k in found and found[k] != expected[k]]
    # Kernels first, in layer order: they show the width that differs.
    differ.sort(key=lambda k: (-max(len(s) for s in expected[k]), _layer_order(k)))
    parts = [f"the file holds {len(found)} layers with weights, {model.name!r} has {len(expected)}"]
    if differ:
        shown = "; ".join(
            f"{k}: file {_shapes(found[k])}, model {_shapes(expected[k])}" for k in differ[:limit]
        )
        parts.append(
            f"{len(differ)} differ in shape ({shown}{'; ...' if len(differ) > limit else ''})"
        )
    if missing:
        parts.append(f"{len(missing)} missing from the file ({', '.join(missing[:limit])}...)")
    if extra:
        parts.append(f"{len(extra)} not in the model ({', '.join(extra[:limit])}...)")
    return "; ".join(parts)


def _layer_order(key: str) -> tuple:
    base, counter = _COUNTER.match(key).groups()
    return int(counter or 0), base


def _shapes(shapes) -> str:
    return ", ".join(str(tuple(int(d) for d in s)) for s in shapes)


def load_weights(model, path) -> None:
    """``model.load_weights(path)``; a failure is summarised by layer names and shapes.

    Raises:
        ValueError: the file does not fit the model (which layers, which shapes).
    """
    try:
        model.load_weights(os.fspath(path))
    except Exception as error:  # Keras' own message can quote whole weight tensors
        raise ValueError(
            f"weights: {os.fspath(path)!r} does not fit the model {model.name!r} "
            f"({type(error).__name__}): {describe_mismatch(path, model)}. Pass the options the "
            f"weights were trained with (e.g. alpha=, classes=), or load the file by path alone "
            f"to recognise them."
        ) from None


def parameters_of(structure: dict, head: str) -> int:
    """Parameters outside `head` and Normalization layers (the key of the backbone table)."""
    return _parameters(
        s
        for key, shapes in structure.items()
        if key != head and _COUNTER.match(key.rsplit("/", 1)[-1]).group(1) != "normalization"
        for s in shapes
    )
