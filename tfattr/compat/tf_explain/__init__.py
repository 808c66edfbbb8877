"""tf-explain's API computed by tfattr: change the import, keep the code.

tf-explain (0.3.1, unmaintained) breaks on Keras 3: Grad-CAM without ``layer_name`` fails on
every model (layers lost ``output_shape``), Grad-CAM and SmoothGrad fail on Sequential models.
This package has its modules, classes, signatures, defaults and outputs, with the work done by
tfattr's explainers (model adapter, layer taps, compiled gradient engine), so it also works on
Sequential, nested and tf-keras models. Replace ``tf_explain`` by ``tfattr.compat.tf_explain`` in
the imports::

    from tfattr.compat.tf_explain.core.grad_cam import GradCAM   # was: from tf_explain.core...

    explainer = GradCAM()
    grid = explainer.explain((images, None), model, class_index=281, layer_name="block5_conv3")
    explainer.save(grid, "out", "grad_cam.png")

Explainers (``tfattr.compat.tf_explain.core``), each ``explain(validation_data, model,
class_index, ...)`` -> a uint8 grid (``ceil(sqrt(N))`` images a side, black cells to fill the
square) and ``save(grid, output_dir, output_name)``:

========================  ==========================================  ==========================
class                     computed by                                 grid
========================  ==========================================  ==========================
``GradCAM``               :class:`tfattr.GradCAM` (guided weights:    RGB overlays
                          ``core.grad_cam.GuidedGradientsGradCAM``)
``VanillaGradients``      :class:`tfattr.Saliency`                    grayscale
``GradientsInputs``       :class:`tfattr.InputXGradient`              grayscale
``SmoothGrad``            :class:`tfattr.SmoothGrad`                  grayscale
``IntegratedGradients``   ``core.integrated_gradients.PathMeanGradients``  grayscale
                          (tfattr's gradient engine)
``OcclusionSensitivity``  :class:`tfattr.Occlusion`                   RGB overlays
``ExtractActivations``    :class:`tfattr.Activations`                 grayscale, every channel
========================  ==========================================  ==========================

Callbacks (``tfattr.compat.tf_explain.callbacks``): ``GradCAMCallback``,
``VanillaGradientsCallback``, ``GradientsInputsCallback``, ``SmoothGradCallback``,
``IntegratedGradientsCallback``, ``OcclusionSensitivityCallback``,
``ActivationsVisualizationCallback`` with tf-explain's arguments; each writes its grid to
TensorBoard in ``output_dir/<timestamp>`` after every epoch (step = epoch index from 0, tf-explain's
tags), through :func:`tfattr.callbacks.image_summary`, which also works without the tensorboard
package. For tfattr's own methods and comparison figures during training use
:class:`tfattr.callbacks.AttributionCallback`.

What tf-explain computes, kept here on purpose (it is a drop-in), where tfattr differs:

- **Integrated Gradients without the (x - baseline) factor.** tf-explain averages the gradients
  at ``k / (n_steps - 1) * x``, k = 0..n_steps-1 (black baseline, both ends, equal weights) and
  stops: no multiplication by ``x - 0``, so the maps are not complete (do not sum to
  ``F(x) - F(0)``) and do not vanish where the input is 0. :class:`tfattr.IntegratedGradients` is
  the paper's method (times ``x - baseline``, trapezoid weights).
- **Grad-CAM with "guided" weights by default and no ReLU.** With ``use_guided_grads=True``
  (tf-explain's default) the channel weights are the spatial mean of
  ``[A > 0] [dF/dA > 0] dF/dA``, not the paper's mean of ``dF/dA``
  (:class:`tfattr.GradCAM`; pass ``use_guided_grads=False``). The map is not passed through a
  ReLU; each map is scaled by its own minimum and maximum before colouring.
- **Raw model outputs.** Grad-CAM, Integrated Gradients and Occlusion explain the model's output
  as it is -- probabilities when it ends in a softmax -- where tfattr explains logits by default.
  Vanilla Gradients and Gradients*Inputs skip the model's last layer only if it is an activation
  layer (else they warn, as tf-explain, and use the output). SmoothGrad differentiates
  tf-explain's loss, ``log p_c`` (Keras cross-entropy: output normalised, clipped to
  ``[1e-7, 1 - 1e-7]``), not the class logit.
- **Grayscale maps.** Absolute values summed over channels, standardised over the *whole batch*
  (mean 0, std 1 over all images together, so one image's map depends on the others), times 255.
- **Occlusion.** Grey patches of value 127.5 whatever the input scale, stride = patch size, each
  cell ``1 - p_c(occluded)``, bilinear upsampling. (tfattr's :class:`~tfattr.Occlusion` spreads
  ``F(x) - F(occluded)`` over each window; for one image the two differ by a constant, which the
  colour scaling removes.)
- **SmoothGrad noise** is absolute (``noise`` = standard deviation in the input's scale,
  default 1.0, 5 samples), not tfattr's 15 % of each image's range.

Where this package does not reproduce tf-explain (its bugs, or OpenCV):

- **uint8 conversions saturate.** tf-explain casts ``255 * standardised`` to uint8, where
  out-of-range values wrap around (-1 becomes 255, -127 becomes 129, 300 becomes 44): the
  below-average background of its gradient maps comes out bright and the strongest pixels
  banded. Here they clip to 0 and 255 (below the batch mean: black; above one standard
  deviation: white). Likewise float
  images in [0, 255] (which tf-explain multiplies by 255 again) are taken as they are, and
  images outside [-1, 1] / [0, 255] are clipped.
- **Colormaps are matplotlib's.** ``colormap`` takes OpenCV's ``COLORMAP_*`` ints (also
  exported here, ``utils.display.COLORMAP_JET`` ...), mapped to the matplotlib map of the same
  name, or any matplotlib colormap name or object. OpenCV's viridis, magma, inferno, plasma,
  cividis and twilight are matplotlib's tables; its jet, rainbow, hsv and the other older maps
  differ slightly; parula and deepgreen are refused (no matplotlib equivalent).
- **Constant maps** (e.g. a Grad-CAM that is 0 everywhere) are drawn as the low end of the
  colormap instead of tf-explain's division by zero.
- **Non-square images**: tf-explain's occlusion mixes up height and width; here they are not.
- **Randomness**: SmoothGrad takes an extra keyword ``seed`` (tfattr's stateless noise) instead
  of drawing from NumPy's global generator, so training with its callback is not perturbed.
- ``layer_name`` and ``layers_name`` are also found inside nested models (tf-explain: top-level
  layers only); a string ``layers_name`` is one layer name (tf-explain matched substrings).
- Every public name of tf-explain 0.3.1 is here with its signature, including the static
  helpers (``GradCAM.get_gradients_and_filters`` / ``generate_ponderated_output`` /
  ``ponderate_output`` / ``infer_grad_cam_target_layer``,
  ``IntegratedGradients.generate_interpolations`` / ``generate_linear_path`` /
  ``get_integrated_gradients``, ``SmoothGrad.generate_noisy_images`` /
  ``get_averaged_gradients``, ``ExtractActivations.generate_activations_graph``,
  ``OcclusionSensitivity.get_sensitivity_map``, ``VanillaGradients.get_score_model`` /
  ``explain_score_model`` / ``compute_gradients``) and ``utils`` (``apply_grey_patch``,
  ``transform_to_normalized_grayscale``, ``grid_display``, ``filter_display``,
  ``heatmap_display``, ``image_to_uint_255``, ``save_rgb``, ``save_grayscale``). Where
  tf-explain returns a Keras model (``get_score_model``, ``generate_activations_graph``) so
  does this package (of the model's own Keras package); gradients come back as ``tf.Tensor``.
- Callbacks log the grid converted as ``tf.summary.image`` converts it (floats in [0, 1] to
  uint8), with or without the tensorboard package installed.
- Checked against tf-explain 0.3.1's own test suite (its ``tests/`` run with this package
  imported as ``tf_explain``): 42 of its 45 unit tests pass; the three others patch OpenCV
  calls or replace its internal helpers with sentinels (``cv2.resize``, ``cv2.addWeighted``,
  ``get_gradients_and_filters`` inside ``explain``); its integration test needs the MNIST
  download and is restated on random data in ``tests/compat/``.
"""

from tfattr.compat.tf_explain import callbacks, core, utils
from tfattr.compat.tf_explain.callbacks import (
    ActivationsVisualizationCallback,
    GradCAMCallback,
    GradientsInputsCallback,
    IntegratedGradientsCallback,
    OcclusionSensitivityCallback,
    SmoothGradCallback,
    VanillaGradientsCallback,
)
from tfattr.compat.tf_explain.core import (
    ExtractActivations,
    GradCAM,
    GradientsInputs,
    IntegratedGradients,
    OcclusionSensitivity,
    SmoothGrad,
    VanillaGradients,
)

__all__ = [
    "ActivationsVisualizationCallback",
    "ExtractActivations",
    "GradCAM",
    "GradCAMCallback",
    "GradientsInputs",
    "GradientsInputsCallback",
    "IntegratedGradients",
    "IntegratedGradientsCallback",
    "OcclusionSensitivity",
    "OcclusionSensitivityCallback",
    "SmoothGrad",
    "SmoothGradCallback",
    "VanillaGradients",
    "VanillaGradientsCallback",
    "callbacks",
    "core",
    "utils",
]
