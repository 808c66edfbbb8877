"""The engine bounds a chunk's estimated working set by the memory available (simulated here)."""

import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr.core import memory


def test_row_estimate_counts_every_layer_output():
    model = toy_models.linear_model()  # Flatten (192) and Dense (4) outputs per row
    inputs = int(np.prod(toy_models.SHAPE))
    assert memory.row_bytes(model, toy_models.SHAPE) == 4 * (2 * (inputs + 4) + 4 * inputs)
    opaque = memory.row_bytes(lambda x: x, toy_models.SHAPE)  # no layers: 128 x the input
    assert opaque == 4 * (2 * memory.OPAQUE_FACTOR * inputs + 4 * inputs)


def test_available_memory_is_known_here():
    available = memory.available_bytes()
    assert available is None or available > 0


def test_a_too_large_batch_runs_in_smaller_chunks_under_a_simulated_limit(monkeypatch):
    weights = toy_models.linear_weights()
    seen = []

    def model(images):  # opaque: the estimate is 128 x the input per row
        seen.append(int(images.shape[0]))
        flat = tf.reshape(images, (tf.shape(images)[0], -1))
        return flat @ weights[0] + weights[1]

    x = np.random.default_rng(0).uniform(size=(24, *toy_models.SHAPE)).astype("f4")
    expected = tfattr.Saliency(model, batch_size=64).explain(x, target=1).numpy()

    per_row = memory.row_bytes(model, toy_models.SHAPE)
    monkeypatch.setattr(memory, "SMALL_CHUNK_BYTES", 0)
    monkeypatch.setattr(memory, "available_bytes", lambda: int(16 * per_row / memory.SHARE))
    seen.clear()
    explainer = tfattr.Saliency(model, batch_size=64)
    with pytest.warns(ResourceWarning, match=r"batch_size=64 needs about .* chunks of 16 rows"):
        attr = explainer.explain(x, target=1).numpy()
    assert explainer.engine.batch_size == 16
    assert seen and max(seen) <= 16  # the traced chunk sizes
    np.testing.assert_allclose(attr, expected, rtol=1e-6)


def test_unknown_memory_leaves_the_batch_alone(monkeypatch):
    monkeypatch.setattr(memory, "SMALL_CHUNK_BYTES", 0)
    monkeypatch.setattr(memory, "available_bytes", lambda: None)
    assert memory.bound_rows(64, 10**9) == 64
    monkeypatch.setattr(memory, "available_bytes", lambda: 10)
    assert memory.bound_rows(64, 10**9) == 1  # never below one row
