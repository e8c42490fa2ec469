"""The in-process botocore hook: what a program's own clients hold, told when AWS rejects them.

``tokendoctor run`` turns it on in Python children (a ``sitecustomize`` on
``PYTHONPATH``); a program can turn it on itself::

    import tokendoctor.hook
    tokendoctor.hook.install()

It wraps ``botocore.session.Session.create_client`` (there is no public event for
"a client was created") and registers handlers on each client's own event
emitter (``after-call``, ``after-call-error``: botocore's public events).  Per
client it notes when it was created, in which process, and its credentials
object (kind, provider method, expiry; read without refreshing, see
:mod:`tokendoctor.chain.botocore_private`); a refreshable object's refresher is
observed (attempts, failures).  When a call fails with an ExpiredToken-family
error (as :func:`tokendoctor.explain.explain` classifies it) it sends ONE masked
JSON record per client: appended to the file named by ``TOKENDOCTOR_HOOK_LOG``
(set by ``tokendoctor run``), else logged as a warning on the
``tokendoctor.hook`` logger.

Safety: it never calls AWS, never refreshes, never retries, and never raises
into the program (every handler swallows its own errors).  Until botocore is
imported it is one entry on ``sys.meta_path`` that only ever answers for
``botocore.session``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import hashlib
import json
import os
import sys
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

from tokendoctor.timefmt import iso

ENV_LOG = "TOKENDOCTOR_HOOK_LOG"
"""File the records are appended to (JSON lines); set by ``tokendoctor run``."""
RECORD_VERSION = 1
MAX_RECORDS = 64
"""Records one process sends at most (one per client already; this bounds programs that make thousands)."""
MAX_RECORD_BYTES = 8192
_WATCHED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
)
_FLAG = "__tokendoctor_hook__"

_lock = threading.Lock()
_state: dict[str, Any] = {"installed": False, "sent": 0, "original": None}


def _now() -> str | None:
    return iso(_dt.datetime.now(_dt.timezone.utc))


def _environment_fingerprint() -> dict[str, str]:
    """A digest per watched variable and config file (values never leave the process)."""
    out: dict[str, str] = {}
    for name in _WATCHED_ENV:
        value = os.environ.get(name)
        out[name] = hashlib.sha256(value.encode()).hexdigest()[:16] if value is not None else "-"
    home = os.path.expanduser("~")
    for name, default in (("AWS_CONFIG_FILE", "config"), ("AWS_SHARED_CREDENTIALS_FILE", "credentials")):
        path = os.path.expanduser(os.environ.get(name) or os.path.join(home, ".aws", default))
        try:
            out[f"file:{default}"] = str(os.stat(path).st_mtime_ns)
        except OSError:
            out[f"file:{default}"] = "-"
    return out


@dataclass
class _Refreshes:
    attempts: int = 0
    failures: int = 0
    last_attempt_at: str | None = None
    last_error: str | None = None
    clients: int = 0
    owners: list[Any] = field(default_factory=list)
    """Weak references to the clients using these credentials (a failed refresh is reported for the first)."""


@dataclass
class _Client:
    service: str
    region: str | None
    created_at: str | None
    created_pid: int
    credentials: Any  # a weak reference to the credentials object (or None)
    fingerprint: dict[str, str]
    reported: bool = False
    errors: int = 0
    refreshes: _Refreshes = field(default_factory=_Refreshes)


_REFRESHES: weakref.WeakKeyDictionary[Any, _Refreshes] = weakref.WeakKeyDictionary()


def _refreshes_for(creds: Any) -> _Refreshes:
    from tokendoctor.chain.botocore_private import wrap_refresher

    with _lock:
        stats = _REFRESHES.get(creds)
        if stats is None:
            stats = _REFRESHES[creds] = _Refreshes()
            wrap_refresher(creds, functools.partial(_observe_refresh, stats))
        stats.clients += 1
    return stats


def _observe_refresh(stats: _Refreshes, started: float, error: BaseException | None) -> None:
    """Called by the wrapped refresher (never raises: botocore_private guards it)."""
    stats.attempts += 1
    stats.last_attempt_at = iso(_dt.datetime.fromtimestamp(started, _dt.timezone.utc))
    if error is None:
        return
    stats.failures += 1
    stats.last_error = f"{type(error).__name__}: {error}"[:2000]
    # botocore may swallow it (advisory refresh) and log it: tell the parent now, before that log line
    owner = next((c for c in (ref() for ref in stats.owners) if c is not None), None)
    if owner is not None:
        text = f"{type(error).__module__}.{type(error).__name__}: {error}"
        _on_error(owner, text, operation=None, status=None, refresh_failure=True)


def _watch(client: Any) -> None:
    from tokendoctor.chain.botocore_private import client_credentials

    creds = client_credentials(client)
    try:
        ref = weakref.ref(creds) if creds is not None else None
    except TypeError:
        ref = None
    meta = client.meta
    record = _Client(
        service=meta.service_model.service_name,
        region=meta.region_name,
        created_at=_now(),
        created_pid=os.getpid(),
        credentials=ref,
        fingerprint=_environment_fingerprint(),
        refreshes=_refreshes_for(creds) if ref is not None else _Refreshes(),
    )
    record.refreshes.owners.append(weakref.ref(record))

    def after_call(http_response: Any = None, parsed: Any = None, model: Any = None, **_: Any) -> None:
        try:
            if (
                http_response is None
                or getattr(http_response, "status_code", 200) < 300
                or not isinstance(parsed, dict)
            ):
                return
            error = parsed.get("Error") or {}
            code, message = str(error.get("Code") or ""), str(error.get("Message") or "")
            operation = getattr(model, "name", "?")
            text = f"An error occurred ({code}) when calling the {operation} operation: {message}"
            _on_error(record, text, operation=operation, status=http_response.status_code)
        except Exception:  # noqa: BLE001 - never raise into the program
            pass

    def after_call_error(exception: BaseException | None = None, **kwargs: Any) -> None:
        try:
            if exception is None:
                return
            text = f"{type(exception).__module__}.{type(exception).__name__}: {exception}"
            _on_error(record, text, operation=None, status=None)
        except Exception:  # noqa: BLE001 - never raise into the program
            pass

    events = meta.events
    events.register("after-call", after_call, unique_id="tokendoctor-hook-after-call")
    events.register("after-call-error", after_call_error, unique_id="tokendoctor-hook-after-call-error")


def _on_error(
    client: _Client, text: str, *, operation: str | None, status: int | None, refresh_failure: bool = False
) -> None:
    from tokendoctor.explain import explain

    facts = explain(text).error
    if facts.category is None and not refresh_failure:
        return
    with _lock:
        client.errors += 1
        if client.reported or _state["sent"] >= MAX_RECORDS:
            return
        client.reported = True
        _state["sent"] += 1
    _send(_record(client, facts.to_dict(), operation, status, "refresh-failed" if refresh_failure else "call-failed"))


def _record(
    client: _Client, error: dict[str, Any], operation: str | None, status: int | None, trigger: str
) -> dict[str, Any]:
    from tokendoctor.chain.botocore_private import inspect_credentials
    from tokendoctor.inprocess import describe
    from tokendoctor.redact import Redactor

    creds = client.credentials() if client.credentials is not None else None
    seen = inspect_credentials(creds)
    redactor = Redactor()
    credentials: dict[str, Any] | None = None
    if seen is not None:
        redactor.add(*seen.secrets)
        stats = client.refreshes
        refresh = {
            "attempts": stats.attempts,
            "failures": stats.failures,
            "last_attempt_at": stats.last_attempt_at,
            "last_error": stats.last_error,
        }
        credentials = describe(seen, refresh, stats.clients)
    now = _environment_fingerprint()
    changed = sorted(k for k, v in now.items() if client.fingerprint.get(k) != v)
    record: dict[str, Any] = {
        "v": RECORD_VERSION,
        "event": "aws-error",
        "trigger": trigger,
        "at": _now(),
        "pid": os.getpid(),
        "client": {
            "service": client.service,
            "region": client.region,
            "created_at": client.created_at,
            "created_pid": client.created_pid,
        },
        "credentials": credentials,
        "error": {
            "family": error.get("family"),
            "category": error.get("category"),
            "code": error.get("code"),
            "message": error.get("message"),
            "operation": operation or error.get("operation"),
            "http_status": status,
        },
        "forked": client.created_pid != os.getpid(),
        "changed_since_created": changed,
    }
    from tokendoctor.explain import scrub

    def clean(value: str | None) -> str | None:
        return redactor.redact(scrub(value)) if value else value

    record["error"]["message"] = clean(record["error"]["message"])
    if credentials is not None:
        credentials["refresh"]["last_error"] = clean(credentials["refresh"]["last_error"])
    return record


def _send(record: dict[str, Any]) -> None:
    line = json.dumps(record, separators=(",", ":"))
    if len(line) >= MAX_RECORD_BYTES:
        record["error"]["message"] = (record["error"].get("message") or "")[:200]
        if record.get("credentials"):
            record["credentials"]["refresh"]["last_error"] = (record["credentials"]["refresh"]["last_error"] or "")[
                :200
            ]
        line = json.dumps(record, separators=(",", ":"))[: MAX_RECORD_BYTES - 1]
    path = os.environ.get(ENV_LOG)
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        return
    import logging

    logging.getLogger("tokendoctor.hook").warning("tokendoctor: %s", line)


def _patch(session_module: ModuleType) -> None:
    cls = session_module.Session
    original = cls.create_client
    if getattr(original, _FLAG, False):
        return

    @functools.wraps(original)
    def create_client(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = original(self, *args, **kwargs)
        with contextlib.suppress(Exception):  # never raise into the program
            _watch(client)
        return client

    setattr(create_client, _FLAG, True)
    cls.create_client = create_client
    _state["original"] = original


def find_and_patch(
    fullname: str, path: Sequence[str] | None, target: ModuleType | None = None, skip: object = None
) -> ModuleSpec | None:
    """The spec of ``botocore.session`` from the other finders, its loader set to patch the module
    once it is executed (for a meta path finder; ``skip`` is the calling finder).  Marks the hook
    installed."""
    _state["installed"] = True
    for finder in list(sys.meta_path):
        if finder is skip or isinstance(finder, _Finder) or not hasattr(finder, "find_spec"):
            continue
        spec = finder.find_spec(fullname, path, target)
        if spec is None:
            continue
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            _wrap_exec(spec.loader)
        return spec
    return None


class _Finder(MetaPathFinder):
    """Answers only for ``botocore.session``: lets the real finder load it, then patches it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "botocore.session":
            return None
        return find_and_patch(fullname, path, target, skip=self)


def _wrap_exec(loader: Any) -> None:
    original = loader.exec_module

    def exec_module(module: ModuleType) -> None:
        original(module)
        with contextlib.suppress(AttributeError):
            del loader.exec_module  # back to the class's method
        with contextlib.suppress(Exception):  # never break the import
            _patch(module)

    loader.exec_module = exec_module


def install() -> bool:
    """Turn the hook on in this process (idempotent).  Never raises; False when it could not."""
    try:
        with _lock:
            if _state["installed"]:
                return True
            _state["installed"] = True
        module = sys.modules.get("botocore.session")
        if module is not None:
            _patch(module)
        else:
            sys.meta_path.insert(0, _Finder())
        return True
    except Exception:  # noqa: BLE001
        return False


def uninstall() -> None:
    """Undo :func:`install` for new clients (benchmarks and tests); clients already watched stay watched."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]
    module = sys.modules.get("botocore.session")
    if module is not None and _state["original"] is not None:
        module.Session.create_client = _state["original"]
    _state.update(installed=False, original=None)


__all__ = ["ENV_LOG", "find_and_patch", "install", "uninstall"]
