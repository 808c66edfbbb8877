"""Non-finite model outputs or gradients are refused, naming the images, unless asked for."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr.errors import NonFiniteError


def model_with(fn):
    """conv (all ones) -> spatial mean -> ``fn`` -> dense: with ``sqrt`` an image whose mean is
    negative gets NaN scores and gradients; with ``log`` NaN scores but finite gradients."""
    inputs = keras.Input(toy_models.SHAPE)
    features = keras.layers.Conv2D(2, 3, padding="same", kernel_initializer="ones", name="conv")(
        inputs
    )
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    # (+ 0.05: finite at the black image, where Integrated Gradients' path starts)
    logged = keras.layers.Lambda(lambda u: fn(u + 0.05))(pooled)
    outputs = keras.layers.Dense(3, kernel_initializer="ones")(logged)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def model():
    return model_with(keras.ops.sqrt)


@pytest.fixture
def x():
    rng = np.random.default_rng(0)
    images = rng.uniform(0.1, 1.0, size=(3, *toy_models.SHAPE)).astype("f4")
    images[1] = -images[1]  # log of a negative mean: NaN
    return images


EXPLAINERS = {
    "saliency": lambda m, **k: tfattr.Saliency(m, **k),
    "integrated_gradients": lambda m, **k: tfattr.IntegratedGradients(m, steps=4, **k),
    "gradcam": lambda m, **k: tfattr.GradCAM(m, layer="conv", **k),
    "occlusion": lambda m, **k: tfattr.Occlusion(m, window=4, stride=4, **k),
    "smoothgrad": lambda m, **k: tfattr.SmoothGrad(m, samples=3, seed=0, **k),
}


@pytest.mark.parametrize("name", sorted(EXPLAINERS))
def test_nan_outputs_raise_naming_the_images(model, x, name):
    explainer = EXPLAINERS[name](model)
    with pytest.raises(NonFiniteError) as error:
        explainer.explain(x, target=0)
    message = str(error.value)
    assert "for 1 of 3 images (indices 1)" in message
    assert "allow_nonfinite=True" in message and "Likely causes" in message
    assert isinstance(error.value, ValueError)  # a model problem, catchable as bad input


@pytest.mark.parametrize("name", sorted(EXPLAINERS))
def test_allow_nonfinite_returns_nan_maps_for_those_images_only(model, x, name):
    explainer = EXPLAINERS[name](model, allow_nonfinite=True)
    attr = explainer.explain(x, target=0).numpy()
    assert not np.isfinite(attr[1]).all()
    assert np.isfinite(attr[[0, 2]]).all()
    alone = explainer.explain(x[[0, 2]], target=0).numpy()
    np.testing.assert_allclose(attr[[0, 2]], alone, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name", ["saliency", "integrated_gradients", "smoothgrad", "occlusion", "gradcam"]
)
def test_nan_scores_with_finite_gradients_are_refused_too(x, name):
    model = model_with(keras.ops.log)  # d log(u)/du = 1/u: finite where log(u) is NaN
    with pytest.raises(NonFiniteError, match=r"for 1 of 3 images \(indices 1\)"):
        EXPLAINERS[name](model).explain(x, target=0)
    attr = EXPLAINERS[name](model, allow_nonfinite=True).explain(x, target=0).numpy()
    assert np.isnan(attr[1]).all() and np.isfinite(attr[[0, 2]]).all()


def test_infinite_scores_are_refused_in_forward_passes(model, x):
    explainer = tfattr.IntegratedGradients(model, steps=4)
    with pytest.raises(NonFiniteError, match=r"scores: NaN or infinite for 1 of 3 images"):
        explainer.top_classes(tf.constant(x))  # target=None: the top class needs the scores


def test_finite_results_pass_and_cost_one_check(model, x):
    good = np.abs(x)
    attr = tfattr.Saliency(model).explain(good, target=0)
    assert np.isfinite(attr.numpy()).all()
