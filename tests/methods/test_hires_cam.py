"""HiResCAM: CAM on a GAP network exactly; a decomposition of the score on a flatten network."""

import cam_models
import numpy as np

import tfattr


def test_equals_cam_on_a_gap_network():
    model, conv, _ = cam_models.split_model("gap")
    x = cam_models.images()
    targets = [0, 2, 3]
    a = conv(x).numpy()
    kernel = model.get_layer("head").get_weights()[0]  # (K, classes)
    cam = np.einsum("bhwk,kb->bhw", a, kernel[:, targets])  # Zhou et al.: sum_k w_kc A^k
    hires = tfattr.HiResCAM(model, relu=False, upsample=False).explain(x, target=targets)
    positions = a.shape[1] * a.shape[2]  # GAP divides by h * w
    np.testing.assert_allclose(hires.numpy() * positions, cam, rtol=1e-5, atol=1e-5)


def test_sums_to_the_score_minus_bias_on_a_flatten_network():
    model, conv, head = cam_models.split_model("flatten")
    x = cam_models.images()
    targets = [1, 0, 3]
    hires = tfattr.HiResCAM(model, relu=False, upsample=False).explain(x, target=targets)
    scores = head(conv(x)).numpy()[np.arange(3), targets]
    bias = model.get_layer("head").get_weights()[1][targets]
    np.testing.assert_allclose(hires.numpy().sum(axis=(1, 2)), scores - bias, rtol=1e-5, atol=1e-5)
    # Position by position: gradient times activation, where Grad-CAM averages the gradients.
    a, g, _ = cam_models.activations_and_gradients(conv, head, x, targets)
    np.testing.assert_allclose(hires, (a * g).sum(-1), atol=1e-5)
    gradcam = tfattr.GradCAM(model, relu=False, upsample=False).explain(x, target=targets)
    assert np.abs(gradcam.numpy() - hires.numpy()).max() > 1e-2


def test_relu_and_upsampling_as_gradcam():
    model, _, _ = cam_models.split_model("flatten")
    x = cam_models.images()
    raw = tfattr.HiResCAM(model, relu=False, upsample=False).explain(x, target=1).numpy()
    clipped = tfattr.HiResCAM(model, upsample=False).explain(x, target=1).numpy()
    np.testing.assert_allclose(clipped, np.maximum(raw, 0), atol=1e-6)
    assert tfattr.HiResCAM(model).explain(x, target=1).shape == x.shape[:3]
