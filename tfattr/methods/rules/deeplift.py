"""DeepLift with the rescale rule, and DeepLiftShap (Shrikumar et al. 2017; Lundberg & Lee 2017)."""

from __future__ import annotations

import collections
import warnings

import tensorflow as tf

from tfattr.core import baselines as base
from tfattr.core import layers
from tfattr.core.engine import Plan, fused, gradients
from tfattr.core.explainer import ReferenceExplainer
from tfattr.core.inputs import check_seed
from tfattr.errors import ModelError

EPS = 1e-10  # |x - x_ref| below which the multiplier falls back to the gradient (as Captum)

MAX_POOLS = (
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
)
# Layers that are linear (or affine) in their input at inference: ordinary backpropagation
# through them is exactly DeepLift's multiplier rule.
LINEAR = {
    "InputLayer",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "SeparableConv1D",
    "SeparableConv2D",
    "Dense",
    "EinsumDense",
    "Flatten",
    "Reshape",
    "Permute",
    "RepeatVector",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "BatchNormalization",
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianNoise",
    "GaussianDropout",
    "AlphaDropout",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "Add",
    "Subtract",
    "Concatenate",
    "Average",
    "Rescaling",
    "Normalization",
    "Identity",
    "ActivityRegularization",
    *layers.ACTIVATION_LAYERS,  # handled by the rescale rule
}


class ReferencePass:
    """DeepLift's two forward passes: the baseline rows first, then the input rows.

    While ``recording``, every rule layer (elementwise activations, max pools) runs as usual and
    keeps what it saw; in the input pass each rule takes the reference tensors recorded at the
    same call (the model calls its layers in the same order for both) and back-propagates
    DeepLift's multiplier. Only the input rows are differentiated: the baseline rows need a
    forward pass and no backward pass.
    """

    def __init__(self):
        self.recording = True
        self.seen = collections.deque()

    def record(self) -> None:
        self.recording = True
        self.seen.clear()

    def replay(self) -> None:
        self.recording = False

    def finish(self) -> None:
        left = len(self.seen)
        self.seen.clear()
        if left:
            raise ModelError(
                f"DeepLift: the model applied {left} fewer nonlinearities to the inputs than to "
                "the baselines; its forward pass must not depend on the values it sees."
            )

    def take(self, x):
        if not self.seen:
            raise ModelError(
                "DeepLift: the model applied more nonlinearities to the inputs than to the "
                "baselines; its forward pass must not depend on the values it sees."
            )
        reference = self.seen.popleft()
        if not reference[0].shape[1:].is_compatible_with(x.shape[1:]):
            raise ModelError(
                f"DeepLift: a nonlinearity saw shape {x.shape[1:]} for the inputs and "
                f"{reference[0].shape[1:]} for the baselines; the model must treat both alike."
            )
        return reference

    def apply(self, fn, x, rule):
        """``fn(x)``: recorded in the baseline pass; in the input pass with the gradient
        ``rule(x_ref, y_ref)(x, y, upstream)`` of the tensors recorded at the same call."""
        if self.recording:
            y = fn(x)
            self.seen.append((x, y))
            return y
        return layers.with_gradient(fn, rule(*self.take(x)))(x)

    def rescale_rule(self, fn, name):
        """Multiplier ``(y - y_ref) / (x - x_ref)`` of an elementwise nonlinearity."""
        if name == "softmax":
            raise ModelError(
                "DeepLift: a softmax inside the network is not elementwise and has no rescale "
                'rule; a final softmax is removed with output="logits" (the default).'
            )

        def rule(x_ref, y_ref):  # (called while the step is traced, not at every plan)
            @fused
            def backward(x, y, upstream):
                """``upstream * m``, ``m = (y - y_ref) / (x - x_ref)``, or the ordinary gradient
                where ``|x - x_ref| <= EPS``: one fused pass (derivative included)."""
                plain = layers.local_derivative(fn, x, upstream)
                return tf.where(_far(x, x_ref), upstream * _ratio(y - y_ref, x, x_ref), plain)

            return backward

        return lambda x: self.apply(fn, x, rule)

    def maxpool_rule(self, call):
        """Captum's max-pool rule: each window's output difference goes to the input's argmax
        when ``out >= out_ref``, else to the reference's argmax, then is divided by
        ``x - x_ref``."""

        def run(inputs, *args, **kwargs):
            def pool(t):
                return call(t, *args, **kwargs)

            def rule(x_ref, y_ref):
                def backward(x, y, upstream):
                    to_input, to_reference = _pool_differences(y, y_ref, upstream)
                    x_ref_rows = tf.broadcast_to(x_ref, tf.shape(x))  # one shared baseline row
                    with tf.GradientTape(persistent=True) as tape:
                        tape.watch([x, x_ref_rows])
                        pooled, pooled_ref = pool(x), pool(x_ref_rows)
                    routed_in = tape.gradient(pooled, x, output_gradients=to_input)
                    routed_ref = tape.gradient(
                        pooled_ref, x_ref_rows, output_gradients=to_reference
                    )
                    plain = tape.gradient(pooled, x, output_gradients=upstream)
                    return _pool_multipliers(x, x_ref, routed_in, routed_ref, plain)

                return backward

            return self.apply(pool, inputs, rule)

        return run


def _far(x, x_ref):
    """Where the multiplier is a difference quotient (``|x - x_ref| > EPS``)."""
    return tf.abs(x - x_ref) > EPS


