"""The one seam through which the outside world reaches the checks.

A :class:`Context` carries the environment variables, the filesystem root
(for ``/sys``, ``/proc`` and ``/etc`` lookups), the clock and the options.
The CLI builds the live one; tests build any machine state they need.
Checks never read ``os.environ``, ``time.time()`` or absolute paths directly.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from tokendoctor.redact import Redactor

T = TypeVar("T")


class _Once:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None

    def get(self, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if not self._done:
                try:
                    self._value = compute()
                except BaseException as exc:  # noqa: BLE001 - re-raised to every caller
                    self._error = exc
                self._done = True
        if self._error is not None:
            raise self._error
        return self._value


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


@dataclass(frozen=True, kw_only=True)
class Options:
    """What the user asked for, already validated by the CLI."""

    profile: str | None = None
    min_ttl: float = 15 * 60
    offline: bool = False
    timeout: float = 5.0
    imds: bool | None = None
    """``True`` forces the instance-metadata probe, ``False`` forbids it, ``None`` decides by platform."""
    allow_process: bool = False
    """Run ``credential_process`` to see what it returns (off by default)."""
    ntp_servers: tuple[str, ...] = ()
    max_skew: float = 5.0
    pid: int | None = None
    """Diagnose this process's environment, user and age instead of the current shell's (issue 5)."""
    env_file: str | None = None
    """Diagnose the environment described by this file (KEY=VALUE lines or NUL-separated)."""
    sdk: str = "python"
    """Whose chain order to report: python, java-v1, java-v2, go-v2, js-v3, cli-v2."""
    live: bool = False
    """Call STS GetCallerIdentity with the resolved credentials."""
    for_seconds: float | None = None
    """``--for``: how long the job will run; the chain's horizon must cover it (TD220)."""
    debug: bool = False
    """Keep the (masked) traceback of a crashed check for ``--debug``."""


@dataclass(frozen=True, kw_only=True)
class ProcessInfo:
    """The process being diagnosed with ``--pid`` / ``--env-file`` (plain data)."""

    pid: int | None = None
    source: str = "self"
    """``pid``, ``env-file`` or ``self``."""
    cmdline: tuple[str, ...] = ()
    started_at: _dt.datetime | None = None
    user: str | None = None
    home: str | None = None
    fs_root: str | None = None
    """``/proc/PID/root`` when the process is in another mount namespace (a container): its files are read there."""


@dataclass(frozen=True, kw_only=True)
class Context:
    env: Mapping[str, str]
    root: Path = Path("/")
    now: Callable[[], _dt.datetime] = utc_now
    options: Options = field(default_factory=Options)
    redactor: Redactor = field(default_factory=Redactor)
    process: ProcessInfo | None = None
    """Set when diagnosing another process (``--pid``) or an environment file (``--env-file``)."""
    _memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _memo_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """Run ``compute`` once per run and share its result between checks.

        Probes that several checks need (instance metadata, platform) go
        through here, so checks running concurrently never probe twice.
        """
        with self._memo_lock:
            slot = self._memo.get(key)
            if slot is None:
                slot = self._memo[key] = _Once()
        return cast(T, slot.get(compute))

    def path(self, absolute: str) -> Path:
        """Map an absolute system path (``/sys/...``) under :attr:`root`."""
        return self.root / absolute.lstrip("/")

    @property
    def home(self) -> Path:
        home = self.env.get("HOME") or self.env.get("USERPROFILE") or ""
        return Path(home) if home else Path(os.path.expanduser("~"))
