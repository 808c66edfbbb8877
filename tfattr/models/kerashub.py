"""KerasHub vision models: presets saved on disk, and the token grid of Vision Transformers.

KerasHub (``pip install tfattr[keras-hub]``) image classifiers are Keras 3 Functional models, so
every gradient method explains them as they are. Their preprocessor (resize, rescale) runs in
``predict``/``fit`` only: calling the model -- which is what tfattr differentiates -- takes the
preprocessed image, and :func:`keras_hub_spec` turns the preprocessor into the spec's
``preprocess``.

Token models (ViT, DeiT) have no spatial feature map: :func:`token_grid` says how their patch
tokens tile the image, for CAM methods that reshape tokens to a grid, and :func:`vit_cam_layer`
names the layer they use by default.
"""

from __future__ import annotations

import dataclasses
import pathlib

import tensorflow as tf

# Tokens before the patch tokens: ViT's class token; DeiT's class and distillation tokens.
_PREFIX_TOKENS = {"DeiTBackbone": 2}


@dataclasses.dataclass(frozen=True)
class TokenGrid:
    """How a token model's sequence maps to the image: ``prefix`` tokens, then rows x cols.

    Attributes:
        rows: patches down the image (image height / patch height).
        cols: patches across the image (image width / patch width).
        prefix: tokens before the patch tokens (class / distillation tokens), dropped by
            :meth:`to_grid`.

    Example:
        >>> grid = tfattr.models.TokenGrid(rows=14, cols=14, prefix=1)  # ViT, 224 px, 16 px
        >>> grid.tokens                                # the class token, then 14 x 14 patches
        197
        >>> grid.to_grid(np.zeros((2, 197, 8))).shape
        TensorShape([2, 14, 14, 8])
    """

    rows: int
    cols: int
    prefix: int

    @property
    def tokens(self) -> int:
        """The sequence length: prefix tokens plus one token per patch."""
        return self.prefix + self.rows * self.cols

    def to_grid(self, tokens) -> tf.Tensor:
        """``(N, tokens, D)`` -> ``(N, rows, cols, D)``, the prefix tokens dropped.

        Args:
            tokens: ``(N, prefix + rows * cols, D)`` token features (a transformer block's
                output), numpy or tf.

        Returns:
            float ``(N, rows, cols, D)`` tf.Tensor: the patch tokens on their image grid.

        Raises:
            ValueError: the sequence length is not ``prefix + rows * cols``.

        Example:
            >>> grid = tfattr.models.TokenGrid(rows=2, cols=3, prefix=1)
            >>> tokens = np.arange(2 * 7 * 4).reshape(2, 7, 4)   # class token + 2 x 3 patches
            >>> patches = grid.to_grid(tokens)
            >>> patches.shape, patches[0, 0, 0].numpy().tolist()  # token 1 is the first patch
            (TensorShape([2, 2, 3, 4]), [4, 5, 6, 7])
        """
        tokens = tf.convert_to_tensor(tokens)
        if tokens.shape.rank != 3 or tokens.shape[1] != self.tokens:
            raise ValueError(
                f"tokens: expected shape (N, {self.tokens}, D) ({self.prefix} prefix tokens + "
                f"{self.rows}x{self.cols} patches), got {tuple(tokens.shape)}."
            )
        return tf.reshape(tokens[:, self.prefix :], (-1, self.rows, self.cols, tokens.shape[2]))


def is_keras_hub_model(model) -> bool:
    """Whether `model` is a KerasHub task or backbone (without importing keras_hub)."""
    return any(cls.__module__.startswith("keras_hub") for cls in type(model).__mro__)


def backbone_of(model):
    """The KerasHub backbone of a task (``model.backbone``), or `model` itself."""
    return getattr(model, "backbone", None) or model


