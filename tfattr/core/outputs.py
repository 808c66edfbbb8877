"""Output checks in one place: an output folder is usable before any work is spent on it."""

from __future__ import annotations

import os
import pathlib
import shutil
import tempfile

# Room asked for when the caller does not estimate its output (a report, a few figures).
DEFAULT_NEEDED_BYTES = 16 << 20


def check_output_dir(path, *, needed_bytes: int | None = None, name: str = "out") -> pathlib.Path:
    """Creates the folder ``path`` if needed and checks that files can be written in it.

    Catches, before any work, what would otherwise fail after it: a component of the path that
    is a file, a folder that cannot be created or written (permissions, a read-only file
    system), and too little free space.

    Args:
        path: the output folder (created with its parents when missing).
        needed_bytes: bytes the outputs will take (default: 16 MiB).
        name: the argument's name in error messages (e.g. ``"--out"``).

    Returns:
        The folder as a ``pathlib.Path``.

    Raises:
        ValueError: the path is, or is under, a file; the folder cannot be created or written;
            or its file system has less than ``needed_bytes`` free.

    Example:
        >>> out = tfattr.core.outputs.check_output_dir("results/", needed_bytes=50 << 20)
    """
    folder = pathlib.Path(os.fspath(path))
    for part in [folder, *folder.parents]:
        if part.exists() and not part.is_dir():
            where = "is a file" if part == folder else f"is under the file {str(part)!r}"
            raise ValueError(
                f"{name}: {str(folder)!r} {where}, not a folder. Choose another output folder."
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(
            f"{name}: cannot create the folder {str(folder)!r} ({error.strerror or error}). "
            f"Choose a folder you can write to."
        ) from None
    try:  # a real write: permission bits do not tell (root, ACLs, read-only mounts)
        with tempfile.TemporaryFile(dir=folder) as probe:
            probe.write(b"tfattr")
            probe.flush()
    except OSError as error:
        raise ValueError(
            f"{name}: cannot write in {str(folder)!r} ({error.strerror or error}). Choose a "
            f"folder you can write to, or fix its permissions."
        ) from None
    needed = DEFAULT_NEEDED_BYTES if needed_bytes is None else int(needed_bytes)
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise ValueError(
            f"{name}: {str(folder)!r} has {free / 2**20:.1f} MiB free, but the outputs need "
            f"about {needed / 2**20:.1f} MiB. Free some space or choose another folder."
        )
    return folder
