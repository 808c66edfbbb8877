"""The offline demo: procedural shapes with ground-truth masks, a small CNN, and ``tfattr demo``.

- :mod:`tfattr.demo.shapes` -- the dataset generator (images, labels, evidence masks).
- :mod:`tfattr.demo.model` -- the CNN and its shipped weights as a ModelSpec (``load_spec``).
- :mod:`tfattr.demo.train` -- the reproducible training script, ``python -m tfattr.demo.train``.
- :mod:`tfattr.demo.run` -- the demo run behind ``tfattr demo``.
"""
