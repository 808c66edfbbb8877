"""Eigen-CAM and EigenGrad-CAM: the first principal component (SVD), with a fixed sign."""

import cam_models
import numpy as np
import pytest

import tfattr


def first_component_map(values, center=True):
    """numpy reference: projection on the first right singular vector, sign: sum(v) > 0."""
    maps = []
    for v in values:
        m = v.reshape(-1, v.shape[-1]).astype(np.float64)
        if center:
            m = m - m.mean(axis=0)
        _, _, vt = np.linalg.svd(m, full_matrices=False)
        component = vt[0] * (1.0 if vt[0].sum() >= 0 else -1.0)
        maps.append((m @ component).reshape(v.shape[:2]))
    return np.stack(maps)


@pytest.mark.parametrize("center", [True, False])
def test_eigen_cam_is_the_first_principal_component(center):
    model, conv, _ = cam_models.split_model("flatten", activation=None)
    x = cam_models.images(4)
    cam = tfattr.EigenCAM(model, relu=False, upsample=False, center=center).explain(x, target=0)
    expected = first_component_map(conv(x).numpy(), center)
    np.testing.assert_allclose(cam, expected, rtol=1e-4, atol=1e-4)
    # The sign convention: the map correlates positively with the channel sum.
    a = conv(x).numpy()
    a = a - a.mean(axis=(1, 2), keepdims=True) if center else a
    assert np.all((cam.numpy() * a.sum(-1)).sum(axis=(1, 2)) > 0)


def test_eigen_cam_is_class_agnostic_and_gradient_free():
    model, _, _ = cam_models.split_model("gap")
    x = cam_models.images()
    explainer = tfattr.EigenCAM(model)
    maps = [explainer.explain(x, target=t).numpy() for t in range(cam_models.CLASSES)]
    for other in maps[1:]:
        np.testing.assert_array_equal(other, maps[0])


def test_eigen_cam_of_a_rank_one_map_is_that_map():
    """Activations a(i, j) * c_k with c >= 0: without centering the map is |c| * a."""
    model, conv, _ = cam_models.split_model("gap", activation="relu", channels=1)
    x = cam_models.images()
    a = conv(x).numpy()[..., 0]
    cam = tfattr.EigenCAM(model, relu=False, upsample=False, center=False).explain(x)
    np.testing.assert_allclose(cam, a, rtol=1e-5, atol=1e-5)


def test_eigengrad_cam_is_the_component_of_activation_times_gradient():
    model, conv, head = cam_models.split_model("flatten", activation="relu")
    x = cam_models.images()
    targets = [0, 3, 1]
    a, g, _ = cam_models.activations_and_gradients(conv, head, x, targets)
    cam = tfattr.EigenGradCAM(model, relu=False, upsample=False).explain(x, target=targets)
    np.testing.assert_allclose(cam, first_component_map(a * g), rtol=1e-4, atol=1e-4)
    other = tfattr.EigenGradCAM(model, relu=False, upsample=False).explain(x, target=2)
    assert np.abs(other.numpy() - cam.numpy()).max() > 1e-3  # class-discriminative


def test_center_must_be_a_bool():
    model, _, _ = cam_models.split_model("gap")
    with pytest.raises(TypeError, match="center: expected True or False"):
        tfattr.EigenCAM(model, center="yes")


@pytest.mark.parametrize("method", ["EigenCAM", "EigenGradCAM"])
def test_mixed_precision_models_give_float32_maps(method):
    reference, mixed = cam_models.mixed_precision_twins()
    x = cam_models.images()
    expected = getattr(tfattr, method)(reference).explain(x, target=1).numpy()
    got = getattr(tfattr, method)(mixed).explain(x, target=1)
    assert got.dtype == "float32"
    np.testing.assert_allclose(got, expected, atol=2e-3 * np.abs(expected).max())
