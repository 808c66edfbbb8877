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
        >>> from tfattr.compat.tf_explain.callbacks.smoothgrad import SmoothGradCallback
        >>> model.fit(x, y, callbacks=[SmoothGradCallback((x_val, y_val), class_index=0)])
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