def _ratio(numerator, x, x_ref):
    """``numerator / (x - x_ref)`` where far (1 elsewhere, to be replaced), as a product with
    the reciprocal: the same numbers to 1 ulp, cheaper than XLA's division (see
    ``docs/performance.md``)."""
    return numerator * tf.math.reciprocal(tf.where(_far(x, x_ref), x - x_ref, 1.0))


@fused
def _pool_differences(y, y_ref, upstream):
    """Each window's ``upstream * (out - out_ref)``, for the input's argmax when
    ``out >= out_ref`` and for the reference's otherwise."""
    difference = upstream * (y - y_ref)
    to_input = y >= y_ref
    return tf.where(to_input, difference, 0.0), tf.where(to_input, 0.0, difference)


@fused
def _pool_multipliers(x, x_ref, routed_in, routed_ref, plain):
    """The routed differences divided by ``x - x_ref`` (the plain gradient where it is ~0)."""
    return tf.where(_far(x, x_ref), _ratio(routed_in + routed_ref, x, x_ref), plain)


def deeplift_overrides(adapter, reference: ReferencePass) -> dict:
    """Rescale rules on every activation and the max-pool rule on every max-pooling layer."""
    overrides = layers.activation_overrides(
        adapter.model, reference.rescale_rule, skip=adapter.overrides
    )
    unknown = set()
    for path, layer in layers.walk(adapter.model):
        kind = type(layer).__name__
        if kind in MAX_POOLS:
            overrides[layer] = reference.maxpool_rule
        elif kind not in LINEAR and not layers.is_container(layer):
            unknown.add(f"{path} ({kind})")
    if unknown:
        warnings.warn(
            f"DeepLift has no rule for {sorted(unknown)} and uses their plain gradient: "
            f"attributions may not sum to F(x) - F(baseline); check return_convergence_delta.",
            stacklevel=4,
        )
    return overrides


class DeepLift(ReferenceExplainer):
    """DeepLift (rescale rule): attributions that sum to ``F(x) - F(baseline)``.

    The baselines go through the model first (forward only, each rule layer keeps what it saw),
    then the inputs (forward and backward, the same numbers as Captum's joint batch at the cost
    of one backward pass over the inputs alone); every elementwise nonlinearity
    (activation layers and ``activation=`` fused in Conv/Dense: relu, sigmoid, tanh, softplus,
    elu, leaky relu, swish/silu, gelu, ...) back-propagates the multiplier
    ``(y - y_ref) / (x - x_ref)`` instead of its derivative (the derivative where
    ``|x - x_ref| < 1e-10``), max-pooling layers use Captum's rule (each window's difference goes
    to the input's argmax when ``out >= out_ref``, else to the reference's), and linear layers
    (conv, dense, average pooling, batch norm at inference, ...) back-propagate as usual.
    ``attr = (x - b) * multiplier``. With a stack of K baselines the K results are averaged (this
    is :class:`DeepLiftShap`).

    Args:
        baseline: as for :class:`IntegratedGradients` (default None: zeros).
        return_convergence_delta: also return ``sum(attr) - (F(x) - F(b))`` per image (~0).
        seed, value_range, blur_sigma: for ``"uniform"``/``"white"``/``"blur"`` baselines.

    Example:
        >>> attr, delta = tfattr.DeepLift(model).explain(images, target=3,
        ...                                              return_convergence_delta=True)

    Reference: Shrikumar, Greenside, Kundaje, "Learning Important Features Through Propagating
    Activation Differences", ICML 2017.
    """

    at_inputs = True
    defaults = {
        "baseline": None,
        "return_convergence_delta": False,
        "seed": None,
        "value_range": None,
        "blur_sigma": None,
    }

    def check_options(self, options):
        layers.require_layers(self.adapter, type(self).__name__)
        check_seed(options["seed"])

    def plan(self, x, options):
        baselines = self.baselines(x, options)
        layout = baselines.layout
        reference = ReferencePass()
        overrides = deeplift_overrides(self.adapter, reference)

        def build(images, rows, tensors):
            b = base.pick(tensors, layout, rows.image, rows.point)
            weight = 1.0 / tf.cast(tensors["baseline_count"], tf.float32)
            return images, (b, weight)

        def value(points, targets, coef, adapter):
            b, weight = coef
            reference.record()
            # One shared baseline: its pass is one row, broadcast against the inputs by the rules.
            adapter(
                b if layout == "single" else tf.broadcast_to(b, tf.shape(points)),
                overrides=overrides,
            )
            reference.replay()
            multipliers, _ = gradients(adapter, points, targets, overrides)
            reference.finish()
            return weight * (points - b) * multipliers

        return Plan(
            points=baselines.count,
            build=build,
            key=("deeplift", layout),
            tensors=baselines.tensors,
            value=value,
        )


class DeepLiftShap(DeepLift):
    """DeepLift averaged over a stack of baselines ``(K, H, W, C)`` (e.g. background images).

    The ``N x K`` (input, baseline) pairs stream through the engine in batches. The mean of
    the attributions sums to ``F(x) - mean_k F(b_k)``.

    Args:
        baselines: the stack of baselines (required in practice; default: one black image).
        return_convergence_delta, seed, value_range, blur_sigma: as :class:`DeepLift`.

    Example:
        >>> attr = tfattr.DeepLiftShap(model, baselines=background).explain(images, target=3)

    Reference: Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions", 2017.
    """

    defaults = {
        "baselines": None,
        "return_convergence_delta": False,
        "seed": None,
        "value_range": None,
        "blur_sigma": None,
    }
    baseline_option = "baselines"
