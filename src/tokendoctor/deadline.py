"""Run a piece of work under what is left of the run's one deadline.

The work runs in a daemon thread, so a read that blocks (a FIFO, a stuck ``/proc`` file, a hanging
peer) can never keep tokendoctor past ``--timeout`` nor alive at exit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineMissed(Exception):
    """The work did not finish in the time left."""


def within(seconds: float, work: Callable[[], T]) -> T:
    """``work()``'s result or exception, or :class:`DeadlineMissed` when it takes longer than ``seconds``."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="td-deadline", daemon=True)
    thread.start()
    thread.join(max(seconds, 0.0))
    if thread.is_alive():
        raise DeadlineMissed(f"not finished within {seconds:.1f}s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
