"""The gradient engine: streaming, no retracing, memory bounded by batch_size, OOM back-off."""

import numpy as np
import pytest
import tensorflow as tf
import toy_models

import tfattr
from tfattr import registry
from tfattr.core import engine
from tfattr.core.adapter import ModelAdapter
from tfattr.core.baselines import stack
from tfattr.core.engine import GradientEngine, Plan


def counting_plan(points, groups=1, statistics=("sum",)):
    """Row (i, g, j) contributes the constant image (i*100 + g*10 + j) * ones: exact sums."""

    def build(images, rows, tensors):
        value = tf.cast(rows.image * 100 + rows.group * 10 + rows.point, tf.float32)
        return images, tf.reshape(value, (-1, 1, 1, 1)) * tf.ones_like(images)

    def value(points_, targets, weight, adapter):
        return weight

    return Plan(
        points=points,
        groups=groups,
        build=build,
        key=("count",),
        value=value,
        statistics=statistics,
    )


@pytest.mark.parametrize("batch_size", [1, 3, 7, 16, 64])
@pytest.mark.parametrize(("points", "groups"), [(1, 1), (5, 1), (3, 4), (1, 6)])
def test_every_row_is_summed_once_whatever_the_chunking(batch_size, points, groups):
    n = 3
    engine = GradientEngine(ModelAdapter(toy_models.cnn("callable")), batch_size=batch_size)
    x = tf.zeros((n, 2, 2, 1))
    out = engine.run(x, tf.zeros((n,), tf.int32), counting_plan(points, groups, ("sum", "sumsq")))
    for i in range(n):
        group_sums = [sum(i * 100 + g * 10 + j for j in range(points)) for g in range(groups)]
        np.testing.assert_allclose(out["sum"][i].numpy(), sum(group_sums))
        np.testing.assert_allclose(out["sumsq"][i].numpy(), sum(s * s for s in group_sums))


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5, 6, 9, 12, 64])
@pytest.mark.parametrize("points", [1, 2])
def test_chunks_see_the_groups_they_touch(batch_size, points):
    """Rows draw one value per group of the chunk (``first_group`` and ``group_span``, as
    NoiseTunnel's noise): each row must find its own group's value, also when chunks are whole
    groups of all images (``group_span`` is then exact, not one more)."""
    n, groups = 3, 7

    def build(images, rows, tensors):
        draws = rows.first_group + tf.range(rows.group_span)  # one "draw" per group
        value = tf.cast(tf.gather(draws * 10 + 1, rows.group - rows.first_group), tf.float32)
        return images, tf.reshape(value, (-1, 1, 1, 1)) * tf.ones_like(images)

    plan = Plan(
        points=points,
        groups=groups,
        build=build,
        key=("draws",),
        value=lambda points, targets, weight, adapter: weight,
    )
    engine = GradientEngine(ModelAdapter(toy_models.cnn("callable")), batch_size=batch_size)
    out = engine.run(tf.zeros((n, 2, 2, 1)), tf.zeros((n,), tf.int32), plan)["sum"].numpy()
    np.testing.assert_array_equal(out, points * sum(g * 10 + 1 for g in range(groups)))


