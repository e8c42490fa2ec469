"""Processes tokendoctor starts (``credential_process`` with ``--live --allow-process``), bounded.

A child runs in its own process group with stdin closed; its output is read with a cap
(:data:`MAX_STDOUT`, :data:`MAX_STDERR`) and a deadline.  Past either, the whole group is killed.
Every live child is remembered in :data:`_LIVE` so that :func:`kill_all` (called on SIGTERM/SIGINT
by the CLI, and at exit) leaves nothing behind.  :class:`BoundedPopen` has the shape botocore's
``ProcessProvider(popen=...)`` expects.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from typing import Any

#: A credential_process document is well under 4 KiB; a MiB is a generous cap.
MAX_STDOUT = 1024 * 1024
MAX_STDERR = 64 * 1024

_LIVE: set[subprocess.Popen[bytes]] = set()
_LOCK = threading.Lock()


class ChildFailed(OSError):
    """The child outran its deadline or its output cap and was killed (one line, no output in it)."""


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own group: grandchildren too
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1)


def kill_all() -> None:
    """Kill every child still running (and its process group)."""
    with _LOCK:
        live = list(_LIVE)
        _LIVE.clear()
    for proc in live:
        _kill(proc)


atexit.register(kill_all)


class _Child:
    def __init__(self, proc: subprocess.Popen[bytes], end: float, what: str) -> None:
        self._proc = proc
        self._end = end
        self._what = what
        self.returncode: int | None = None

    def communicate(self) -> tuple[bytes, bytes]:
        proc = self._proc
        out, err = bytearray(), bytearray()
        caps = {"stdout": MAX_STDOUT, "stderr": MAX_STDERR}
        bufs = {"stdout": out, "stderr": err}
        sel = selectors.DefaultSelector()
        assert proc.stdout is not None and proc.stderr is not None
        sel.register(proc.stdout, selectors.EVENT_READ, "stdout")
        sel.register(proc.stderr, selectors.EVENT_READ, "stderr")
        try:
            while sel.get_map():
                left = self._end - time.monotonic()
                if left <= 0:
                    raise ChildFailed(f"{self._what} did not finish in time; killed it")
                for key, _ in sel.select(timeout=left):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    buf = bufs[key.data]
                    buf.extend(chunk)
                    if len(buf) > caps[key.data]:
                        raise ChildFailed(
                            f"{self._what} wrote more than {caps[key.data] // 1024} KiB to {key.data}; killed it"
                        )
            try:
                self.returncode = proc.wait(timeout=max(self._end - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                raise ChildFailed(f"{self._what} closed its output but did not exit in time; killed it") from None
        except BaseException:
            _kill(proc)
            raise
        finally:
            sel.close()
            proc.stdout.close()
            proc.stderr.close()
            with _LOCK:
                _LIVE.discard(proc)
        return bytes(out), bytes(err)


class BoundedPopen:
    """``popen(args, stdout=PIPE, stderr=PIPE)`` for botocore, with a deadline (monotonic ``end``)."""

    def __init__(self, end: float, what: str = "credential_process") -> None:
        self._end = end
        self._what = what

    def __call__(self, args: Any, **_: Any) -> _Child:
        if self._end - time.monotonic() <= 0:
            raise ChildFailed(f"no time left to run {self._what}")
        proc = subprocess.Popen(  # noqa: S603 - the user's own credential_process, run only with --allow-process
            args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
        with _LOCK:
            _LIVE.add(proc)
        return _Child(proc, self._end, self._what)
