"""tf-explain's ``VanillaGradients``, computed by :class:`tfattr.Saliency`."""

from __future__ import annotations

import warnings

import tensorflow as tf

import tfattr
from tfattr.compat.tf_explain.core._base import ExplainerCache, images_of
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


def _bypass(call):
    return lambda inputs, *args, **kwargs: inputs


class VanillaGradients(ExplainerCache):
    """Grayscale gradient maps in a grid (tf-explain's ``VanillaGradients``).

    The gradient of the class score -- the input of the model's last layer when that layer is
    an activation layer (``Softmax``, ``Activation``, ``ReLU``, ...), else the model's output,
    with tf-explain's warning -- in absolute value, summed over channels and turned into uint8
    by :func:`~tfattr.compat.tf_explain.utils.image.transform_to_normalized_grayscale`.

    Paper: Simonyan, Vedaldi, Zisserman, "Deep Inside Convolutional Networks: Visualising Image
    Classification Models and Saliency Maps", 2014.
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
            >>> from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients
            >>> grid = VanillaGradients().explain((images, None), model, class_index=3)
        """
        score_model = self.get_score_model(model)
        return self.explain_score_model(validation_data, score_model, class_index)

    def get_score_model(self, model):
        """The model without its final activation layer, as a tfattr :class:`ModelAdapter`.

        tf-explain builds a new Keras model here; the adapter skips the layer instead, which
        also works for Sequential and nested models. Warns (as tf-explain) and keeps the output
        when the last layer is not an activation layer (e.g. ``Dense(activation="softmax")``).
        """
        adapter = ModelAdapter(model, output="raw")
        layers = getattr(model, "layers", None)
        last = layers[-1] if layers else None
        if last is not None and type(last).__name__ in ACTIVATION_LAYER_CLASSES:
            adapter.overrides[last] = _bypass
        else:
            warnings.warn(UNSUPPORTED_ARCHITECTURE_WARNING, stacklevel=3)
        return adapter

    def explain_score_model(self, validation_data, score_model, class_index):
        """As :meth:`explain`, for a model (or adapter) whose output is already the scores."""
        images = images_of(validation_data)
        explainer = self.cached(
            score_model,
            ("gradients", self.tfattr_method),
            lambda: self.tfattr_method(
                score_model
                if isinstance(score_model, ModelAdapter)
                else ModelAdapter(score_model, output="raw")
            ),
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
        """The raw ``(N, H, W, C)`` maps of ``class_index`` (no post-processing)."""
        adapter = model if isinstance(model, ModelAdapter) else ModelAdapter(model, output="raw")
        return cls.attributions(cls.tfattr_method(adapter), images, class_index)

    def save(self, grid, output_dir, output_name):
        """Writes the grid to ``output_dir/output_name`` (the extension picks the format)."""
        save_grayscale(grid, output_dir, output_name)
