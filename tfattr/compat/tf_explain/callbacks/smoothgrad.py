"""tf-explain's ``SmoothGradCallback``."""

from __future__ import annotations

from pathlib import Path

from tfattr.compat.tf_explain.callbacks._base import ExplainerCallback
from tfattr.compat.tf_explain.core.smoothgrad import SmoothGrad


class SmoothGradCallback(ExplainerCallback):
    """Logs tf-explain's SmoothGrad grid to TensorBoard after each epoch.

    Args:
        validation_data: ``(images, labels)``.
        class_index: the class to explain.
        num_samples: noisy copies per image.
        noise: standard deviation of the noise.
        output_dir: TensorBoard folder (a timestamped subfolder is created in it).
        seed: seed of the noise (tfattr's addition; None: fresh noise every epoch).

    Example:
        >>> import keras
        >>> from tfattr.compat.tf_explain.callbacks.smoothgrad import SmoothGradCallback
        >>> net = keras.models.clone_model(model)
        >>> net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        >>> callback = SmoothGradCallback((x, y), 3, num_samples=4, noise=0.1,
        ...                               output_dir="logs", seed=0)
        >>> _ = net.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
        >>> len(list(callback.output_dir.glob("events.out.tfevents.*")))   # one grid an epoch
        1
    """

    tag = "SmoothGrad"

    def __init__(
        self,
        validation_data,
        class_index,
        num_samples=5,
        noise=1.0,
        output_dir=Path("./logs/smoothgrad"),
        *,
        seed=None,
    ):
        super().__init__(output_dir)
        self.validation_data = validation_data
        self.class_index = class_index
        self.num_samples = num_samples
        self.noise = noise
        self.seed = seed
        self.explainer = SmoothGrad()

    def grid(self):
        """This epoch's SmoothGrad grid of the validation images (what ``on_epoch_end`` logs).

        Returns:
            uint8 grayscale grid ``(rows * H, columns * W)`` (:meth:`SmoothGrad.explain`).

        Example:
            >>> from tfattr.compat.tf_explain.callbacks.smoothgrad import SmoothGradCallback
            >>> callback = SmoothGradCallback((x, y), 3, num_samples=4, noise=0.1,
            ...                               output_dir="logs", seed=0)
            >>> callback.set_model(model)                 # Keras does this in fit()
            >>> callback.grid().shape
            (64, 64)
        """
        # tf-explain's exact call; the seed (tfattr's addition) only when one is given.
        extra = {} if self.seed is None else {"seed": self.seed}
        return self.explainer.explain(
            self.validation_data,
            self.model,
            self.class_index,
            self.num_samples,
            self.noise,
            **extra,
        )
