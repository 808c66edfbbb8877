"""tf-explain's ``VanillaGradients``, computed by :class:`tfattr.Saliency`."""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf

import tfattr
from tfattr.compat.tf_explain.core._base import ExplainerCache, images_of, sub_model
from tfattr.compat.tf_explain.utils.display import grid_display
from tfattr.compat.tf_explain.utils.image import transform_to_normalized_grayscale
from tfattr.compat.tf_explain.utils.saver import save_grayscale
from tfattr.core.adapter import ModelAdapter

UNSUPPORTED_ARCHITECTURE_WARNING = (
    "Unsupported model architecture for VanillaGradients. The last two layers of "
    "the model should be: a layer which computes class scores with no activation, "
    "followed by an activation layer."
)

# tf-explain's ACTIVATION_LAYER_CLASSES, by name so that Keras 3 and tf-keras layers both match.
ACTIVATION_LAYER_CLASSES = (
    "Activation",
    "LeakyReLU",
    "PReLU",
    "ReLU",
    "Softmax",
    "ThresholdedReLU",
)


class VanillaGradients(ExplainerCache):
    """Grayscale gradient maps in a grid (tf-explain's ``VanillaGradients``).

    The gradient of the class score -- the input of the model's last layer when that layer is
    an activation layer (``Softmax``, ``Activation``, ``ReLU``, ...), else the model's output,
    with tf-explain's warning -- in absolute value, summed over channels and turned into uint8
    by :func:`~tfattr.compat.tf_explain.utils.image.transform_to_normalized_grayscale`.

    Paper: Simonyan, Vedaldi, Zisserman, "Deep Inside Convolutional Networks: Visualising Image
    Classification Models and Saliency Maps", 2014.

    Example:
        >>> import keras
        >>> from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients
        >>> scores = keras.layers.Dense(10, name="scores")(keras.layers.Flatten()(model.input))
        >>> classifier = keras.Model(model.input, keras.layers.Softmax()(scores))
        >>> grid = VanillaGradients().explain((images, None), classifier, class_index=3)
        >>> grid.shape, grid.dtype.name    # 2 grayscale maps of 32 x 32 in a 2 x 2 grid
        ((64, 64), 'uint8')
    """

    tfattr_method = tfattr.Saliency

    def explain(self, validation_data, model, class_index):
        """Gradient maps of ``class_index`` for every image, as a grayscale grid.

        Args:
            validation_data: ``(images, labels)``; labels are ignored.
            model: a Keras model; ideally ending in an activation layer, which is skipped.
            class_index: the class to explain.

        Returns:
            uint8 grid ``(rows * H, columns * W)``, ``ceil(sqrt(N))`` images a side.

        Example:
            >>> import warnings
            >>> from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients
            >>> with warnings.catch_warnings(record=True) as caught:   # a fused softmax
            ...     warnings.simplefilter("always")
            ...     grid = VanillaGradients().explain((images, None), model, class_index=3)
            >>> grid.shape, "Unsupported model architecture" in str(caught[0].message)
            ((64, 64), True)

        """
        score_model = self.get_score_model(model)
        return self.explain_score_model(validation_data, score_model, class_index)

    def get_score_model(self, model):
        """A Keras model of ``model`` without its final activation layer (tf-explain's).

        When the last layer is an activation layer (``Softmax``, ``Activation``, ``ReLU``, ...)
        the result is a new model of the same Keras package from the model's inputs to that
        layer's input, sharing its layers (and so its weights as training goes on). Otherwise
        tf-explain's warning is given and the model itself is returned (e.g. for
        ``Dense(activation="softmax")`` or a subclassed model).

        Args:
            model: a Keras model.

        Returns:
            A Keras model (``.layers``, ``.predict`` ...).

        Example:
            >>> import keras
            >>> from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients
            >>> scores = keras.layers.Dense(10)(keras.layers.Flatten()(model.input))
            >>> classifier = keras.Model(model.input, keras.layers.Softmax()(scores))
            >>> score_model = VanillaGradients().get_score_model(classifier)
            >>> type(score_model.layers[-1]).__name__      # ends before the Softmax
            'Dense'
        """
        layers = getattr(model, "layers", None)
        last = layers[-1] if layers else None
        if (
            last is None
            or type(last).__name__ not in ACTIVATION_LAYER_CLASSES
            or not getattr(model, "inputs", None)
        ):
            warnings.warn(UNSUPPORTED_ARCHITECTURE_WARNING, stacklevel=3)
            return model
        return self.cached(
            model, ("score_model",), lambda: sub_model(model, last.input, "get_score_model")
        )

    def explain_score_model(self, validation_data, score_model, class_index):
        """As :meth:`explain`, for a model (or adapter) whose output is already the scores.

        Args:
            validation_data: ``(images, labels)``; labels are ignored.
            score_model: a model (or :class:`tfattr.ModelAdapter`) returning class scores.
            class_index: the class to explain.

        Returns:
            uint8 grid ``(rows * H, columns * W)``, ``ceil(sqrt(N))`` images a side.

        Example:
            >>> from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients
            >>> logits = tfattr.adapt(model)                 # the softmax skipped
            >>> VanillaGradients().explain_score_model((images, None), logits, 3).shape
            (64, 64)
        """
        images = images_of(validation_data)
        explainer = self.cached(
            score_model,
            ("gradients", self.tfattr_method),
            lambda: self.tfattr_method(ModelAdapter(score_model, output="raw")),
        )
        gradients = self.attributions(explainer, images, class_index)
        grayscale = transform_to_normalized_grayscale(tf.abs(gradients)).numpy()
        return grid_display(grayscale)

    @staticmethod
    def attributions(explainer, images, class_index):
        """The signed gradients (tf-explain takes their absolute value afterwards)."""
        return explainer.explain(images, target=class_index, abs=False)

    @classmethod
    def compute_gradients(cls, images, model, class_index):
        """The raw ``(N, H, W, C)`` maps of ``class_index`` for the model's output as it is
        (no activation skipped, no post-processing), as a float32 ``tf.Tensor``."""
        explainer = cls.tfattr_method(ModelAdapter(model, output="raw"))
        return cls.attributions(explainer, np.asarray(images, np.float32), class_index)

    def save(self, grid, output_dir, output_name):
        """Writes the grid to ``output_dir/output_name`` (the extension picks the format).

        Args:
            grid: the uint8 grid :meth:`explain` returns.
            output_dir: the folder (created if missing).
            output_name: the file name, e.g. ``"vanilla_gradients.png"``.

        Example:
            >>> from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients
            >>> explainer = VanillaGradients()
            >>> grid = explainer.explain_score_model((images, None), tfattr.adapt(model), 3)
            >>> explainer.save(grid, "out", "vanilla_gradients.png")
            >>> import os; os.path.exists("out/vanilla_gradients.png")
            True
        """

        save_grayscale(grid, output_dir, output_name)
