"""The package's own exception types, for problems with the model (bad arguments raise ValueError/TypeError)."""


class TfattrError(Exception):
    """Base class of tfattr's model-related errors.

    Example:
        >>> try:
        ...     tfattr.GradCAM(model, layer="no_such_layer").explain(images)
        ... except tfattr.TfattrError as error:
        ...     print(type(error).__name__)
        LayerNotFoundError
    """


class ModelError(TfattrError, ValueError):
    """The model cannot be used as given (unknown kind, ambiguous outputs, wrong output rank).

    Example:
        >>> issubclass(tfattr.ModelError, ValueError)   # caught by ``except ValueError`` too
        True
    """


class LayerNotFoundError(ModelError, KeyError):
    """A layer named by the user does not exist in the model, or the name is ambiguous.

    Example:
        >>> try:
        ...     tfattr.GradCAM(model, layer="block9_conv9").explain(images)
        ... except tfattr.LayerNotFoundError as error:
        ...     print("block9_conv9" in str(error))
        True
    """

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class OpaqueModelError(ModelError):
    """A method that needs the model's layers was given a model that exposes none.

    Example:
        >>> opaque = lambda x: model(x)                  # a plain callable: no layers to tap
        >>> try:
        ...     tfattr.GradCAM(opaque).explain(images)
        ... except tfattr.OpaqueModelError:
        ...     print("use a gradient or perturbation method")
        use a gradient or perturbation method
    """


class NonFiniteError(ModelError):
    """The model's outputs or gradients are NaN or infinite for some images (finite inputs)."""
