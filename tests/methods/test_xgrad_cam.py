"""XGrad-CAM: weights sum(A * grad) / sum(A) per channel; conservation on a flatten network."""

import cam_models
import numpy as np

import tfattr


def test_weights_are_activation_weighted_gradients():
    model, conv, head = cam_models.split_model("flatten")
    x = cam_models.images()
    targets = [3, 1, 0]
    a, g, scores = cam_models.activations_and_gradients(conv, head, x, targets)
    mass = a.sum((1, 2))
    weights = (a * g).sum((1, 2)) / np.where(mass == 0, 1, mass)  # silent channels weigh 0
    cam = tfattr.XGradCAM(model, relu=False, upsample=False).explain(x, target=targets).numpy()
    np.testing.assert_allclose(cam, np.einsum("bhwk,bk->bhw", a, weights), rtol=1e-4, atol=1e-5)
    # Conservation (the paper's axiom): the map sums to the score's part that A carries.
    bias = model.get_layer("head").get_weights()[1][targets]
    picked = scores[np.arange(3), targets]
    np.testing.assert_allclose(cam.sum((1, 2)), picked - bias, rtol=1e-4, atol=1e-4)


def test_a_channel_without_activation_weighs_zero():
    model, conv, _ = cam_models.split_model("flatten")
    x = np.zeros((1, *cam_models.SHAPE), "f4")  # A = ReLU(bias): some channels all zero
    cam = tfattr.XGradCAM(model, relu=False, upsample=False).explain(x, target=0).numpy()
    assert np.all(np.isfinite(cam))
    assert (conv(x).numpy().sum((1, 2)) == 0).any()
