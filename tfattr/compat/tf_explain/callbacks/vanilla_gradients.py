"""tf-explain's ``VanillaGradientsCallback``."""

from __future__ import annotations

from pathlib import Path

from tfattr.compat.tf_explain.callbacks._base import ExplainerCallback
from tfattr.compat.tf_explain.core.vanilla_gradients import VanillaGradients


class VanillaGradientsCallback(ExplainerCallback):
    """Logs tf-explain's vanilla-gradients grid to TensorBoard after each epoch.

    The score model (the model without its final activation layer) is set up once, when Keras
    hands the model to the callback. The tag is the explainer's class name.

    Args:
        validation_data: ``(images, labels)``.
        class_index: the class to explain.
        output_dir: TensorBoard folder (default ``./logs/vanilla_gradients``; a timestamped
            subfolder is created in it).

    Example:
        >>> import keras
        >>> from tfattr.compat.tf_explain.callbacks.vanilla_gradients import (
        ...     VanillaGradientsCallback)
        >>> scores = keras.layers.Dense(10)(keras.layers.Flatten()(model.input))
        >>> net = keras.Model(model.input, keras.layers.Softmax()(scores))
        >>> net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        >>> callback = VanillaGradientsCallback((x, y), class_index=3, output_dir="logs")
        >>> _ = net.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
        >>> len(list(callback.output_dir.glob("events.out.tfevents.*")))   # one grid an epoch
        1
    """

    explainer = VanillaGradients()
    default_output_subdir = "vanilla_gradients"

    def __init__(self, validation_data, class_index, output_dir=None):
        if not output_dir:
            output_dir = Path("./logs") / self.default_output_subdir
        super().__init__(output_dir)
        self.validation_data = validation_data
        self.class_index = class_index
        self.score_model = None
        self.tag = type(self.explainer).__name__

    def set_model(self, model):
        """Keeps the model (Keras calls this in ``fit``) and builds its score model once.

        Args:
            model: the Keras model being trained.

        Example:
            >>> from tfattr.compat.tf_explain.callbacks.vanilla_gradients import (
            ...     VanillaGradientsCallback)
            >>> callback = VanillaGradientsCallback((x, y), class_index=3, output_dir="logs")
            >>> import warnings
            >>> with warnings.catch_warnings():
            ...     warnings.simplefilter("ignore")     # a fused softmax: tf-explain's warning
            ...     callback.set_model(model)

            >>> callback.score_model is model          # no activation layer to skip
            True
        """
        super().set_model(model)

        self.score_model = self.explainer.get_score_model(model)

    def grid(self):
        """This epoch's vanilla-gradients grid of the validation images (what
        ``on_epoch_end`` logs).

        Returns:
            uint8 grayscale grid ``(rows * H, columns * W)`` (:meth:`VanillaGradients.explain`).

        Example:
            >>> from tfattr.compat.tf_explain.callbacks.vanilla_gradients import (
            ...     VanillaGradientsCallback)
            >>> import keras
            >>> scores = keras.layers.Dense(10)(keras.layers.Flatten()(model.input))
            >>> net = keras.Model(model.input, keras.layers.Softmax()(scores))
            >>> callback = VanillaGradientsCallback((x, y), class_index=3, output_dir="logs")
            >>> callback.set_model(net)                   # Keras does this in fit()
            >>> callback.grid().shape
            (64, 64)
        """
        return self.explainer.explain_score_model(
            self.validation_data, self.score_model, self.class_index
        )
