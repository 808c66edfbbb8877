"""The package's own exception types, for problems with the model (bad arguments raise ValueError/TypeError)."""


class TfattrError(Exception):
    """Base class of tfattr's model-related errors."""


class ModelError(TfattrError, ValueError):
    """The model cannot be used as given (unknown kind, ambiguous outputs, wrong output rank)."""


class LayerNotFoundError(ModelError, KeyError):
    """A layer named by the user does not exist in the model, or the name is ambiguous."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class OpaqueModelError(ModelError):
    """A method that needs the model's layers was given a model that exposes none."""


class NonFiniteError(ModelError):
    """The model's outputs or gradients are NaN or infinite for some images (finite inputs)."""
