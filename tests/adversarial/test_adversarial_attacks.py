"""FGSM and PGD: bounded perturbations that raise the loss (or reach the target)."""

import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr import adversarial


@pytest.fixture(scope="module")
def cnn():
    return toy_models.cnn("functional", seed=3)  # ends in a softmax: attacks use its logits


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).uniform(0, 1, (4, *toy_models.SHAPE)).astype("float32")


def logits(model, images):
    return tfattr.ModelAdapter(model)(tf.constant(images, tf.float32)).numpy()


def cross_entropy(model, images, classes):
    return tf.nn.sparse_softmax_cross_entropy_with_logits(classes, logits(model, images)).numpy()


def test_fgsm_raises_the_loss_within_epsilon(cnn, x):
    labels = np.argmax(logits(cnn, x), axis=-1)
    result = adversarial.fgsm(cnn, x, labels, epsilon=0.05, clip=(0, 1))
    delta = result.images.numpy() - x
    assert np.abs(delta).max() <= 0.05 + 1e-6
    assert result.images.numpy().min() >= 0 and result.images.numpy().max() <= 1
    after = cross_entropy(cnn, result.images, labels)
    assert np.all(after > cross_entropy(cnn, x, labels))
    np.testing.assert_allclose(result.loss, after, rtol=1e-4)
    np.testing.assert_array_equal(result.predictions, np.argmax(logits(cnn, result.images), -1))
    np.testing.assert_array_equal(result.success, result.predictions != labels)


def test_pgd_reaches_at_least_the_loss_of_fgsm(cnn, x):
    for epsilon in (0.02, 0.1):
        one_step = adversarial.fgsm(cnn, x, epsilon=epsilon, clip=(0, 1))
        # From the clean image, and from random starts (a single random start can land in
        # another linear region of the ReLU network and end marginally lower at small epsilon).
        for options in ({"random_start": False}, {"restarts": 3, "seed": 0}):
            result = adversarial.pgd(cnn, x, epsilon=epsilon, steps=10, clip=(0, 1), **options)
            assert np.abs(result.images.numpy() - x).max() <= epsilon + 1e-6
            assert np.all(result.loss >= one_step.loss - 1e-5), options
            np.testing.assert_allclose(
                result.loss, cross_entropy(cnn, result.images, result.classes), rtol=1e-4
            )


def test_targeted_attacks_raise_the_target_score(cnn, x):
    target = 2
    before = logits(cnn, x)[:, target]
    for attack in (
        adversarial.fgsm(cnn, x, epsilon=0.05, target=target),
        adversarial.pgd(cnn, x, epsilon=0.05, target=target, seed=0),
    ):
        assert attack.targeted and np.all(attack.classes == target)
        assert np.all(logits(cnn, attack.images)[:, target] > before)
        assert np.all(attack.loss < attack.loss_before)
    strong = adversarial.pgd(cnn, x, epsilon=0.5, steps=20, target=target, seed=0)
    assert strong.success.all()


def test_pgd_is_reproducible_and_single_images_keep_their_rank(cnn, x):
    first = adversarial.pgd(cnn, x, epsilon=0.05, steps=3, seed=7)
    again = adversarial.pgd(cnn, x, epsilon=0.05, steps=3, seed=7, batch_size=3)
    np.testing.assert_allclose(first.images, again.images, atol=1e-6)
    single = adversarial.pgd(cnn, x[1], epsilon=0.05, steps=3, seed=7)
    assert single.images.shape == x[1].shape  # and the same as within the batch:
    np.testing.assert_allclose(single.images, first.images[1], atol=1e-6)


def test_bad_arguments(cnn, x):
    with pytest.raises(ValueError, match="epsilon: expected a number > 0"):
        adversarial.fgsm(cnn, x, epsilon=0)
    with pytest.raises(ValueError, match=r"clip: expected None or \(low, high\)"):
        adversarial.fgsm(cnn, x, epsilon=0.1, clip=1.0)
    with pytest.raises(ValueError, match=r"target: class index 9 is out of range"):
        adversarial.pgd(cnn, x, epsilon=0.1, target=9)
    with pytest.raises(ValueError, match="labels: expected one class index per image"):
        adversarial.fgsm(cnn, x, [0, 1], epsilon=0.1)
