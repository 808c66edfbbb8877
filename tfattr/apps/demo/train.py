"""Trains the demo CNN on the shapes dataset, reproducibly, and writes the shipped weights.

Run ``python -m tfattr.apps.demo.train`` (about a minute on 2 CPU cores). Seeds are fixed and TF's
op determinism is on, so a rerun on the same TF version and CPU gives the same weights; the test
accuracy is printed and recorded next to the weights in ``shapes_cnn.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

from tfattr.apps.demo import shapes
from tfattr.apps.demo.model import WEIGHTS, build_model

TRAIN_COUNT, TEST_COUNT = 8000, 1000
EPOCHS, BATCH_SIZE, LEARNING_RATE, SEED = 10, 64, 3e-3, 0


def train(
    out=WEIGHTS,
    *,
    epochs: int = EPOCHS,
    train_count: int = TRAIN_COUNT,
    test_count: int = TEST_COUNT,
    verbose: int = 2,
) -> dict:
    """Generates the data, trains, evaluates on the test stream and saves the weights.

    Args:
        out: the ``.weights.h5`` file to write (its folder is created).
        epochs: passes over the training images.
        train_count: training images (from the stream :data:`shapes.TRAIN_SEED`).
        test_count: validation and test images each.
        verbose: Keras' fit verbosity.

    Returns:
        A record of the run (accuracies, sizes, seeds, seconds), also written as JSON beside
        the weights.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    started = time.time()
    x_train, y_train, _ = shapes.make_dataset(train_count, shapes.TRAIN_SEED)
    x_val, y_val, _ = shapes.make_dataset(test_count, shapes.VALIDATION_SEED)
    x_test, y_test, _ = shapes.make_dataset(test_count, shapes.TEST_SEED)

    model = build_model()
    steps = epochs * (train_count // BATCH_SIZE)
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    # Inputs as the ModelSpec feeds them: uint8 / 255.
    model.fit(
        x_train / 255.0,
        y_train,
        batch_size=BATCH_SIZE,
        epochs=epochs,
        validation_data=(x_val / 255.0, y_val),
        shuffle=True,
        verbose=verbose,
    )
    _, test_accuracy = model.evaluate(x_test / 255.0, y_test, verbose=0)
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A fresh copy has no optimizer: the file holds the 75k weights only (~0.3 MB, not ~1 MB).
    inference = build_model()
    inference.set_weights(model.get_weights())
    inference.save_weights(str(out))
    record = {
        "model": model.name,
        "parameters": int(model.count_params()),
        "classes": list(shapes.CLASSES),
        "image_size": shapes.IMAGE_SIZE,
        "train_images": train_count,
        "test_images": test_count,
        "epochs": epochs,
        "seed": SEED,
        "test_accuracy": float(test_accuracy),
        "seconds": round(time.time() - started, 1),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "weights_bytes": out.stat().st_size,
    }
    out.with_name(out.name.replace(".weights.h5", ".json")).write_text(json.dumps(record, indent=2))
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tfattr.apps.demo.train",
        description="Train the demo CNN on the procedural shapes dataset (fixed seeds).",
    )
    parser.add_argument("--out", default=str(WEIGHTS), help="weights file (.weights.h5)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--train-count", type=int, default=TRAIN_COUNT)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    record = train(args.out, epochs=args.epochs, train_count=args.train_count)
    print(json.dumps(record, indent=2))
    return 0 if record["test_accuracy"] >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