@pytest.mark.parametrize(
    ("total", "batch_size", "expected"),
    [
        (400, 40, (40, None)),  # exact
        (1352, 40, (40, None)),  # 34 x 40: 8 padding rows (0.6 %) are cheaper than a new step
        (1352, 50, (50, 2)),  # 27 x 50 + a step of 2, not 28 x 50 (48 padding rows)
        (392, 50, (50, 44)),  # 7 x 50 + 42 rows in a step of 44
        (9, 8, (8, 1)),
        (10, 4, (4, None)),  # 2 padding rows: not worth a step
        (8, 40, (8, None)),
    ],
)
def test_chunk_sizes_keep_padding_small(total, batch_size, expected):
    size, tail = engine.chunk_sizes(total, batch_size)
    assert (size, tail) == expected
    rest = total % size
    padding = (tail - rest) if tail is not None else (size - rest) % size
    assert 0 <= padding <= max(3, total // 100) or tail is None and _step_of(rest) == size


def _step_of(rows):
    return engine.chunk_sizes(rows, rows)[0]


def gradient_traces(explainer):
    """Traces of gradient steps: rules without both path ends (riemann_left) also read F(x)
    and F(b) by forward passes, each compiled once per chunk size."""
    return explainer.engine.trace_count - len(explainer.engine._forwards)


def test_no_retrace_across_calls_images_steps_and_baselines():
    model = toy_models.cnn("functional")
    ig = tfattr.IntegratedGradients(model, batch_size=8)
    x = np.random.default_rng(0).uniform(size=(2, *toy_models.SHAPE)).astype("f4")
    ig.explain(x, target=1)
    ig.explain(x, target=1, baseline=stack(np.ones((2, *toy_models.SHAPE), "f4")))
    traces = gradient_traces(ig)  # one step for a single baseline, one for stacks
    # Other images and steps whose rows fill whole chunks of 8 reuse those steps.
    ig.explain(x[:1], target=0, steps=16)
    ig.explain(np.concatenate([x] * 3), target=2, method="riemann_left", baseline=0.5)
    ig.explain(x, target=1, baseline=np.ones((4, *toy_models.SHAPE), "f4"))
    assert gradient_traces(ig) == traces
    # Others may compile a smaller last chunk, once per size: calls repeated retrace nothing.
    calls = [
        lambda: ig.explain(x[:1], target=0, steps=13),
        lambda: ig.explain(x, target=1, steps=25, baseline=np.ones((3, *toy_models.SHAPE), "f4")),
    ]
    for call in calls:
        call()
    traces = gradient_traces(ig)
    for call in calls:
        call()
    assert gradient_traces(ig) == traces == len(ig.engine._steps)


def test_out_of_memory_halves_the_chunk_and_warns_once():
    logits = toy_models.cnn("callable")
    sizes = []

    def fragile(images):
        sizes.append(int(images.shape[0]))
        if images.shape[0] > 4:  # a device that cannot hold more than 4 rows
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor")
        return logits(images)

    x = np.random.default_rng(0).uniform(size=(3, *toy_models.SHAPE)).astype("f4")
    ig = tfattr.IntegratedGradients(fragile, steps=10, batch_size=32)
    with pytest.warns(ResourceWarning, match="retries with batch_size=16"):
        attr = ig.explain(x, target=1)
    assert ig.engine.batch_size == 4
    expected = tfattr.IntegratedGradients(logits, steps=10, batch_size=5).explain(x, target=1)
    np.testing.assert_allclose(attr, expected, atol=1e-5)


def test_memory_does_not_grow_with_steps():
    """Interpolated points exist one chunk at a time: the same compiled steps serve every
    `steps`, and no tensor in them is larger than a chunk of `batch_size` rows (or the N input
    images)."""
    model = toy_models.cnn("functional")
    x = np.random.default_rng(0).uniform(size=(4, *toy_models.SHAPE)).astype("f4")
    ig = tfattr.IntegratedGradients(model, batch_size=16)
    ig.explain(x, steps=25)
    ig.explain(x, steps=400)
    assert len(ig.engine._steps) <= 2  # chunks of 16 (and a last chunk of 4 for 25 steps)
    sizes = [
        out.shape.num_elements()
        for step in ig.engine._steps.values()
        for op in step.graph.get_operations()
        for out in op.outputs
        if out.shape.is_fully_defined() and out.dtype == tf.float32
    ]
    largest_row = 6 * 6 * 6 * 2  # the conv output per row, with its gradient buffer
    # All 400 x 4 interpolation points at once would be 307,200 floats.
    assert max(sizes) <= 16 * largest_row, max(sizes)


def test_progress_bar_is_shown_on_request(capsys):
    model = toy_models.cnn("functional")
    x = np.zeros((1, *toy_models.SHAPE), "f4")
    tfattr.IntegratedGradients(model, steps=20, batch_size=4, progress=True).explain(x, target=0)
    assert "grad" in capsys.readouterr().err
    tfattr.IntegratedGradients(model, steps=20, batch_size=4).explain(x, target=0)
    assert capsys.readouterr().err == ""


def weighted_plan(points, groups, statistics, per_element):
    """Row (i, g, j) has the weight (1 + g + 2j), times (x_i + 1) when ``per_element``: on a
    linear model with weights W, group (i, g) sums to [(x_i + 1) *] W[t] * sum_j (1 + g + 2j).
    """

    def build(images, rows, tensors):
        weight = tf.cast(1 + rows.group + 2 * rows.point, tf.float32)
        if per_element:
            return images, tf.reshape(weight, (-1, 1, 1, 1)) * (images + 1.0)
        return images, weight

    return Plan(
        points=points,
        groups=groups,
        build=build,
        key=("weighted", per_element),
        statistics=statistics,
    )


@pytest.mark.parametrize("per_element", [False, True])
@pytest.mark.parametrize("batch_size", [1, 3, 8, 64])
@pytest.mark.parametrize(("points", "groups"), [(1, 1), (4, 1), (1, 5), (3, 4)])
@pytest.mark.parametrize("statistics", [("sum",), ("sum", "sumsq")])
@pytest.mark.parametrize("n", [5, 4])
def test_row_weights_in_every_layout(per_element, batch_size, points, groups, statistics, n):
    """Per-row weights (carried by the scores) and per-element weights give the closed form
    however rows fall into chunks (groups carried across chunks, padding rows counting zero)."""
    model = toy_models.linear_model()
    w = toy_models.linear_weights()[0]  # (H*W*C, classes)
    engine = GradientEngine(ModelAdapter(model), batch_size=batch_size)
    x = tf.constant(np.random.default_rng(1).uniform(size=(n, *toy_models.SHAPE)), tf.float32)
    targets = tf.constant([0, 1, 2, 3, 1][:n], tf.int32)
    out = engine.run(x, targets, weighted_plan(points, groups, statistics, per_element))
    for i in range(n):
        gradient = w[:, int(targets[i])].reshape(toy_models.SHAPE)
        factor = x[i].numpy() + 1 if per_element else 1.0
        group = [
            factor * gradient * sum(1 + g + 2 * j for j in range(points)) for g in range(groups)
        ]
        np.testing.assert_allclose(out["sum"][i].numpy(), sum(group), rtol=1e-5, atol=1e-5)
        if "sumsq" in statistics:
            np.testing.assert_allclose(
                out["sumsq"][i].numpy(), sum(s * s for s in group), rtol=1e-5, atol=1e-5
            )


def test_a_second_explainer_on_the_same_model_compiles_nothing_new():
    """Compiled steps are shared by every engine on a model (keyed weakly, per adapter
    configuration): a notebook that builds an explainer per cell traces once."""
    model = toy_models.cnn()
    x = np.random.default_rng(0).normal(size=(3, *toy_models.SHAPE)).astype("float32")
    first = tfattr.IntegratedGradients(model, steps=6)
    expected = first.explain(x, target=[0, 1, 2]).numpy()
    assert first.engine.trace_count >= 1
    second = tfattr.IntegratedGradients(model, steps=6)
    np.testing.assert_array_equal(second.explain(x, target=[0, 1, 2]).numpy(), expected)
    assert second.engine.trace_count == 0
    # Another output (probabilities) is another step, with its own result.
    probabilities = tfattr.IntegratedGradients(model, steps=6, output="probabilities")
    other = probabilities.explain(x, target=[0, 1, 2]).numpy()
    assert probabilities.engine.trace_count >= 1
    assert not np.allclose(other, expected)
    # Another model: its own steps.
    third = tfattr.IntegratedGradients(toy_models.cnn(seed=1), steps=6)
    third.explain(x, target=[0, 1, 2])
    assert third.engine.trace_count >= 1


def test_one_plan_key_serves_sums_and_squares():
    """The statistics asked for are part of the compiled step: a plan run for sums, then for
    sums and squares, gets both right."""
    engine = GradientEngine(ModelAdapter(toy_models.cnn("callable")), batch_size=4)
    x, targets = tf.zeros((3, 2, 2, 1)), tf.zeros((3,), tf.int32)
    engine.run(x, targets, counting_plan(1, 5, ("sum",)))
    out = engine.run(x, targets, counting_plan(1, 5, ("sum", "sumsq")))
    for i in range(3):
        np.testing.assert_allclose(
            out["sumsq"][i].numpy(), sum((i * 100 + g * 10) ** 2 for g in range(5))
        )


@pytest.mark.parametrize("name", sorted(registry.METHODS))
def test_every_method_shares_its_compiled_steps_with_a_second_explainer(name):
    """A second explainer of any method, same model and settings, traces nothing (Grad-CAM's
    resolved layer once made a new step per explainer: 40x the floor on a first call)."""
    model = toy_models.cnn()
    x = np.random.default_rng(0).normal(size=(2, *toy_models.SHAPE)).astype("float32")
    size = toy_models.SHAPE[:2]
    small = {"steps": 4, "samples": 8, "n_segments": 8}
    options = {k: v for k, v in small.items() if k in registry.METHODS[name].cls.defaults}
    first = registry.make(name, model, image_size=size, **options)
    expected = np.asarray(first.explain(x, target=[0, 1]))
    second = registry.make(name, model, image_size=size, **options)
    np.testing.assert_array_equal(np.asarray(second.explain(x, target=[0, 1])), expected)
    assert second.engine.trace_count == 0
