"""tf-explain's ``ExtractActivations``, computed by :class:`tfattr.Activations`."""

from __future__ import annotations

import numpy as np

import tfattr
from tfattr.compat.tf_explain.core._base import ExplainerCache, images_of, sub_model
from tfattr.compat.tf_explain.utils.display import filter_display
from tfattr.compat.tf_explain.utils.saver import save_grayscale
from tfattr.core.layers import walk


class ExtractActivations(ExplainerCache):
    """Every channel of chosen layers' feature maps in one grayscale grid (tf-explain's).

    The grid holds image 1's channels, then image 2's, ... (``ceil(sqrt(N * C))`` a side),
    scaled to [0, 255] by the minimum and maximum of the whole grid.

    Args:
        batch_size: images per forward pass (None: tfattr's default, 32).

    Example:
        >>> from tfattr.compat.tf_explain.core.activations import ExtractActivations
        >>> grid = ExtractActivations().explain((images, None), model, ["block1_conv1"])
        >>> grid.shape, grid.dtype.name   # 2 images x 4 channels of 30 x 30: 3 x 3 cells
        ((90, 90), 'uint8')
    """

    def __init__(self, batch_size=None):
        self.batch_size = batch_size

    def explain(self, validation_data, model, layers_name):
        """Feature maps of ``layers_name`` for every image, as a grayscale grid.

        Args:
            validation_data: ``(images, labels)``; labels are ignored.
            model: a Keras model.
            layers_name: a layer name or a list of names (searched into nested models too).
                Several layers need feature maps of one height and width; their channels
                follow one another, in the model's layer order.

        Returns:
            uint8 grid ``(rows * H, columns * W)``.

        Example:
            >>> from tfattr.compat.tf_explain.core.activations import ExtractActivations
            >>> grid = ExtractActivations().explain((images, None), model, ["block1_conv1"])
            >>> int(grid.min()), int(grid.max())         # scaled by the grid's own range
            (0, 255)
        """
        images = images_of(validation_data)
        names = [layers_name] if isinstance(layers_name, str) else list(layers_name)
        # tf-explain keeps the model's layer order, whatever the order of the names.
        paths = [path for path, layer in walk(model) if layer.name in names or path in names]
        explainer = self.cached(
            model,
            ("activations", self.batch_size),
            lambda: tfattr.Activations(model, batch_size=self.batch_size or 32),
        )
        maps = explainer.explain(images, layers=paths or names)
        arrays = [np.asarray(m) for m in maps.values()]
        shapes = {a.shape[1:3] for a in arrays}
        if any(a.ndim != 4 for a in arrays) or len(shapes) != 1:
            raise ValueError(
                f"layers_name: expected layers with feature maps (N, H, W, C) of one size, got "
                f"{ {path: a.shape for path, a in zip(maps, arrays, strict=True)} }; explain the "
                f"layers one at a time."
            )
        grid = filter_display(np.concatenate(arrays, axis=-1))
        low, span = grid.min(), grid.max() - grid.min()
        grid = (grid - low) / span if span > 0 else np.zeros_like(grid)
        return (np.clip(grid, 0, 1) * 255).astype("uint8")

    @staticmethod
    def generate_activations_graph(model, layers_name):
        """A Keras model from ``model``'s inputs to the outputs of the top-level layers named
        in ``layers_name`` (in the model's layer order), as tf-explain builds it.

        Returns:
            A Keras model (compiled, as tf-explain's, so ``predict`` works at once).
        """
        names = [layers_name] if isinstance(layers_name, str) else list(layers_name)
        chosen = [layer for layer in getattr(model, "layers", []) if layer.name in names]
        if not chosen:
            raise ValueError(
                f"layers_name: none of {names} is a top-level layer of the model; its layers "
                f"are {[layer.name for layer in getattr(model, 'layers', [])]}."
            )
        outputs = [layer.output for layer in chosen]
        graph = sub_model(
            model, outputs if len(outputs) > 1 else outputs[0], "generate_activations_graph"
        )
        graph.compile(optimizer="sgd", loss="categorical_crossentropy")
        return graph

    def save(self, grid, output_dir, output_name):
        """Writes the grid to ``output_dir/output_name`` (the extension picks the format).

        Args:
            grid: the uint8 grid :meth:`explain` returns.
            output_dir: the folder (created if missing).
            output_name: the file name, e.g. ``"activations.png"``.

        Example:
            >>> from tfattr.compat.tf_explain.core.activations import ExtractActivations
            >>> explainer = ExtractActivations()
            >>> grid = explainer.explain((images, None), model, ["block1_conv1"])
            >>> explainer.save(grid, "out", "activations.png")
            >>> import os; os.path.exists("out/activations.png")
            True
        """

        save_grayscale(grid, output_dir, output_name)
