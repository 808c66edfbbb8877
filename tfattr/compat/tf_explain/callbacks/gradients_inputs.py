"""tf-explain's ``GradientsInputsCallback``."""

from tfattr.compat.tf_explain.callbacks.vanilla_gradients import VanillaGradientsCallback
from tfattr.compat.tf_explain.core.gradients_inputs import GradientsInputs


class GradientsInputsCallback(VanillaGradientsCallback):
    """Logs tf-explain's gradients x inputs grid to TensorBoard after each epoch.

    Arguments as :class:`VanillaGradientsCallback` (default folder
    ``./logs/gradients_inputs``).
    """

    explainer = GradientsInputs()
    default_output_subdir = "gradients_inputs"
