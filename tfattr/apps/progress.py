"""Progress of long steps: a tqdm bar on a terminal, one plain line per step otherwise.

Logs of batch jobs and CI keep one readable line per finished step instead of the carriage
returns of a bar; ``enabled=False`` (``--quiet``) prints nothing.

Example:
    >>> with Progress(total=50 * 4, desc="explain", unit="img") as progress:
    ...     for method in methods:
    ...         progress.update(50, step=method)
"""

from __future__ import annotations

import sys
import time


class Progress:
    """Counts work done and shows it.

    Args:
        total: amount of work (e.g. images x methods).
        desc: what is being done (``"explain"``).
        unit: unit of the work (``"img"``).
        enabled: False prints nothing.
        stream: where to write (default ``sys.stderr``); a bar only when it is a terminal.
    """

    def __init__(self, total: int, desc: str, unit: str = "it", enabled: bool = True, stream=None):
        self.total, self.desc, self.unit = int(total), str(desc), str(unit)
        self.enabled = bool(enabled)
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.started = time.perf_counter()
        self._bar = None
        if self.enabled and _is_terminal(self.stream):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, desc=self.desc, unit=unit, file=self.stream)

    def update(self, amount: int = 1, step: str | None = None) -> None:
        """Records `amount` more work done; `step` names what just finished."""
        self.done += int(amount)
        if not self.enabled:
            return
        if self._bar is not None:
            if step:
                self._bar.set_postfix_str(str(step), refresh=False)
            self._bar.update(int(amount))
            return
        elapsed = time.perf_counter() - self.started
        label = f" {step}" if step else ""
        print(
            f"{self.desc}:{label} {self.done}/{self.total} {self.unit} ({elapsed:.1f} s)",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        """Ends the bar (a no-op for plain lines)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
