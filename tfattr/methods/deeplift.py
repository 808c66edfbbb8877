"""DeepLift with the rescale rule, and DeepLiftShap (Shrikumar et al. 2017; Lundberg & Lee 2017)."""

from __future__ import annotations

import warnings

import tensorflow as tf

from tfattr.core import baselines as base
from tfattr.core import layers
from tfattr.core.engine import Plan, fused
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


def _halves(t):
    n = tf.shape(t)[0] // 2
    return t[:n], t[n:]


def rescale_rule(fn, name):
    """Multiplier ``(y - y_ref) / (x - x_ref)`` of an elementwise nonlinearity (rescale rule)."""
    if name == "softmax":
        raise ModelError(
            "DeepLift: a softmax inside the network is not elementwise and has no rescale rule; "
            'a final softmax is removed with output="logits" (the default).'
        )

    def backward(x, y, upstream):
        return _rescale(x, y, upstream, layers.local_derivative(fn, _halves(x)[0]))

    return layers.with_gradient(fn, backward)


@fused
def _rescale(x, y, upstream, derivative):
    """``upstream * m`` for both halves, ``m = (y - y_ref) / (x - x_ref)``, or the derivative
    where ``|x - x_ref| <= EPS``: one fused pass instead of a dozen."""
    (x_in, x_ref), (y_in, y_ref) = _halves(x), _halves(y)
    delta = x_in - x_ref
    far = tf.abs(delta) > EPS
    multiplier = tf.where(far, (y_in - y_ref) / tf.where(far, delta, 1.0), derivative)
    return upstream * tf.concat([multiplier, multiplier], axis=0)


def maxpool_override(call):
    """Captum's max-pool rule: each window's output difference goes to the input's argmax when
    ``out >= out_ref``, else to the reference's argmax, then is divided by ``x - x_ref``."""

    def run(inputs, *args, **kwargs):
        def pool(t):
            return call(t, *args, **kwargs)

        def backward(x, y, upstream):
            x_in, x_ref = _halves(x)
            up = _halves(upstream)[0]
            to_input, to_reference = _pool_differences(y, up)
            with tf.GradientTape(persistent=True) as tape:
                tape.watch([x_in, x_ref])
                pooled_in, pooled_ref = pool(x_in), pool(x_ref)
            routed_in = tape.gradient(pooled_in, x_in, output_gradients=to_input)
            routed_ref = tape.gradient(pooled_ref, x_ref, output_gradients=to_reference)
            plain = tape.gradient(pooled_in, x_in, output_gradients=up)
            return _pool_multipliers(x, routed_in, routed_ref, plain)

        return layers.with_gradient(pool, backward)(inputs)

    return run


@fused
def _pool_differences(y, up):
    """Each window's ``up * (out - out_ref)``, for the input's argmax when ``out >= out_ref``
    and for the reference's otherwise."""
    y_in, y_ref = _halves(y)
    difference = up * (y_in - y_ref)
    to_input = y_in >= y_ref
    return tf.where(to_input, difference, 0.0), tf.where(to_input, 0.0, difference)


@fused
def _pool_multipliers(x, routed_in, routed_ref, plain):
    """The routed differences divided by ``x - x_ref`` (the plain gradient where it is ~0),
    for the input half; zeros for the reference half."""
    x_in, x_ref = _halves(x)
    delta = x_in - x_ref
    far = tf.abs(delta) > EPS
    grad_in = tf.where(far, (routed_in + routed_ref) / tf.where(far, delta, 1.0), plain)
    return tf.concat([grad_in, tf.zeros_like(grad_in)], axis=0)


def deeplift_overrides(adapter) -> dict:
    """Rescale rules on every activation and the max-pool rule on every max-pooling layer."""
    overrides = layers.activation_overrides(adapter.model, rescale_rule, skip=adapter.overrides)
    unknown = set()
    for path, layer in layers.walk(adapter.model):
        kind = type(layer).__name__
        if kind in MAX_POOLS:
            overrides[layer] = maxpool_override
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

    Input and baseline run through the model in one batch; every elementwise nonlinearity
    (activation layers and ``activation=`` fused in Conv/Dense: relu, sigmoid, tanh, softplus,
    elu, leaky relu, swish/silu, gelu, ...) back-propagates the multiplier
    ``(y - y_ref) / (x - x_ref)`` instead of its derivative (the derivative where
    ``|x - x_ref| < 1e-10``), max-pooling layers use Captum's rule (each window's difference goes
    to the input's argmax when ``out >= out_ref``, else to the reference's), and linear layers
    (conv, dense, average pooling, batch norm at inference, ...) back-propagate as usual.
    ``attr = (x - b) * multiplier``. With a stack of K baselines the K results are averaged (this
    is :class:`DeepLiftShap`).

    Args:
        baseline: as for :class:`IntegratedGradients` (default black).
        return_convergence_delta: also return ``sum(attr) - (F(x) - F(b))`` per image (~0).
        seed, value_range, blur_sigma: for ``"uniform"``/``"white"``/``"blur"`` baselines.

    Example:
        >>> attr, delta = tfattr.DeepLift(model).explain(images, target=3,
        ...                                              return_convergence_delta=True)

    Reference: Shrikumar, Greenside, Kundaje, "Learning Important Features Through Propagating
    Activation Differences", ICML 2017.
    """

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
        overrides = deeplift_overrides(self.adapter)

        def make_rows(x_rows, rows, tensors):
            b = base.pick(tensors, layout, rows.image, rows.point)
            weight = 1.0 / tf.cast(tensors["baseline_count"], tf.float32)
            return x_rows, (b, weight)

        def attribute(points, targets, coef, adapter):
            b, weight = coef
            both = tf.concat([points, tf.broadcast_to(b, tf.shape(points))], axis=0)
            count = tf.shape(points)[0]
            with tf.GradientTape() as tape:
                tape.watch(both)
                scores = adapter(both, overrides=overrides)[:count]
                if targets is None:
                    targets = tf.argmax(scores, axis=-1, output_type=tf.int32)
                picked = tf.gather(scores, targets, axis=1, batch_dims=1)
            multipliers = tape.gradient(picked, both)[:count]
            return weight * (points - b) * multipliers

        return Plan(
            points=baselines.count,
            make_rows=make_rows,
            key=("deeplift", layout),
            tensors=baselines.tensors,
            attribute=attribute,
            argmax_targets=True,
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
