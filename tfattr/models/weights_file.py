"""Recognising keras.applications weight files (``.h5`` without a model config).

Keras' ImageNet weights (``mobilenet_2_5_128_tf.h5``, ``vgg16_weights_tf_dim_ordering_tf_kernels.h5``,
...) hold weights only: the architecture must be rebuilt before they load. The layer names tell
which architecture it is, and the first/last convolution widths tell MobileNet's ``alpha``.
"""

from __future__ import annotations

import pathlib
import re

# The first layer name that only one architecture has, checked in this order.
_SIGNATURES = (
    ("block5_conv4", "vgg19"),
    ("block5_conv3", "vgg16"),
    ("mixed10", "inception_v3"),
    ("conv5_block3_3_conv", "resnet50"),
    ("conv_pw_13", "mobilenet"),
    ("block_16_project", "mobilenet_v2"),
)
_TOP_LAYERS = ("predictions", "conv_preds")
# MobileNet v2's last block has _make_divisible(320 * alpha, 8) filters.
_V2_ALPHA = {112: 0.35, 160: 0.5, 240: 0.75, 320: 1.0, 416: 1.3, 448: 1.4}
_SIZE_IN_NAME = re.compile(r"_(96|128|160|192|224)(?:_tf)?(?:_no_top)?\.h5$")


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


def _kernel_shape(f, layer: str) -> tuple[int, ...] | None:
    group = f.get(layer)
    if group is None:
        return None
    for weight in group.attrs.get("weight_names", []):
        name = weight.decode() if isinstance(weight, bytes) else weight
        if "kernel" in name:
            return tuple(group[name].shape)
    return None


def identify(path) -> tuple[str, dict, int | None]:
    """``(preset name, constructor options, input size or None)`` of a keras.applications weight file.

    Raises:
        ValueError: the file is not a keras.applications ImageNet weight file with a classifier top.
    """
    import h5py

    path = pathlib.Path(path)
    with h5py.File(path, "r") as f:
        names = {n.decode() if isinstance(n, bytes) else n for n in f.attrs.get("layer_names", [])}
        names |= set(f.keys())
        preset = next((p for layer, p in _SIGNATURES if layer in names), None)
        if preset is None:
            raise ValueError(
                f"name_or_path: {str(path)!r} holds weights only and is not a keras.applications "
                f"weight file tfattr recognises (vgg16, vgg19, inception_v3, resnet50, mobilenet, "
                f"mobilenet_v2). Save the whole model (model.save('model.keras')) and load that."
            )
        if not names & set(_TOP_LAYERS):
            raise ValueError(
                f"name_or_path: {str(path)!r} has no classifier top (an include_top=False file); "
                f"tfattr explains classifiers, so use the weight file with the top."
            )
        options = {}
        if preset == "mobilenet":
            width = _kernel_shape(f, "conv1")
            if width is not None:
                options["alpha"] = width[-1] / 32
        elif preset == "mobilenet_v2":
            width = _kernel_shape(f, "block_16_project")
            if width is not None and width[-1] in _V2_ALPHA:
                options["alpha"] = _V2_ALPHA[width[-1]]
    match = _SIZE_IN_NAME.search(path.name) if preset.startswith("mobilenet") else None
    return preset, options, int(match.group(1)) if match else None
