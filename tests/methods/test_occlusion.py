"""Occlusion on a linear model: every element gets the analytic mean of its windows' drops."""

import threading

import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr


def analytic(x, w, window, stride, baseline=0.0):
    """Reference by loops: Captum's placement (starts 0, s, 2s, ... with cut-off borders)."""
    n, height, width, channels = x.shape
    total = np.zeros_like(x)
    count = np.zeros((height, width, 1))
    for r in range(0, max(height - window[0], 0) + stride[0], stride[0]):
        for c in range(0, max(width - window[1], 0) + stride[1], stride[1]):
            if r > height - 1 or c > width - 1:
                continue
            rows, cols = slice(r, r + window[0]), slice(c, c + window[1])
            drop = ((x[:, rows, cols] - baseline) * w[:, rows, cols]).sum(axis=(1, 2, 3))
            total[:, rows, cols] += drop[:, None, None, None]
            count[rows, cols] += 1
    return total / count


@pytest.mark.parametrize(
    ("window", "stride"), [((3, 3), (2, 2)), ((2, 4), (1, 3)), ((8, 8), (1, 1)), ((1, 1), (1, 1))]
)
def test_linear_model_matches_the_analytic_average(window, stride):
    model = toy_models.linear_model(softmax=True)
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(0).normal(size=(2, *toy_models.SHAPE)).astype("f4")
    targets = np.array([1, 3])
    w = np.stack([kernel[:, t].reshape(toy_models.SHAPE) for t in targets])
    got = tfattr.Occlusion(model, window=window, stride=stride, batch_size=7).explain(x, targets)
    np.testing.assert_allclose(got, analytic(x, w, window, stride), atol=1e-4)


def test_baseline_value_and_one_by_one_windows_give_input_times_weight_sums():
    model = toy_models.linear_model()
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(1).normal(size=(1, *toy_models.SHAPE)).astype("f4")
    w = kernel[:, 2].reshape(toy_models.SHAPE)
    got = tfattr.Occlusion(model, window=(1, 1), stride=(1, 1), baseline=0.5).explain(x, 2)
    expected = ((x[0] - 0.5) * w).sum(-1, keepdims=True)  # all channels hidden together
    np.testing.assert_allclose(got[0], np.broadcast_to(expected, x.shape[1:]), atol=1e-4)


def test_three_d_windows_slide_over_channels():
    model = toy_models.linear_model()
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(2).normal(size=(1, *toy_models.SHAPE)).astype("f4")
    got = tfattr.Occlusion(model, window=(1, 1, 1), stride=(1, 1, 1)).explain(x, 0)
    np.testing.assert_allclose(got[0], x[0] * kernel[:, 0].reshape(toy_models.SHAPE), atol=1e-4)


@pytest.mark.parametrize(("window", "stride"), [((3, 2, 2), (2, 1, 1)), ((8, 3, 3), (1, 2, 2))])
def test_overlapping_three_d_windows_match_the_analytic_average(window, stride):
    """3-D windows overlapping along every axis, cut off at the borders: each element's mean
    drop over the windows covering it, by loops over every window."""
    model = toy_models.linear_model()
    kernel, _ = toy_models.linear_weights()
    x = np.random.default_rng(3).normal(size=(2, *toy_models.SHAPE)).astype("f4")
    w = kernel[:, 2].reshape(toy_models.SHAPE)
    total, count = np.zeros_like(x), np.zeros(toy_models.SHAPE)
    starts = [
        range(0, d - k + s, s) for d, k, s in zip(toy_models.SHAPE, window, stride, strict=True)
    ]
    for corner in np.ndindex(*(len(r) for r in starts)):
        box = tuple(slice(r[i], r[i] + k) for r, i, k in zip(starts, corner, window, strict=True))
        drop = (x[(slice(None), *box)] * w[box]).sum(axis=(1, 2, 3))
        total[(slice(None), *box)] += drop[:, None, None, None]
        count[box] += 1
    got = tfattr.Occlusion(model, window=window, stride=stride).explain(x, 2)
    np.testing.assert_allclose(got, total / count, atol=1e-4)


