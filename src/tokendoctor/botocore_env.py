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

#: Held while os.environ shows botocore another environment; re-entrant.
ENVIRON_LOCK = threading.RLock()


@contextmanager
def botocore_environment(env: Mapping[str, str]) -> Iterator[None]:
    with ENVIRON_LOCK:
        if dict(env) == dict(os.environ):
            yield
            return
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)
