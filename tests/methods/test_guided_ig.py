"""Guided IG: completeness up to the path discretisation; IG on the straight line at max_dist 0."""

import numpy as np
import pytest
import toy_models

import tfattr
from tfattr.methods.gradient.guided_ig import GuidedIntegratedGradients


@pytest.fixture(scope="module")
def setup():
    model = toy_models.cnn("functional", seed=2)
    x = np.random.default_rng(3).uniform(size=(2, *toy_models.SHAPE)).astype("f4")
    return model, x


def test_defaults_are_the_reference_ones(setup):
    options = GuidedIntegratedGradients(setup[0]).options
    assert (options["steps"], options["fraction"], options["max_dist"]) == (200, 0.25, 0.02)


def test_completeness_up_to_the_path_discretisation(setup):
    model, x = setup
    deltas = []
    for steps in (8, 128):
        explainer = GuidedIntegratedGradients(model, steps=steps, return_convergence_delta=True)
        attr, delta = explainer.explain(x, [1, 2])
        deltas.append(np.abs(delta.numpy()))
    change = np.abs(attr.numpy().sum((1, 2, 3)))
    # Selected features jump by up to max_dist of their range whatever the step count, so the
    # error shrinks with steps but is bounded by max_dist: about 3 % of the change here.
    assert np.all(deltas[1] < deltas[0]) and np.all(deltas[1] < 0.05 * change)


def test_without_deviation_it_is_left_riemann_integrated_gradients(setup):
    model, x = setup
    guided = GuidedIntegratedGradients(model, steps=16, max_dist=0.0).explain(x, [0, 3])
    straight = tfattr.IntegratedGradients(model, steps=16, method="riemann_left")
    np.testing.assert_allclose(guided, straight.explain(x, [0, 3]), atol=1e-5)


def test_an_input_equal_to_its_baseline_gets_zero(setup):
    model, _ = setup
    attr = GuidedIntegratedGradients(model, steps=4).explain(np.zeros((1, 8, 8, 3)), 1)
    assert np.all(attr.numpy() == 0)


def test_bad_options_and_stacks_are_refused(setup):
    model, x = setup
    with pytest.raises(ValueError, match="fraction"):
        GuidedIntegratedGradients(model, fraction=0)
    with pytest.raises(ValueError, match="one baseline"):
        GuidedIntegratedGradients(model, baseline=np.zeros((2, 8, 8, 3))).explain(x, 1)
