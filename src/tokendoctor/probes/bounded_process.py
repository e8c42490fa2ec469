"""Run a command the user allowed (``credential_process`` with ``--allow-process``) with a deadline and a
cap on its output, as a ``popen`` for botocore's ``ProcessProvider(popen=)``.

botocore calls ``popen(args, stdout=PIPE, stderr=PIPE)`` and then ``communicate()``
(botocore/credentials.py ``ProcessProvider._retrieve_credentials_using``).  This replacement gives the
process no stdin (it can never prompt), its own session (so the whole group is killed), reads at most
``max_bytes`` of each stream, and kills the group at the deadline: it never hangs and never buffers
an unbounded answer.  Every process still running is remembered, so that :func:`kill_all` (called by
the CLI on SIGTERM/SIGINT and at exit) leaves none behind.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: A credential_process answer is a small JSON document; anything larger is refused.
MAX_OUTPUT_BYTES = 64 * 1024


_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()


class ProcessFailed(Exception):
    """The process could not be run within its bounds (not started, timed out, too much output)."""


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: grandchildren too
    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=1)


def kill_all() -> None:
    """Kill every process started here that is still running, with its process group."""
    with _LIVE_LOCK:
        live = list(_LIVE)
        _LIVE.clear()
    for proc in live:
        _kill_group(proc)


atexit.register(kill_all)


class BoundedProcess:
    """A started process with a ``communicate()`` that honours a deadline and an output cap."""

    def __init__(self, args: Sequence[str], *, env: Mapping[str, str], timeout: float, max_bytes: int) -> None:
        self._timeout = max(timeout, 0.05)
        self._max = max_bytes
        self.returncode: int | None = None
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - the user's own credential_process, allowed by a flag
                list(args),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env),
                start_new_session=True,
            )
        except (OSError, ValueError) as exc:
            raise ProcessFailed(
                f"cannot start {args[0] if args else '?'}: {getattr(exc, 'strerror', None) or exc}"
            ) from None
        with _LIVE_LOCK:
            _LIVE.add(self._proc)

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.kill()

    def communicate(self) -> tuple[bytes, bytes]:
        buffers: dict[str, bytearray] = {"out": bytearray(), "err": bytearray()}
        overflow: list[str] = []

        def pump(name: str, stream: Any) -> None:
            buf = buffers[name]
            while True:
                chunk = stream.read1(8192) if hasattr(stream, "read1") else stream.read(8192)
                if not chunk:
                    return
                if len(buf) + len(chunk) > self._max:
                    overflow.append(name)
                    self._kill()
                    return
                buf.extend(chunk)

        threads = [
            threading.Thread(target=pump, args=("out", self._proc.stdout), daemon=True),
            threading.Thread(target=pump, args=("err", self._proc.stderr), daemon=True),
        ]
        for t in threads:
            t.start()
        end = time.monotonic() + self._timeout
        try:
            self.returncode = self._proc.wait(timeout=self._timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            self._proc.wait(timeout=5)
            raise ProcessFailed(f"did not finish within {self._timeout:.1f} s; killed") from None
        finally:
            for t in threads:
                t.join(timeout=max(end - time.monotonic(), 0.2))
            for stream in (self._proc.stdout, self._proc.stderr):
                if stream is not None:
                    stream.close()
            if self._proc.poll() is None:
                self._kill()
            with _LIVE_LOCK:
                _LIVE.discard(self._proc)
        if overflow:
            raise ProcessFailed(f"wrote more than {self._max} bytes to std{overflow[0]}; killed")
        return bytes(buffers["out"]), bytes(buffers["err"])


def bounded_popen(
    env: Mapping[str, str], timeout: float, max_bytes: int = MAX_OUTPUT_BYTES
) -> Callable[..., BoundedProcess]:
    """A ``popen`` for ``ProcessProvider(popen=)``: ignores botocore's pipe arguments, applies the bounds."""

    def _popen(args: Sequence[str], **_pipes: object) -> BoundedProcess:
        return BoundedProcess(args, env=env, timeout=timeout, max_bytes=max_bytes)

    return _popen
