"""The one place where tfattr touches TensorFlow internals, each with its reason and fallback.

tfattr supports TensorFlow 2.16 to 2.21 through public API only, except:

``existing_global_generator``
    Reads ``tensorflow.python.ops.stateful_random_ops.global_generator``. Reason: no public API
    says whether TF's global ``tf.random.Generator`` exists; ``tf.random.get_global_generator()``
    creates one when it does not (placed on whatever device is current, and it raises under
    ``tf.config.experimental.enable_op_determinism``). Used by
    :class:`tfattr.callbacks.AttributionCallback` to restore that generator's state after
    explaining. Fallback when the module or attribute is gone: ``None``, so the generator is not
    guarded (tfattr's explainers draw from their own stateless seeds and never from it).
    Tested in ``tests/core/test_tf_compat.py`` both ways.
"""

from __future__ import annotations

import importlib

import tensorflow as tf

_RANDOM_MODULE = "tensorflow.python.ops.stateful_random_ops"


def existing_global_generator() -> tf.random.Generator | None:
    """TF's global ``tf.random.Generator`` if it was created or set, else None; never creates it."""
    try:
        module = importlib.import_module(_RANDOM_MODULE)
    except ImportError:
        return None
    generator = getattr(module, "global_generator", None)
    return generator if isinstance(generator, tf.random.Generator) else None
