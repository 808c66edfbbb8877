"""tf-explain's ``GradCAMCallback``."""

from __future__ import annotations

from pathlib import Path

from tfattr.compat.tf_explain.callbacks._base import ExplainerCallback
from tfattr.compat.tf_explain.core.grad_cam import GradCAM


class GradCAMCallback(ExplainerCallback):
    """Logs tf-explain's Grad-CAM grid of ``validation_data`` to TensorBoard after each epoch.

    Args:
        validation_data: ``(images, labels)``.
        class_index: the class to explain.
        layer_name: the layer; None: the last top-level layer with a 4-D output.
        output_dir: TensorBoard folder (a timestamped subfolder is created in it).
        use_guided_grads: see :meth:`GradCAM.explain`.

    Example:
        >>> import keras
        >>> from tfattr.compat.tf_explain.callbacks.grad_cam import GradCAMCallback
        >>> net = keras.models.clone_model(model)
        >>> net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        >>> callback = GradCAMCallback((x, y), class_index=3, output_dir="logs")
        >>> _ = net.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
        >>> len(list(callback.output_dir.glob("events.out.tfevents.*")))   # one grid an epoch
        1
    """

    tag = "Grad CAM"

    def __init__(
        self,
        validation_data,
        class_index,
        layer_name=None,
        output_dir=Path("./logs/grad_cam"),
        use_guided_grads=True,
    ):
        super().__init__(output_dir)
        self.validation_data = validation_data
        self.layer_name = layer_name
        self.class_index = class_index
        self.use_guided_grads = use_guided_grads
        self.explainer = GradCAM()

    def grid(self):
        """This epoch's Grad-CAM grid of the validation images (what ``on_epoch_end`` logs).

        Returns:
            uint8 RGB grid ``(rows * H, columns * W, 3)`` (:meth:`GradCAM.explain`).

        Example:
            >>> from tfattr.compat.tf_explain.callbacks.grad_cam import GradCAMCallback
            >>> callback = GradCAMCallback((x, y), class_index=3, output_dir="logs")
            >>> callback.set_model(model)                 # Keras does this in fit()
            >>> callback.grid().shape
            (64, 64, 3)
        """
        return self.explainer.explain(
            self.validation_data,
            self.model,
            class_index=self.class_index,
            layer_name=self.layer_name,
            use_guided_grads=self.use_guided_grads,
        )
