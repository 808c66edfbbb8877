"""Element-wise Grad-CAM: sum over channels of ReLU(gradient x activation)."""

import cam_models
import numpy as np

import tfattr


def test_sum_of_positive_products():
    model, conv, head = cam_models.split_model("flatten", activation=None)  # A takes both signs
    x = cam_models.images()
    targets = [2, 0, 1]
    a, g, _ = cam_models.activations_and_gradients(conv, head, x, targets)
    cam = tfattr.GradCAMElementWise(model, relu=False, upsample=False).explain(x, target=targets)
    np.testing.assert_allclose(cam, np.maximum(a * g, 0).sum(-1), rtol=1e-5, atol=1e-6)
    # With negative activations it differs from LayerCAM (ReLU of the gradient only)...
    layer_cam = tfattr.LayerCAM(model, relu=False, upsample=False).explain(x, target=targets)
    assert np.abs(layer_cam.numpy() - cam.numpy()).max() > 1e-2


def test_equals_layercam_after_a_relu():
    model, _, _ = cam_models.split_model("flatten", activation="relu")  # ...not when A >= 0
    x = cam_models.images()
    np.testing.assert_allclose(
        tfattr.GradCAMElementWise(model).explain(x, target=[0, 1, 2]),
        tfattr.LayerCAM(model).explain(x, target=[0, 1, 2]),
        atol=1e-5,
    )
