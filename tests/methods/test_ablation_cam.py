"""Ablation-CAM: the batched engine run equals a Python loop that zeroes each channel."""

import cam_models
import numpy as np
import pytest

import tfattr


def loop_reference(conv, head, x, targets):
    a = conv(x).numpy()
    rows = np.arange(len(x))
    clean = head(a).numpy()[rows, targets]
    weights = np.empty((a.shape[0], a.shape[-1]))
    for k in range(a.shape[-1]):
        ablated = a.copy()
        ablated[..., k] = 0.0
        weights[:, k] = (clean - head(ablated).numpy()[rows, targets]) / np.abs(clean)
    return np.einsum("bhwk,bk->bhw", a, weights)


@pytest.mark.parametrize("batch_size", [1, 5, 64])
def test_equals_a_loop_over_channels(batch_size):
    model, conv, head = cam_models.split_model("flatten", channels=6)
    x = cam_models.images()
    targets = [0, 2, 1]
    cam = tfattr.AblationCAM(model, relu=False, upsample=False, batch_size=batch_size)
    np.testing.assert_allclose(
        cam.explain(x, target=targets), loop_reference(conv, head, x, targets), rtol=1e-4, atol=1e-5
    )


def test_weights_on_a_gap_network_are_gradcam_weights_times_channel_means():
    """GAP -> dense is linear in A: zeroing channel k drops the score by w_kc * mean(A^k)."""
    model, conv, _ = cam_models.split_model("gap")
    x = cam_models.images()
    a = conv(x).numpy()
    kernel, bias = model.get_layer("head").get_weights()
    score = a.mean((1, 2)) @ kernel[:, 1] + bias[1]
    weights = kernel[None, :, 1] * a.mean((1, 2)) / np.abs(score)[:, None]
    cam = tfattr.AblationCAM(model, relu=False, upsample=False).explain(x, target=1)
    np.testing.assert_allclose(cam, np.einsum("bhwk,bk->bhw", a, weights), rtol=1e-4, atol=1e-5)


def test_mixed_precision_models_give_float32_maps():
    reference, mixed = cam_models.mixed_precision_twins()
    x = cam_models.images()
    expected = tfattr.AblationCAM(reference).explain(x, target=1).numpy()
    got = tfattr.AblationCAM(mixed).explain(x, target=1)
    assert got.dtype == "float32"
    np.testing.assert_allclose(got, expected, atol=1e-2 * np.abs(expected).max())