def token_grid(model) -> TokenGrid | None:
    """The token grid of a KerasHub ViT-like model (task or backbone), or None for other models.

    Read from the backbone's config: ``image_shape`` / ``patch_size``, and whether a class token
    (ViT's ``use_class_token``; DeiT's class and distillation tokens) comes first.

    Args:
        model: a KerasHub image classifier or backbone.

    Returns:
        A :class:`TokenGrid`, or None when the model has no patch tokens (convolutional models).

    Raises:
        ValueError: a token model whose image size is not set or not a multiple of its patch.

    Example:
        >>> import keras_hub
        >>> vit = keras_hub.models.ViTBackbone(image_shape=(32, 32, 3), patch_size=8,
        ...     num_layers=1, num_heads=1, hidden_dim=8, mlp_dim=8)
        >>> tfattr.models.token_grid(vit)               # 32 / 8 = 4 patches a side
        TokenGrid(rows=4, cols=4, prefix=1)
        >>> tfattr.models.token_grid(model) is None     # a convolutional model
        True
    """

    backbone = backbone_of(model)
    if not is_keras_hub_model(backbone):
        return None
    config = backbone.get_config()
    if "patch_size" not in config or "image_shape" not in config:
        return None
    patch = config["patch_size"]
    patch_h, patch_w = (patch, patch) if isinstance(patch, int) else tuple(patch)
    height, width = tuple(config["image_shape"])[:2]
    if height is None or width is None or height % patch_h or width % patch_w:
        raise ValueError(
            f"model: {type(backbone).__name__} takes {height}x{width} images with "
            f"{patch_h}x{patch_w} patches; the token grid needs a fixed size that is a multiple "
            f"of the patch."
        )
    prefix = _PREFIX_TOKENS.get(type(backbone).__name__, int(config.get("use_class_token", True)))
    return TokenGrid(height // patch_h, width // patch_w, prefix)


def vit_cam_layer(model):
    """The layer CAM methods use by default on a KerasHub ViT: the last encoder block's first
    layer norm (the input of the last attention), or None for other models.

    That is the layer the field uses (pytorch-grad-cam's ``blocks[-1].norm1``): the output of
    the last block, where a ViT reads its class token, has patch tokens that no longer reach
    the score. KerasHub's encoder runs its blocks inside one layer; the block is reached as a
    layer inside it (:func:`tfattr.core.layers.cam_layer`).

    Example:
        >>> tfattr.models.kerashub.vit_cam_layer(vit_classifier).name
        'layer_norm_1'
    """
    backbone = backbone_of(model)
    if not is_keras_hub_model(backbone) or token_grid(backbone) is None:
        return None
    for layer in reversed(getattr(backbone, "layers", [])):
        blocks = getattr(layer, "encoder_layers", None)
        if isinstance(blocks, list | tuple) and blocks:
            return getattr(blocks[-1], "layer_norm_1", None)
    return None


def is_preset_dir(path) -> bool:
    """Whether `path` is a KerasHub preset folder (``save_to_preset``: config + metadata)."""
    path = pathlib.Path(path)
    return path.is_dir() and (path / "config.json").is_file() and (path / "metadata.json").is_file()


def load_preset(handle: str):
    """``keras_hub.models.ImageClassifier.from_preset(handle)`` with errors that name the fix.

    Args:
        handle: a preset folder saved with ``save_to_preset``, or a KerasHub handle
            (``kaggle://...``, ``hf://...``), which needs the network or a filled cache.
    """
    try:
        import keras_hub
    except ImportError:
        raise ImportError(
            f"name_or_path: {handle!r} is a KerasHub model, which needs keras-hub: "
            f"pip install 'tfattr[keras-hub]'."
        ) from None
    try:
        return keras_hub.models.ImageClassifier.from_preset(handle)
    except (OSError, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(
            f"name_or_path: could not load the KerasHub image classifier {handle!r} ({first}). "
            f"Offline, pass a folder saved with classifier.save_to_preset(folder)."
        ) from None


def preprocess_of(model):
    """The preprocessing of a KerasHub task as ``uint8 images -> model inputs``, or None.

    The preprocessor's image converter resizes and rescales; tfattr's images are already at
    the model's size, so only its ``scale`` and ``offset`` are applied here.
    """
    converter = getattr(getattr(model, "preprocessor", None), "image_converter", None)
    if converter is None:
        return None
    scale, offset = getattr(converter, "scale", None), getattr(converter, "offset", None)
    if scale is None and offset is None:
        return None
    scale = tf.constant(1.0 if scale is None else scale, tf.float32)
    offset = tf.constant(0.0 if offset is None else offset, tf.float32)

    def preprocess(images):
        return tf.cast(images, tf.float32) * scale + offset

    return preprocess
