"""Run botocore's own code against the environment described by a :class:`Context`.

Several botocore providers read ``os.environ`` directly (web identity, the
config chain, ``~`` expansion through HOME), so the only faithful way to ask
botocore about another environment is to show it that environment.  This
module swaps ``os.environ`` under a process-wide lock while botocore code runs,
and does nothing when the context's environment already is this process's.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from tokendoctor.context import Context

#: Held while os.environ shows botocore another environment; re-entrant.
ENVIRON_LOCK = threading.RLock()
#: The process's own environment while an outermost swap is in progress (under ENVIRON_LOCK), so
#: :func:`restore_after_abandon` can put it back if that swap's thread was stopped inside its ``finally``.
_outer_saved: list[dict[str, str]] = []


@contextmanager
def botocore_environment(env: Mapping[str, str]) -> Iterator[None]:
    with ENVIRON_LOCK:
        if dict(env) == dict(os.environ):
            yield
            return
        saved = dict(os.environ)
        outer = not _outer_saved
        if outer:
            _outer_saved.append(saved)
        os.environ.clear()
        os.environ.update(env)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)
            if outer:
                _outer_saved.clear()


def restore_after_abandon(wait: float = 0.1) -> bool:
    """After the runner stopped threads at the deadline: if one was stopped mid-restore (its ``finally``
    cut short), put the process environment back.  True when it had to.  A thread still holding the lock
    (blocked in C past ``wait``) is left alone: it restores the environment itself when it ends."""
    if not ENVIRON_LOCK.acquire(timeout=wait):
        return False
    try:
        if not _outer_saved:
            return False
        os.environ.clear()
        os.environ.update(_outer_saved.pop())
        return True
    finally:
        ENVIRON_LOCK.release()


def botocore_files(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(setting, path)`` of every file botocore's default chain reads whole for this environment: the
    config and credentials files, ``AWS_CREDENTIAL_FILE`` and the boto config (names from botocore)."""
    import botocore.session
    from botocore.credentials import BotoProvider, OriginalEC2Provider

    with botocore_environment(env):
        session = botocore.session.Session()
        found = [
            ("config file", os.path.expanduser(session.get_config_variable("config_file"))),
            ("credentials file", os.path.expanduser(session.get_config_variable("credentials_file"))),
        ]
        if env.get(OriginalEC2Provider.CRED_FILE_ENV):
            found.append(
                (OriginalEC2Provider.CRED_FILE_ENV, os.path.expanduser(env[OriginalEC2Provider.CRED_FILE_ENV]))
            )
        boto = [env[BotoProvider.BOTO_CONFIG_ENV]] if env.get(BotoProvider.BOTO_CONFIG_ENV) else []
        for path in boto or BotoProvider.DEFAULT_CONFIG_FILENAMES:
            found.append(("boto config", os.path.expanduser(path)))
    return found


def unsafe_files_once(ctx: Context) -> list[tuple[str, str, str]]:
    """:func:`unsafe_files` for the context's environment, worked out once per run (the chain analysis, the IMDS
    settings and the keys check all ask before letting botocore read its files)."""
    return ctx.once("unsafe-files", lambda: unsafe_files(ctx.env))


def unsafe_files(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(setting, path, problem)`` for each file botocore would read that :mod:`tokendoctor.files` refuses
    (a FIFO, socket or device, a directory, or larger than the cap): botocore must not be let near them."""
    from tokendoctor import files

    out = []
    for setting, path in botocore_files(env):
        problem = files.problem(path, files.MAX_CONFIG_BYTES)
        if problem:
            out.append((setting, path, problem))
    return out
