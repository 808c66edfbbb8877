"""tfattr.callbacks: attribution grids during training, without changing the training."""

import keras
import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf

import tfattr
from tfattr.callbacks import AttributionCallback

SIZE = 8


def _model():
    return keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Dropout(0.5),  # draws random numbers during training
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )


def _data():
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (32, SIZE, SIZE, 3)).astype("float32")
    y = rng.integers(0, 3, 32)
    return x, y


def _fit(callbacks, epochs=2):
    keras.utils.set_random_seed(1)
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x, y = _data()
    cbs = [cb(model) for cb in callbacks]
    history = model.fit(x, y, batch_size=8, epochs=epochs, shuffle=True, verbose=0, callbacks=cbs)
    return model, history, cbs


def test_callback_writes_images_and_leaves_training_unchanged(tmp_path):
    x, y = _data()

    def make(model):
        return AttributionCallback(
            {
                "Saliency": tfattr.Saliency(model),  # an explainer built on the trained model
                "SmoothGrad": lambda m: tfattr.SmoothGrad(m, samples=2),  # unseeded: fresh noise
                "GradientShap": lambda m: tfattr.GradientShap(m, samples=2),
            },
            validation_data=(x[:2], y[:2]),
            every=1,
            log_dir=tmp_path / "logs",
            png_dir=tmp_path / "png",
        )

    plain_model, plain_history, _ = _fit([])
    model, history, (callback,) = _fit([make])
    assert history.history == plain_history.history
    for ours, theirs in zip(model.get_weights(), plain_model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)

    # Control: the comparison does detect a callback that disturbs training's random streams.
    class Disturbing(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model(x[:2], training=True)  # advances the dropout layer's seed generator

    disturbed, _, _ = _fit([lambda model: Disturbing()])
    assert not np.array_equal(disturbed.get_weights()[0], plain_model.get_weights()[0])

    assert [p.name for p in callback.written] == [
        "attributions_epoch0001.png",
        "attributions_epoch0002.png",
    ]
    grid = matplotlib.image.imread(callback.written[-1])
    assert grid.shape[:2] == callback.last_grid.shape[:2] and grid.shape[0] > 100
    events = list((tmp_path / "logs").glob("events.out.tfevents.*"))
    assert events
    logged = [
        (event.step, tf.io.decode_png(value.tensor.string_val[2]).shape)
        for event in tf.compat.v1.train.summary_iterator(str(events[0]))
        for value in event.summary.value
        if value.tag == "attributions"
    ]
    assert [step for step, _ in logged] == [1, 2]
    assert tuple(logged[0][1]) == callback.last_grid.shape


def test_callback_sees_the_current_weights_and_checks_arguments(tmp_path):
    x, y = _data()
    keras.utils.set_random_seed(0)
    model = _model()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    callback = AttributionCallback(
        tfattr.Saliency, x[:2], targets=0, every=2, png_dir=tmp_path, max_images=1
    )
    model.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
    assert callback.written == []  # every=2: nothing after one epoch
    explained = callback.explain()[""]
    assert explained.shape == (1, SIZE, SIZE, 3)
    model.layers[-1].kernel.assign(model.layers[-1].kernel * 2.0)
    expected = tfattr.Saliency(model).explain(x[:1], target=0)
    np.testing.assert_allclose(callback.explain()[""], expected, rtol=1e-6)

    with pytest.raises(ValueError, match="log_dir"):
        AttributionCallback(tfattr.Saliency, x[:2])
    with pytest.raises(ValueError, match="every"):
        AttributionCallback(tfattr.Saliency, x[:2], every=0, png_dir=tmp_path)
    with pytest.raises(TypeError, match="explainer"):
        AttributionCallback("saliency", x[:2], png_dir=tmp_path)
    other = AttributionCallback(tfattr.Saliency(_model()), x[:2], png_dir=tmp_path)
    other.set_model(model)
    with pytest.warns(UserWarning, match="different model"):
        other.on_train_begin()


def test_callback_takes_a_dataset_and_one_hot_labels(tmp_path):
    x, y = _data()
    one_hot = np.eye(3)[y]
    dataset = tf.data.Dataset.from_tensor_slices((x, one_hot)).batch(3)
    callback = AttributionCallback(tfattr.Saliency, dataset, png_dir=tmp_path, max_images=4)
    assert callback.images.shape == (4, SIZE, SIZE, 3)
    assert callback.targets == [int(t) for t in y[:4]]
