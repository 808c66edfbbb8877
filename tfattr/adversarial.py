"""Adversarial examples and counterfactual explanations.

- :func:`fgsm` -- one signed-gradient step of the cross-entropy loss (Goodfellow et al. 2015).
- :func:`pgd` -- projected gradient descent in the L-infinity ball, with a random start
  (Madry et al. 2018).
- :func:`counterfactual` -- the fewest grid regions to copy from an image of another class to
  flip the prediction to that class (a pixel-space version of Goyal et al. 2019's greedy search).

Perturbation sizes and clipping bounds are in the model's input scale (the preprocessed tensor
the model sees). Gradients are computed by the shared
:class:`~tfattr.core.engine.GradientEngine` in compiled chunks of ``batch_size`` images.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
import tensorflow as tf

from tfattr.core.engine import Plan, images_as_points
from tfattr.core.inputs import as_images, as_targets, check_choice, check_positive_int, check_seed
from tfattr.core.random import uniform_rows
from tfattr.metrics import chunks, model_engine, resolve_targets

__all__ = ["AttackResult", "CounterfactualResult", "counterfactual", "fgsm", "pgd"]


@dataclasses.dataclass
class AttackResult:
    """Adversarial images and what the model makes of them.

    Attributes:
        images: (N, H, W, C) float32 tensor, the perturbed images.
        predictions: (N,) the model's top class for each perturbed image.
        original_predictions: (N,) the top class of each clean image.
        classes: (N,) the class the loss was computed for: the true label (untargeted) or the
            target (targeted).
        targeted: whether the attack pushed towards ``classes`` (True) or away from them.
        loss: (N,) cross-entropy of ``classes`` at the perturbed images.
        loss_before: (N,) the same at the clean images.

    Example:
        >>> adv = tfattr.adversarial.fgsm(model, x, labels=y, epsilon=0.05, clip=(0, 1))
        >>> adv.success.shape, adv.targeted
        ((2,), False)
    """

    images: tf.Tensor
    predictions: np.ndarray
    original_predictions: np.ndarray
    classes: np.ndarray
    targeted: bool
    loss: np.ndarray
    loss_before: np.ndarray

    @property
    def success(self) -> np.ndarray:
        """(N,) bool: the prediction became the target (targeted) or left the label."""
        if self.targeted:
            return self.predictions == self.classes
        return self.predictions != self.classes


def _loss_gradient(points, targets, coef, score_fn):
    """Gradient of the softmax cross-entropy of ``targets`` w.r.t. the input, per row."""
    with tf.GradientTape() as tape:
        tape.watch(points)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, score_fn(points))
    return tape.gradient(loss, points)


_GRADIENT_PLAN = Plan(
    points=1,
    build=images_as_points,
    key=("adversarial_loss_gradient",),
    value=_loss_gradient,
)


class _Attack:
    """Checked inputs and the loss machinery shared by FGSM and PGD."""

    def __init__(self, model, images, labels, target, epsilon, clip, batch_size):
        self.engine = model_engine(model, output="logits", batch_size=batch_size)
        self.x, self.single = as_images(images, self.engine.adapter, name="images")
        self.epsilon = _positive(epsilon, "epsilon")
        self.clip = _bounds(clip)
        scores = self.engine.scores(self.x)
        self.original = tf.argmax(scores, axis=-1, output_type=tf.int32)
        n, classes = int(self.x.shape[0]), int(scores.shape[-1])
        self.targeted = target is not None
        if self.targeted:
            self.classes = as_targets(target, n, classes, name="target")
        else:
            checked = as_targets(labels, n, classes, name="labels")
            self.classes = self.original if checked is None else checked
        # Untargeted attacks climb the loss of the label; targeted ones descend that of the target.
        self.direction = -1.0 if self.targeted else 1.0

    def gradient_sign(self, x: tf.Tensor) -> tf.Tensor:
        return tf.sign(self.engine.run(x, self.classes, _GRADIENT_PLAN)["sum"])

    def loss(self, x: tf.Tensor) -> np.ndarray:
        logits = self.engine.scores(x)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(self.classes, logits).numpy()

    def project(self, x_adv: tf.Tensor) -> tf.Tensor:
        x_adv = tf.clip_by_value(x_adv, self.x - self.epsilon, self.x + self.epsilon)
        if self.clip is not None:
            x_adv = tf.clip_by_value(x_adv, *self.clip)
        return x_adv

    def result(self, x_adv: tf.Tensor, loss: np.ndarray | None = None) -> AttackResult:
        predictions = tf.argmax(self.engine.scores(x_adv), axis=-1, output_type=tf.int32)
        images = x_adv[0] if self.single else x_adv
        return AttackResult(
            images=images,
            predictions=predictions.numpy(),
            original_predictions=self.original.numpy(),
            classes=self.classes.numpy(),
            targeted=self.targeted,
            loss=self.loss(x_adv) if loss is None else loss,
            loss_before=self.loss(self.x),
        )


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(
            f"{name}: expected a number > 0 (in the model's input scale), got {value!r}."
        )
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value!r}.")
    return float(value)


def _bounds(clip):
    if clip is None:
        return None
    try:
        low, high = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise ValueError(
            f"clip: expected None or (low, high) in the model's input scale, e.g. (0, 1) or "
            f"(-1, 1), got {clip!r}."
        ) from None
    if not low < high:
        raise ValueError(f"clip: low must be below high, got {clip!r}.")
    return low, high


def fgsm(
    model,
    images,
    labels=None,
    *,
    epsilon: float,
    target=None,
    clip=None,
    batch_size: int = 32,
) -> AttackResult:
    """Fast Gradient Sign Method: ``x' = clip(x + epsilon * sign(grad_x L(x, y)))``.

    Untargeted (``target=None``): raises the cross-entropy of ``labels`` (default: the model's
    predictions). Targeted: lowers the cross-entropy of ``target``,
    ``x' = clip(x - epsilon * sign(grad_x L(x, target)))``. ``||x' - x||_inf <= epsilon``.

    Args:
        model: a Keras model, SavedModel/callable returning logits, ModelAdapter or Explainer.
        images: ``(N, H, W, C)`` or one image, in the model's input scale.
        labels: the true classes for an untargeted attack (None: the model's predictions).
        epsilon: the L-infinity size of the perturbation, in the model's input scale.
        target: a class (or one per image) for a targeted attack.
        clip: ``(low, high)`` valid range of the inputs (e.g. ``(0, 1)``); None: no clipping.
        batch_size: images per gradient computation.

    Returns:
        An :class:`AttackResult` (images, new predictions, losses).

    Example:
        >>> adv = tfattr.adversarial.fgsm(model, x, labels=y, epsilon=8 / 255, clip=(0, 1))
        >>> adv.images.shape == x.shape
        True

    Reference: Goodfellow, Shlens, Szegedy, "Explaining and Harnessing Adversarial Examples",
    ICLR 2015.
    """
    attack = _Attack(model, images, labels, target, epsilon, clip, batch_size)
    step = attack.direction * attack.epsilon * attack.gradient_sign(attack.x)
    return attack.result(attack.project(attack.x + step))


def pgd(
    model,
    images,
    labels=None,
    *,
    epsilon: float,
    steps: int = 10,
    step_size: float | None = None,
    random_start: bool = True,
    restarts: int = 1,
    target=None,
    clip=None,
    seed: int | None = None,
    batch_size: int = 32,
) -> AttackResult:
    """Projected Gradient Descent in the L-infinity ball of radius ``epsilon``.

    Starts from ``x`` plus uniform noise in the ball (``random_start``), then repeats ``steps``
    times ``x' <- project(x' +/- step_size * sign(grad L))``, projecting onto the ball and the
    ``clip`` range. With ``restarts > 1`` the whole search is repeated from new random starts.
    Returns, per image, the iterate with the best loss over all steps and restarts (highest for
    untargeted, lowest for targeted attacks).

    Args:
        model: a Keras model, SavedModel/callable returning logits, ModelAdapter or Explainer.
        images: ``(N, H, W, C)`` or one image.
        labels: true classes for an untargeted attack (None: the model's predictions).
        epsilon: radius of the L-infinity ball, in the model's input scale.
        steps: gradient steps.
        step_size: size of each step (default ``2.5 * epsilon / steps``, Madry et al.).
        random_start: start from a uniform random point of the ball.
        restarts: independent runs from different random starts (with ``random_start``).
        target: a class (or one per image) for a targeted attack.
        clip: ``(low, high)`` valid input range, or None.
        seed: seed of the random start.
        batch_size: images per gradient computation.

    Returns:
        An :class:`AttackResult`.

    Example:
        >>> adv = tfattr.adversarial.pgd(model, x, epsilon=0.03, steps=20, clip=(0, 1), seed=0)

    Reference: Madry, Makelov, Schmidt, Tsipras, Vladu, "Towards Deep Learning Models Resistant
    to Adversarial Attacks", ICLR 2018.
    """
    attack = _Attack(model, images, labels, target, epsilon, clip, batch_size)
    steps = check_positive_int(steps, "steps")
    step_size = (
        2.5 * attack.epsilon / steps if step_size is None else _positive(step_size, "step_size")
    )
    if not isinstance(random_start, bool):
        raise TypeError(f"random_start: expected True or False, got {random_start!r}.")
    restarts = check_positive_int(restarts, "restarts")
    seed = check_seed(seed)
    best, best_loss = attack.x, attack.loss(attack.x)
    for restart in range(restarts if random_start else 1):
        x_adv = attack.x
        if random_start:
            # One start per restart, shared by the images (as every tfattr draw): an image's
            # result does not depend on which images share the call.
            noise = uniform_rows(seed, tf.constant([restart]), tuple(attack.x.shape[1:]), stream=21)
            x_adv = attack.project(attack.x + attack.epsilon * (2.0 * noise - 1.0))
        for _ in range(steps):
            step = attack.direction * step_size * attack.gradient_sign(x_adv)
            x_adv = attack.project(x_adv + step)
            best, best_loss = _keep_better(attack, x_adv, best, best_loss)
    return attack.result(best, best_loss)


def _keep_better(attack: _Attack, x_adv, best, best_loss):
    loss = attack.loss(x_adv)
    better = loss * attack.direction > best_loss * attack.direction
    best = tf.where(tf.reshape(tf.constant(better), (-1, 1, 1, 1)), x_adv, best)
    return best, np.where(better, loss, best_loss)


# ------------------------------------------------------------------------------------------
# Counterfactual visual explanations


@dataclasses.dataclass
class CounterfactualResult:
    """A counterfactual edit of an image.

    Attributes:
        image: (H, W, C) the edited image.
        regions: ``[(query_box, distractor_box), ...]`` in the order chosen; a box is
            ``(top, left, bottom, right)`` in pixels (bottom/right exclusive). The distractor's
            box was copied onto the query's.
        cells: the same as grid cell indices ``(query_cell, distractor_cell)``, row-major.
        class_reached: the edited image's top class.
        target: the class aimed at (the distractor's).
        original_class: the query image's top class.
        success: whether ``class_reached == target``.
        probabilities: the probability of ``target`` after each edit (index 0: unedited).

    Example:
        >>> cf = tfattr.adversarial.counterfactual(model, cat, dog)
        >>> len(cf.probabilities) == len(cf.regions) + 1    # before and after each edit
        True
    """

    image: tf.Tensor
    regions: list[tuple[tuple[int, int, int, int], tuple[int, int, int, int]]]
    cells: list[tuple[int, int]]
    class_reached: int
    target: int
    original_class: int
    success: bool
    probabilities: list[float]


def counterfactual(
    model,
    image,
    distractor,
    *,
    target=None,
    grid=(4, 4),
    match: str = "any",
    max_regions: int | None = None,
    batch_size: int = 64,
) -> CounterfactualResult:
    """Counterfactual visual explanation: which regions of ``distractor`` make ``image`` its class?

    The image and the distractor are divided into a grid of cells. Greedily, each step tries every
    unused query cell with every unused distractor cell (``match="any"``, a permutation as in
    Goyal et al.) or the distractor's cell at the same place (``match="same"``), keeps the copy
    that most raises the log-probability of the distractor's class, and stops as soon as that
    class is predicted. The greedy search approximates the smallest such set of regions.

    Args:
        model: a Keras model, SavedModel/callable, ModelAdapter or Explainer.
        image: the query image ``(H, W, C)`` (or ``(1, H, W, C)``).
        distractor: an image of another class, same shape.
        target: the class to reach (default: the distractor's top class).
        grid: ``(rows, cols)`` of cells; with ``match="any"`` the image size must divide evenly.
        match: ``"any"`` (any distractor cell to any query cell) or ``"same"`` (same position).
        max_regions: stop after this many copies (default: all cells).
        batch_size: candidate edits per forward pass.

    Returns:
        A :class:`CounterfactualResult` (edited image, regions, class reached).

    Example:
        >>> cf = tfattr.adversarial.counterfactual(model, cat, dog)
        >>> found = cf.success

    Reference: Goyal, Wu, Ernst, Batra, Parikh, Lee, "Counterfactual Visual Explanations",
    ICML 2019.
    """
    engine = model_engine(model, output="logits", batch_size=batch_size)
    query = _one_image(image, engine, "image")
    other = _one_image(distractor, engine, "distractor")
    if query.shape != other.shape:
        raise ValueError(
            f"distractor: expected the image's shape {tuple(query.shape[1:])}, got "
            f"{tuple(other.shape[1:])}; resize it first."
        )
    check_choice(match, "match", ("any", "same"))
    rows, cols = _grid(grid, query.shape, match)
    cells = rows * cols
    limit = cells if max_regions is None else check_positive_int(max_regions, "max_regions")
    goal = int(resolve_targets(engine, other, target)[0])
    original = int(tf.argmax(engine.scores(query)[0]))
    masks, boxes = _cell_masks(query.shape[1:3], rows, cols)

    current = query[0]
    free_query, free_distractor = set(range(cells)), set(range(cells))
    chosen: list[tuple[int, int]] = []
    probabilities = [_probability(engine, current[None], goal)[0]]
    reached = original
    while reached != goal and len(chosen) < min(limit, cells):
        pairs = [
            (q, d)
            for q in sorted(free_query)
            for d in (sorted(free_distractor) if match == "any" else [q])
        ]
        scores = np.empty(len(pairs))
        for start, end in chunks(len(pairs), engine.batch_size):
            candidates = tf.stack(
                [_paste(current, other[0], masks, boxes, q, d) for q, d in pairs[start:end]]
            )
            scores[start:end] = _log_probability(engine, candidates, goal)
        q, d = pairs[int(np.argmax(scores))]
        current = _paste(current, other[0], masks, boxes, q, d)
        chosen.append((q, d))
        free_query.discard(q)
        free_distractor.discard(d)
        probabilities.append(_probability(engine, current[None], goal)[0])
        reached = int(tf.argmax(engine.scores(current[None])[0]))
    return CounterfactualResult(
        image=current,
        regions=[(boxes[q], boxes[d]) for q, d in chosen],
        cells=chosen,
        class_reached=reached,
        target=goal,
        original_class=original,
        success=reached == goal,
        probabilities=[float(p) for p in probabilities],
    )


def _one_image(image, engine, name: str) -> tf.Tensor:
    x, _ = as_images(image, engine.adapter, name=name)
    if int(x.shape[0]) != 1:
        raise ValueError(f"{name}: expected one image (H, W, C), got a batch of {int(x.shape[0])}.")
    return x


def _grid(grid, shape, match) -> tuple[int, int]:
    try:
        rows, cols = (check_positive_int(g, "grid") for g in grid)
    except TypeError:
        raise ValueError(f"grid: expected (rows, cols), got {grid!r}.") from None
    height, width = int(shape[1]), int(shape[2])
    if rows > height or cols > width:
        raise ValueError(f"grid: {grid!r} has more cells than the image {height}x{width} pixels.")
    if match == "any" and (height % rows or width % cols):
        raise ValueError(
            f"grid: with match='any' cells must have equal sizes, but {height}x{width} pixels do "
            f"not divide into {rows}x{cols}; choose a grid that divides the size or match='same'."
        )
    return rows, cols


def _cell_masks(size, rows, cols):
    """Boolean masks (cells, H, W, 1) and pixel boxes of a rows x cols grid."""
    height, width = int(size[0]), int(size[1])
    tops = np.linspace(0, height, rows + 1).round().astype(int)
    lefts = np.linspace(0, width, cols + 1).round().astype(int)
    boxes, masks = [], np.zeros((rows * cols, height, width, 1), bool)
    for r in range(rows):
        for c in range(cols):
            box = (int(tops[r]), int(lefts[c]), int(tops[r + 1]), int(lefts[c + 1]))
            masks[len(boxes), box[0] : box[2], box[1] : box[3]] = True
            boxes.append(box)
    return tf.constant(masks), boxes


def _paste(current, distractor, masks, boxes, query_cell: int, distractor_cell: int):
    """`current` with the distractor's cell `distractor_cell` copied onto cell `query_cell`."""
    (top, left, *_), (source_top, source_left, *_) = boxes[query_cell], boxes[distractor_cell]
    # Translating the whole distractor is one cheap op and needs no per-pair storage.
    source = tf.roll(distractor, shift=(top - source_top, left - source_left), axis=(0, 1))
    return tf.where(masks[query_cell], source, current)


def _log_probability(engine, images, goal: int) -> np.ndarray:
    return tf.nn.log_softmax(engine.scores(images), axis=-1)[:, goal].numpy()


def _probability(engine, images, goal: int) -> np.ndarray:
    return np.exp(_log_probability(engine, images, goal))
