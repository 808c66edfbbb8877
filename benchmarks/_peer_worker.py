"""One peer library, run inside its own virtualenv, driven by compare_peers.py over stdin/stdout.

    <peer venv>/bin/python benchmarks/_peer_worker.py <peer>

Protocol: one JSON object per line on stdin, one JSON reply per line on the original stdout
(everything the libraries print goes to stderr):

- ``{"op": "setup", "case": {...}}`` builds the model of the case (cached), loads its images and
  prepares the peer's call; replies ``{"ok": true}`` or ``{"error": "..."}`` (unsupported
  method, import failure).
- ``{"op": "run"}`` runs the prepared call once; replies ``{"seconds": t}`` (timed here, so the
  pipe is not measured).
- ``{"op": "save", "path": ".../x.npy"}`` writes the last result as float32.
- ``{"op": "quit"}``.

Each adapter below calls the peer's public API with the settings of the case (the peer's own
batching and compilation), and returns its attribution as the peer defines it; compare_peers.py
aligns conventions before comparing numbers. This file must run on Python 3.11 with Keras 2 or 3
and numpy 1 or 2, and imports nothing from tfattr.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _models  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

MODELS: dict = {}


def model_for(case):
    key = (case["model"], case["size"])
    if key not in MODELS:
        MODELS[key] = _models.build(tf.keras, case["model"], case["size"], case.get("weights"))
    return MODELS[key]


def one_hot(targets, classes=1000):
    return tf.one_hot(targets, classes).numpy()


# --------------------------------------------------------------------------------------------
# Adapters: (model, x, targets, case) -> zero-argument callable returning a numpy attribution.
# tf-explain's and saliency's APIs take one class for all images; compare_peers.py uses one
# target class for the whole batch so that every library does the same work.


def tf_explain(model, x, targets, case):
    method, cls = case["method"], int(targets[0])
    if method == "ig":
        from tf_explain.core.integrated_gradients import IntegratedGradients as IG

        def run():  # explain() minus its grayscale grid: the attribution itself
            points = IG.generate_interpolations(x, case["steps"])
            return IG.get_integrated_gradients(points, model, cls, case["steps"]).numpy()

        return run
    if method == "smoothgrad":
        from tf_explain.core.smoothgrad import SmoothGrad as SG

        def run():
            noisy = SG.generate_noisy_images(x, case["samples"], case["stddev"])
            return SG.get_averaged_gradients(noisy, model, cls, case["samples"]).numpy()

        return run
    if method == "occlusion":
        from tf_explain.core.occlusion_sensitivity import OcclusionSensitivity

        occlusion = OcclusionSensitivity(batch_size=case["batch_size"])
        return lambda: np.stack(
            [occlusion.get_sensitivity_map(model, image, cls, case["window"]) for image in x]
        )
    if method == "gradcam":
        from tf_explain.core.grad_cam import GradCAM

        def run():
            outputs, grads = GradCAM.get_gradients_and_filters(
                model, x, case["layer"], cls, use_guided_grads=False
            )
            return np.stack([m.numpy() for m in GradCAM.generate_ponderated_output(outputs, grads)])

        return run
    return None


def xplique(model, x, targets, case):
    import xplique.attributions as xa

    method, b, y = case["method"], case["batch_size"], one_hot(targets)
    if method == "ig":
        explainer = xa.IntegratedGradients(model, batch_size=b, steps=case["steps"], reducer=None)
    elif method == "smoothgrad":
        explainer = xa.SmoothGrad(
            model, batch_size=b, nb_samples=case["samples"], noise=case["stddev"], reducer=None
        )
    elif method == "occlusion":
        explainer = xa.Occlusion(
            model, batch_size=b, patch_size=case["window"], patch_stride=case["stride"]
        )
    elif method == "gradcam":
        explainer = xa.GradCAM(model, batch_size=b, conv_layer=case["layer"])
    else:
        return None
    return lambda: np.asarray(explainer.explain(x, y))


def tf_keras_vis(model, x, targets, case):
    from tf_keras_vis.utils.scores import CategoricalScore

    score = CategoricalScore([int(t) for t in targets])
    if case["method"] == "smoothgrad":
        from tf_keras_vis.saliency import Saliency

        saliency = Saliency(model, clone=False)
        return lambda: np.asarray(
            saliency(
                score,
                x,
                smooth_samples=case["samples"],
                smooth_noise=case["spread"],
                keepdims=True,
                gradient_modifier=None,
                normalize_map=False,
            )
        )
    if case["method"] == "gradcam":
        from tf_keras_vis.gradcam import Gradcam

        gradcam = Gradcam(model, clone=False)
        return lambda: np.asarray(
            gradcam(score, x, penultimate_layer=case["layer"], normalize_cam=False)
        )
    return None


def saliency(model, x, targets, case):
    """PAIR saliency: a framework-free core calling back into the model once per batch."""
    import saliency.core as saliency_core

    cls = int(targets[0])
    compiled = case.get("variant") == "compiled"
    key = saliency_core.base.INPUT_OUTPUT_GRADIENTS

    def gradients(batch):
        batch = tf.convert_to_tensor(batch, tf.float32)
        with tf.GradientTape() as tape:
            tape.watch(batch)
            score = model(batch, training=False)[:, cls]
        return tape.gradient(score, batch)

    if compiled:  # the README's recipe for speed: a tf.function callback
        gradients = tf.function(gradients, reduce_retracing=True)

    def call_model(batch, call_model_args=None, expected_keys=None):
        # PAIR builds its points in float64 numpy; the model takes float32.
        return {key: np.asarray(gradients(np.asarray(batch, np.float32)))}

    if case["method"] == "ig":
        ig = saliency_core.IntegratedGradients()
        batch = case["batch_size"] if compiled else 1  # GetMask's default batch_size is 1
        return lambda: np.stack(
            [
                ig.GetMask(
                    image,
                    call_model,
                    x_baseline=np.zeros_like(image),
                    x_steps=case["steps"],
                    batch_size=batch,
                )
                for image in x
            ]
        )
    if case["method"] == "smoothgrad":
        vanilla = saliency_core.GradientSaliency()
        return lambda: np.stack(
            [
                vanilla.GetSmoothedMask(
                    image,
                    call_model,
                    stdev_spread=case["spread"],
                    nsamples=case["samples"],
                    magnitude=False,
                )
                for image in x
            ]
        )
    return None


def alibi(model, x, targets, case):
    if case["method"] != "ig":
        return None
    from alibi.explainers import IntegratedGradients

    ig = IntegratedGradients(
        model,
        method="riemann_trapezoid",
        n_steps=case["steps"],
        internal_batch_size=case["batch_size"],
    )
    return lambda: np.asarray(
        ig.explain(x, baselines=None, target=[int(t) for t in targets]).attributions[0]
    )


ADAPTERS = {
    "tf_explain": tf_explain,
    "xplique": xplique,
    "tf_keras_vis": tf_keras_vis,
    "saliency": saliency,
    "alibi": alibi,
}


def main():
    peer = sys.argv[1]
    adapter = ADAPTERS[peer]
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the libraries print goes to stderr
    sys.stdout = sys.stderr
    run, result = None, None
    prepared = {}  # case -> run: a case set up again reuses its explainer (and compiled code)
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        try:
            if op == "setup":
                case = request["case"]
                key = json.dumps(case, sort_keys=True)
                if key not in prepared:
                    x = np.load(case["images"]).astype(np.float32)
                    targets = np.load(case["targets"]).astype(np.int32)
                    prepared[key] = adapter(model_for(case), x, targets, case)
                run = prepared[key]
                reply = {"ok": True} if run else {"error": f"{peer} has no {case['method']}"}
            elif op == "run":
                start = time.perf_counter()
                result = run()
                reply = {"seconds": time.perf_counter() - start}
            elif op == "save":
                np.save(request["path"], np.asarray(result, np.float32))
                reply = {"ok": True}
            elif op == "versions":
                import importlib.metadata as md

                names = {"tf_explain": "tf-explain", "tf_keras_vis": "tf-keras-vis"}
                reply = {
                    "peer": md.version(names.get(peer, peer)),
                    "tensorflow": tf.__version__,
                    "numpy": np.__version__,
                }
            elif op == "quit":
                break
            else:
                reply = {"error": f"unknown op {op!r}"}
        except Exception as error:  # report to the driver instead of dying
            traceback.print_exc()
            reply = {"error": f"{type(error).__name__}: {error}"[:500]}
        replies.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
