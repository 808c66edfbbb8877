"""tf-explain's ``GradCAM``, computed by :class:`tfattr.GradCAM`."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

import tfattr
from tfattr.compat.tf_explain.core._base import ExplainerCache, images_of
from tfattr.compat.tf_explain.utils.display import COLORMAP_VIRIDIS, grid_display, heatmap_display
from tfattr.compat.tf_explain.utils.saver import save_rgb
from tfattr.core import layers
from tfattr.core.adapter import ModelAdapter


class GuidedGradientsGradCAM(tfattr.GradCAM):
    """Grad-CAM whose channel weights average tf-explain's "guided" gradients.

    ``alpha_k = mean_ij [A_ij^k > 0] [g_ij^k > 0] g_ij^k`` (``g = dF/dA``): only positive
    gradients at positive activations count. This is tf-explain's ``use_guided_grads=True``
    (its default); it is not Guided Backprop, and not the Grad-CAM paper's weights (the plain
    mean of ``g``, :class:`tfattr.GradCAM`). Options as :class:`tfattr.GradCAM`.
    """

    @staticmethod
    def weights(activations, grads):
        guided = tf.cast(activations > 0, grads.dtype) * tf.cast(grads > 0, grads.dtype) * grads
        return tf.reduce_mean(guided, axis=(1, 2))


class GradCAM(ExplainerCache):
    """Grad-CAM heat maps blended over the images, in a grid (tf-explain's ``GradCAM``).

    The map is ``sum_k alpha_k A^k`` of layer ``layer_name`` for the model's raw output
    ``class_index`` (probabilities if the model ends in a softmax, as tf-explain), with
    ``alpha`` the spatial mean of the guided gradients (:class:`GuidedGradientsGradCAM`) or of
    the plain ones (``use_guided_grads=False``: :class:`tfattr.GradCAM`). As tf-explain there is
    no ReLU: each map is scaled by its own minimum and maximum, so negative evidence is the low
    end of the colormap.

    Paper: Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
    Gradient-based Localization", ICCV 2017.

    Example:
        >>> from tfattr.compat.tf_explain.core.grad_cam import GradCAM
        >>> grid = GradCAM().explain((images, None), model, class_index=3)
        >>> grid.shape, grid.dtype.name    # 2 overlays of 32 x 32 in a 2 x 2 grid
        ((64, 64, 3), 'uint8')
    """

    def explain(
        self,
        validation_data,
        model,
        class_index,
        layer_name=None,
        use_guided_grads=True,
        colormap=COLORMAP_VIRIDIS,
        image_weight=0.7,
    ):
        """Grad-CAM of ``class_index`` for every image, as a grid of overlays.

        Args:
            validation_data: ``(images, labels)``; images ``(N, H, W, C)`` or a list of
                ``(H, W, C)``; labels are ignored.
            model: a Keras model (Functional, Sequential, nested, tf-keras).
            class_index: the class to explain.
            layer_name: the layer (searched into nested models too); None: the last top-level
                layer with a 4-D output (:meth:`infer_grad_cam_target_layer`).
            use_guided_grads: weight channels by the mean of the guided gradients (default) or
                of the plain gradients.
            colormap: an OpenCV ``COLORMAP_*`` int (e.g. ``cv2.COLORMAP_JET``), a matplotlib
                colormap name or object.
            image_weight: weight of the image under the heat map, in [0, 1].

        Returns:
            uint8 RGB grid ``(rows * H, columns * W, 3)``, ``ceil(sqrt(N))`` images a side.

        Example:
            >>> from tfattr.compat.tf_explain.core.grad_cam import GradCAM
            >>> explainer = GradCAM()
            >>> grid = explainer.explain(([photo], None), model, class_index=281,
            ...                          layer_name="block3_conv3")
            >>> grid.shape                     # one image: the overlay itself
            (32, 32, 3)
            >>> explainer.save(grid, ".", "grad_cam.png")
        """
        images = images_of(validation_data)
        if layer_name is None:
            layer_name = self.infer_grad_cam_target_layer(model)
        kind = GuidedGradientsGradCAM if use_guided_grads else tfattr.GradCAM
        explainer = self.cached(
            model,
            ("grad_cam", kind, layer_name),
            # tf-explain resizes the map in its overlay, so tfattr keeps the layer's resolution.
            lambda: kind(model, output="raw", layer=layer_name, relu=False, upsample=False),
        )
        cams = explainer.explain(images, target=class_index).numpy()
        heatmaps = np.array(
            [
                heatmap_display(cam, image, colormap, image_weight)
                for cam, image in zip(cams, images, strict=True)
            ]
        )
        return grid_display(heatmaps)

    @staticmethod
    def infer_grad_cam_target_layer(model):
        """The name of the last top-level layer with a 4-D output, as tf-explain picks it.

        On Keras 3 layers have no ``output_shape``, which is why tf-explain's own version fails
        on every model; the output tensor's shape is read instead.

        Raises:
            ValueError: no top-level layer has a 4-D output (pass ``layer_name``).
        """
        for layer in reversed(getattr(model, "layers", [])):
            if _output_rank(layer) == 4:
                return layer.name
        raise ValueError(
            "Model does not seem to contain 4D layer. Grad CAM cannot be applied. Pass "
            "layer_name= to choose the layer (nested layers are found too)."
        )

    @staticmethod
    def get_gradients_and_filters(model, images, layer_name, class_index, use_guided_grads):
        """The layer's feature maps and the gradients of the class score with respect to them.

        Args:
            model: a Keras model (its raw output is differentiated, as tf-explain).
            images: ``(N, H, W, C)``.
            layer_name: the layer (searched into nested models too).
            class_index: the class.
            use_guided_grads: keep only positive gradients at positive activations.

        Returns:
            ``(outputs, grads)``: two float32 ``tf.Tensor`` of the layer's output shape
            ``(N, h, w, k)``.
        """
        adapter = ModelAdapter(model, output="raw")
        _, layer = layers.find_layer(model, layer_name)
        x = tf.convert_to_tensor(np.asarray(images, np.float32))
        targets = tf.fill((int(x.shape[0]),), tf.constant(int(class_index), tf.int32))
        outputs, grads, _ = layers.layer_gradients(adapter, x, targets, layer)
        if use_guided_grads:
            grads = tf.cast(outputs > 0, grads.dtype) * tf.cast(grads > 0, grads.dtype) * grads
        return outputs, grads

    @staticmethod
    def generate_ponderated_output(outputs, grads):
        """:meth:`ponderate_output` of each image: a list of ``(h, w)`` maps."""
        return [GradCAM.ponderate_output(o, g) for o, g in zip(outputs, grads, strict=True)]

    @staticmethod
    def ponderate_output(output, grad):
        """``sum_k mean_ij(grad[..., k]) * output[..., k]`` for one image: a ``(h, w)`` tensor.

        Args:
            output: the layer's feature maps ``(h, w, k)``.
            grad: their gradients ``(h, w, k)``.
        """
        output = tf.cast(output, tf.float32)
        weights = tf.reduce_mean(tf.cast(grad, tf.float32), axis=(0, 1))
        return tf.reduce_sum(output * weights, axis=-1)

    def save(self, grid, output_dir, output_name):
        """Writes the grid to ``output_dir/output_name`` (the extension picks the format).

        Args:
            grid: the uint8 grid :meth:`explain` returns.
            output_dir: the folder (created if missing).
            output_name: the file name, e.g. ``"grad_cam.png"``.

        Example:
            >>> from tfattr.compat.tf_explain.core.grad_cam import GradCAM
            >>> explainer = GradCAM()
            >>> explainer.save(explainer.explain((images, None), model, 3), "out", "grad_cam.png")
            >>> import os; os.path.exists("out/grad_cam.png")
            True
        """

        save_rgb(grid, output_dir, output_name)


def _output_rank(layer) -> int | None:
    try:
        return len(layer.output.shape)
    except (AttributeError, ValueError, TypeError):  # a layer never called symbolically
        return None
