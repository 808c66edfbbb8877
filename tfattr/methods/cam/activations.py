"""Activations: the feature maps of chosen layers (tf-explain's ExtractActivations)."""

from __future__ import annotations

import tensorflow as tf

from tfattr.core import layers
from tfattr.core.explainer import Explainer


class Activations(Explainer):
    """The outputs of chosen layers for a batch of images, for plotting as feature-map grids.

    Args:
        layers: a layer (name, path or object) or a list of them; None means the default CAM
            layer (the last layer with a 4-D output).

    Returns from ``explain``: a dict ``{layer path: (N, ...) float32 tensor}`` (``target`` is
    ignored). Each 4-D map ``(N, h, w, k)`` holds k channels to show side by side (e.g. with
    ``tfattr.compat.tf_explain.ExtractActivations``' grid, or ``matplotlib`` subplots).

    Example:
        >>> maps = tfattr.Activations(model, layers=["block1_conv1", "block5_conv3"]).explain(x)
    """

    defaults = {"layers": None}

    def check_options(self, options):
        layers.require_layers(self.adapter, type(self).__name__)
        for layer in self._names(options):
            layers.find_layer(self.model, layer)

    @staticmethod
    def _names(options):
        chosen = options["layers"]
        if chosen is None:
            return []
        return list(chosen) if isinstance(chosen, list | tuple) else [chosen]

    def attribute(self, x, targets, options):
        chosen = [layers.find_layer(self.model, name) for name in self._names(options)]
        if not chosen:
            default = layers.cam_layer(self.adapter, None, None, tuple(x.shape[1:]))
            chosen = [(default.path, default.layer)]
        stores = {path: [] for path, _ in chosen}
        overrides = {layer: layers.capture(stores[path]) for path, layer in chosen}

        # Captures are Python side effects: run eagerly per chunk of images (a forward pass each).
        size = self.engine.batch_size
        for start in range(0, int(x.shape[0]), size):
            self.adapter(x[start : start + size], overrides=overrides)
        return {path: tf.concat(store, axis=0) for path, store in stores.items()}
