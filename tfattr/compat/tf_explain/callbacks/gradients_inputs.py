"""tf-explain's ``GradientsInputsCallback``."""

from tfattr.compat.tf_explain.callbacks.vanilla_gradients import VanillaGradientsCallback
from tfattr.compat.tf_explain.core.gradients_inputs import GradientsInputs


class GradientsInputsCallback(VanillaGradientsCallback):
    """Logs tf-explain's gradients x inputs grid to TensorBoard after each epoch.

    Args:
        validation_data: ``(images, labels)``.
        class_index: the class to explain.
        output_dir: TensorBoard folder (default ``./logs/gradients_inputs``; a timestamped
            subfolder is created in it).

    Example:
        >>> import keras
        >>> from tfattr.compat.tf_explain.callbacks.gradients_inputs import (
        ...     GradientsInputsCallback)
        >>> scores = keras.layers.Dense(10)(keras.layers.Flatten()(model.input))
        >>> net = keras.Model(model.input, keras.layers.Softmax()(scores))
        >>> net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        >>> callback = GradientsInputsCallback((x, y), class_index=3, output_dir="logs")
        >>> _ = net.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
        >>> type(callback.score_model.layers[-1]).__name__, callback.grid().shape
        ('Dense', (64, 64))
    """

    explainer = GradientsInputs()
    default_output_subdir = "gradients_inputs"
