"""Smoke test of an installed tfattr (run from outside the source tree, in the wheel's venv).

Checks that the package imported is the installed one, that its version is the metadata's,
that the package data shipped (the demo model's weights and class names), and that an explainer
runs on the demo model with a correct result (Integrated Gradients' completeness).
"""

import importlib.metadata
import pathlib
import subprocess
import sys

import numpy as np

import tfattr
from tfattr.apps.demo import model as demo_model
from tfattr.apps.demo import shapes

prefix = pathlib.Path(sys.prefix).resolve()
where = pathlib.Path(tfattr.__file__).resolve()
assert prefix in where.parents, f"tfattr imported from {where}, not from the venv {prefix}"
assert tfattr.__version__ == importlib.metadata.version("tfattr"), tfattr.__version__

assert demo_model.WEIGHTS.is_file(), f"package data missing: {demo_model.WEIGHTS}"
spec = demo_model.load_spec()
assert tuple(spec.class_names) == tuple(shapes.CLASSES), spec.class_names

images, labels, _ = shapes.make_dataset(8)
x = spec.preprocess(images)
accuracy = float(np.mean(np.argmax(spec.model(x), axis=-1) == labels))
assert accuracy >= 0.75, f"the shipped demo weights classify {accuracy:.0%} of 8 test shapes"

ig = tfattr.IntegratedGradients(spec.model, steps=64)
attr, delta = ig.explain(x, target=labels, return_convergence_delta=True)
assert attr.shape == x.shape, attr.shape
gap = np.abs(np.asarray(spec.model(x)) - np.asarray(spec.model(np.zeros_like(x)))).max()
assert np.abs(np.asarray(delta)).max() < 0.05 * gap + 1e-3, np.asarray(delta)

cam = tfattr.GradCAM(spec.model).explain(x, target=labels)
assert cam.shape == x.shape[:3], cam.shape

cli = pathlib.Path(sys.executable).with_name("tfattr")
out = subprocess.run([str(cli), "--version"], capture_output=True, text=True, check=True)
assert tfattr.__version__ in out.stdout, out.stdout

print(
    f"smoke test passed: tfattr {tfattr.__version__} from {where.parent}, demo accuracy "
    f"{accuracy:.0%}, max |IG delta| {np.abs(np.asarray(delta)).max():.2e}"
)
