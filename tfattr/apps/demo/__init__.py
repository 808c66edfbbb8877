"""The offline demo: procedural shapes with ground-truth masks, a small CNN, and ``tfattr demo``.

- :mod:`tfattr.apps.demo.shapes` -- the dataset generator (images, labels, evidence masks).
- :mod:`tfattr.apps.demo.model` -- the CNN and its shipped weights as a ModelSpec (``load_spec``).
- :mod:`tfattr.apps.demo.train` -- the reproducible training script, ``python -m tfattr.apps.demo.train``.
- :mod:`tfattr.apps.demo.run` -- the demo run behind ``tfattr demo``.
"""
