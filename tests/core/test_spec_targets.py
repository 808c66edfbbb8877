"""Explainers built on a ModelSpec take targets by class name."""

import numpy as np
import pytest
import toy_models

import tfattr
from tfattr.models import ModelSpec
from tfattr.models.preprocessing import Preprocess


def test_targets_by_name_through_a_model_spec():
    model = toy_models.cnn("functional")
    spec = ModelSpec(
        name="toy",
        model=model,
        preprocess=Preprocess("none"),
        input_size=(8, 8),
        num_classes=4,
        imagenet=False,
        names=("cat", "dog", "bird", "fish"),
    )
    x = np.random.default_rng(0).uniform(size=(2, *toy_models.SHAPE)).astype("f4")
    by_name = tfattr.Saliency(spec).explain(x, target=["dog", "fish"])
    np.testing.assert_array_equal(by_name, tfattr.Saliency(model).explain(x, target=[1, 3]))
    np.testing.assert_array_equal(
        tfattr.IntegratedGradients(spec, steps=4).explain(x, target="bird"),
        tfattr.IntegratedGradients(model, steps=4).explain(x, target=2),
    )
    with pytest.raises((ValueError, KeyError), match="zebra"):
        tfattr.Saliency(spec).explain(x, target="zebra")