def test_bad_windows_are_refused():
    model = toy_models.linear_model()
    with pytest.raises(ValueError, match="window"):
        tfattr.Occlusion(model, window=(0, 2))
    with pytest.raises(ValueError, match="stride"):
        tfattr.Occlusion(model, window=(2, 2), stride=(1, 1, 1))
    with pytest.raises(ValueError, match=r"stride: \(3, 5\) is larger than the window"):
        tfattr.Occlusion(model, window=(3, 3), stride=(3, 5))  # columns 3-4 would be skipped
    with pytest.raises(ValueError, match="larger than the image"):
        tfattr.Occlusion(model, window=(9, 9)).explain(np.zeros((1, *toy_models.SHAPE)), 0)


def test_the_clean_score_comes_from_the_same_run_as_the_windows(monkeypatch):
    """With targets given, the unoccluded forward is one more row per image of the compiled run
    (no pass of its own); with targets None, the top classes are looked up first and the maps
    equal those of the explicit targets."""
    model = toy_models.linear_model()
    x = np.random.default_rng(3).normal(size=(3, *toy_models.SHAPE)).astype("f4")
    occlusion = tfattr.Occlusion(model, window=(3, 3), stride=(2, 2), batch_size=5)
    top = np.argmax(model.predict(x, verbose=0), axis=-1)
    expected = occlusion.explain(x, None).numpy()

    def no_separate_pass(*args, **kwargs):
        raise AssertionError("a forward pass outside the engine's run")

    monkeypatch.setattr(occlusion.engine, "scores", no_separate_pass)
    np.testing.assert_allclose(occlusion.explain(x, top), expected, atol=1e-5)


def test_concurrent_calls_do_not_share_rows():
    """Threads explaining different images with one explainer get what each gets alone."""
    model = toy_models.cnn()
    occlusion = tfattr.Occlusion(model, window=(3, 3), stride=(1, 1), batch_size=8)
    images = [
        np.random.default_rng(i).normal(size=(2, *toy_models.SHAPE)).astype("f4") for i in range(4)
    ]
    alone = [occlusion.explain(x, 1).numpy() for x in images]
    together = [None] * len(images)

    def work(i):
        together[i] = occlusion.explain(images[i], 1).numpy()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for got, expected in zip(together, alone, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_out_of_memory_below_the_number_of_images_starts_again_in_blocks():
    """Chunks of in-place rows hold whole rounds of all images: when the batch size shrinks
    below the number of images, the call starts again in blocks of images."""
    logits = toy_models.cnn("callable")

    def fragile(images):
        if images.shape[0] > 4:  # a device that cannot hold more than 4 rows
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return logits(images)

    x = np.random.default_rng(5).normal(size=(6, *toy_models.SHAPE)).astype("f4")
    occlusion = tfattr.Occlusion(fragile, window=(3, 3), stride=(2, 2), batch_size=32)
    with pytest.warns(ResourceWarning, match="retries"):
        got = occlusion.explain(x, 1).numpy()
    assert occlusion.engine.batch_size == 4
    expected = tfattr.Occlusion(logits, window=(3, 3), stride=(2, 2), batch_size=3).explain(x, 1)
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_spreading_the_window_drops_takes_milliseconds_at_imagenet_size():
    """Guards the spread's form: a transposed convolution computes the same but TF's CPU kernel
    without oneDNN (the default on CPUs without AVX-512 VNNI) took 19 s here for these 8 maps."""
    import time

    model = toy_models.linear_model(shape=(224, 224, 3))
    occlusion = tfattr.Occlusion(model, window=(32, 32), stride=(16, 16))
    drops = tf.constant(np.random.default_rng(5).normal(size=(8, 169)).astype("f4"))
    occlusion.spread(drops, (224, 224, 3), occlusion.options)  # (first call: graph building)
    start = time.perf_counter()
    maps = occlusion.spread(drops, (224, 224, 3), occlusion.options).numpy()
    assert time.perf_counter() - start < 1.0
    assert maps.shape == (8, 224, 224, 3)
