"""How many rows a compiled chunk may hold: its estimated working set against available memory.

A chunk of ``rows`` model evaluations with their gradients keeps, per row, every layer's
activations for the backward pass, their gradients, the row itself and its input gradient. The
estimate is the same on every device: ``4 bytes x (2 x activations + 4 x input elements)`` per
row, with the activations read from the model's layers (Keras models) or, for opaque models
(SavedModels, callables), taken as 128 times the input (VGG16 and ResNet50 hold ~100 and ~70
times their input). The memory it is compared with is what the process may still allocate: the
host's available memory, or the container's (cgroup) limit minus its usage when that is lower.
On an accelerator the chunk's tensors live in device memory, which TensorFlow's public API does
not report; there the engine's out-of-memory back-off (TensorFlow raises, it does not crash)
remains the guard, and this bound only keeps the host side from running out.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from tfattr.core.layers import walk

# Share of the available memory a chunk may use (weights, inputs, results and TensorFlow's
# own allocations need the rest).
SHARE = 0.5
# Activations per input element assumed for models whose layers are not visible.
OPAQUE_FACTOR = 128
# Below this many bytes per chunk, memory is not queried at all (small jobs pay nothing).
SMALL_CHUNK_BYTES = 256 << 20


def available_bytes() -> int | None:
    """Bytes the process may still allocate (host memory, container limit), None if unknown."""
    candidates = []
    try:
        import psutil

        candidates.append(int(psutil.virtual_memory().available))
    except ImportError:
        with contextlib.suppress(ValueError, OSError, AttributeError):
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    limit = _cgroup_room()
    if limit is not None:
        candidates.append(limit)
    return min(candidates) if candidates else None


def _cgroup_room() -> int | None:
    """The container's memory limit minus its usage (cgroup v2), None where there is none."""
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit == "max":
            return None
        with open("/sys/fs/cgroup/memory.current") as f:
            return max(0, int(limit) - int(f.read().strip()))
    except (OSError, ValueError):
        return None


def row_bytes(model, image_shape: tuple) -> int:
    """Estimated bytes one row (a model evaluation and its gradient) keeps alive in a chunk."""
    inputs = int(np.prod(image_shape))
    activations = 0
    for _, layer in walk(model):
        try:
            outputs = layer.output
        except Exception:  # noqa: BLE001 (a layer never called symbolically has no output)
            continue
        for output in outputs if isinstance(outputs, list | tuple) else [outputs]:
            shape = getattr(output, "shape", None)
            if shape is not None and len(shape) > 1 and all(d is not None for d in shape[1:]):
                activations += int(np.prod(tuple(shape[1:])))
    if activations == 0:
        activations = OPAQUE_FACTOR * inputs
    return 4 * (2 * activations + 4 * inputs)


def bound_rows(batch_size: int, per_row: int) -> int:
    """The largest chunk (at most ``batch_size`` rows) whose working set fits the memory share."""
    if batch_size * per_row <= SMALL_CHUNK_BYTES:
        return batch_size
    room = available_bytes()
    if room is None:
        return batch_size
    return max(1, min(batch_size, int(room * SHARE) // max(per_row, 1)))
