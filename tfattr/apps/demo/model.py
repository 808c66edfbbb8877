"""The demo's small CNN and its shipped weights, as a :class:`~tfattr.models.ModelSpec`."""

from __future__ import annotations

import pathlib

from tfattr.apps.demo.shapes import CLASSES, IMAGE_SIZE

WEIGHTS = pathlib.Path(__file__).resolve().parent / "assets" / "shapes_cnn.weights.h5"
CAM_LAYER = "features"
MODEL_NAME = "shapes_cnn"


def build_model():
    """The architecture: four conv-BN-ReLU blocks, global average pooling, a linear classifier.

    Global average pooling over the last feature map (``features``, 12 x 12 at 48 px) keeps the
    evidence spatial, which is what Grad-CAM and the mask metrics look at. About 75k parameters.
    """
    import keras

    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    x = inputs
    for index, (filters, pool) in enumerate(((24, True), (48, True), (64, False), (64, False))):
        name = f"conv{index + 1}"
        # Batch norm makes this small net train in a few epochs; at inference it is affine.
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name)(x)
        x = keras.layers.BatchNormalization(name=f"{name}_bn")(x)
        x = keras.layers.ReLU(name=CAM_LAYER if index == 3 else f"{name}_relu")(x)
        if pool:
            x = keras.layers.MaxPooling2D(2, name=f"pool{index + 1}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(len(CLASSES), name="logits")(x)
    return keras.Model(inputs, outputs, name=MODEL_NAME)


def load_spec(weights=WEIGHTS):
    """The trained demo model as a ModelSpec (inputs: uint8 images, preprocessing ``x / 255``).

    Args:
        weights: a ``.weights.h5`` file (default: the one shipped in the package).

    Returns:
        A :class:`tfattr.models.ModelSpec` with the class names and the Grad-CAM layer.

    Raises:
        ValueError: the weights file is missing (run ``python -m tfattr.apps.demo.train``).
    """
    from tfattr.models import ModelSpec, Preprocess

    path = pathlib.Path(weights)
    if not path.is_file():
        raise ValueError(
            f"model: the demo weights {str(path)!r} are missing; recreate them with "
            f"`python -m tfattr.apps.demo.train`."
        )
    model = build_model()
    model.load_weights(str(path))
    return ModelSpec(
        name=MODEL_NAME,
        model=model,
        preprocess=Preprocess("unit"),
        input_size=(IMAGE_SIZE, IMAGE_SIZE),
        num_classes=len(CLASSES),
        cam_layer=CAM_LAYER,
        imagenet=False,
        names=CLASSES,
    )
