"""``logits_model``: a copy of a Keras model without its final softmax."""

from __future__ import annotations

from tfattr.core.adapter import model_kind, output_layer, softmax_override
from tfattr.errors import ModelError, OpaqueModelError


def logits_model(model):
    """A copy of a Keras model that returns the pre-softmax logits.

    The final softmax -- a ``Softmax`` layer, an ``Activation("softmax")`` layer, or a softmax
    fused into the last layer (``Dense(..., activation="softmax")``), also inside a nested model --
    is replaced by the identity in a clone that shares no state with `model` (the weights are
    copied). A model without a final softmax comes back as an unchanged clone.

    Args:
        model: a Functional or Sequential Keras 3 or tf-keras model.

    Returns:
        A new model of the same kind whose output is the logits.

    Raises:
        OpaqueModelError: `model` is a SavedModel / TF-Hub object or a plain callable; their graphs
            cannot be edited (TF-Hub classification models already return logits).
        ModelError: a subclassed model, which Keras cannot clone.

    Example:
        >>> logits = tfattr.models.logits_model(model)  # model ends in a softmax
        >>> logits is model, logits.layers[-1].activation.__name__
        (False, 'linear')
        >>> scores = logits(x).numpy()                  # rows no longer sum to 1
        >>> bool(np.allclose(scores.sum(-1), 1.0))
        False
        >>> model.layers[-1].activation.__name__        # the model itself is unchanged
        'softmax'
    """

    kind = model_kind(model)
    if kind not in ("keras", "tf_keras"):
        raise OpaqueModelError(
            f"model: logits_model needs a Keras model, got an opaque {kind} "
            f"({type(model).__name__}). If it returns probabilities, explain them with "
            f"output='raw'; TF-Hub classification models already return logits."
        )
    final = output_layer(model)
    if kind == "keras":
        import keras as keras_module
    else:
        import tf_keras as keras_module
    softmax_layers = [final] if final is not None and softmax_override(final) is not None else []
    pass_throughs = []  # clones that stand in for a Softmax / Activation("softmax") layer

    def clone_layer(layer):
        config = layer.get_config()
        if layer in softmax_layers:
            if "activation" in config and type(layer).__name__ != "Activation":
                config["activation"] = "linear"
            else:
                pass_throughs.append(keras_module.layers.Activation("linear", name=layer.name))
                return pass_throughs[-1]
        return layer.__class__.from_config(config)

    def call_layer(layer, *args, **kwargs):
        # A Functional node replays its call arguments (e.g. the Softmax's mask=), which the
        # stand-in does not take: skip it and pass its input through instead.
        if any(layer is p for p in pass_throughs):
            return args[0]
        return layer(*args, **kwargs)

    options = {}
    if kind == "keras":
        options["recursive"] = True
        if type(model).__name__ != "Sequential":
            options["call_function"] = call_layer
    try:
        clone = keras_module.models.clone_model(model, clone_function=clone_layer, **options)
    except ValueError as error:
        raise ModelError(
            f"model: logits_model cannot clone {type(model).__name__} ({error}). Subclassed models "
            f"cannot be cloned; build the model with a linear last layer (e.g. "
            f"classifier_activation=None), or let explainers skip the softmax (output='logits')."
        ) from None
    clone.set_weights(model.get_weights())
    return clone
