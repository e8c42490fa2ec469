"""Every private botocore attribute tokendoctor reads, in one place (tests/test_hook.py checks they exist).

botocore has no public way to see a client's credentials object or a refreshable
object's expiry without triggering a refresh (``RefreshableCredentials.access_key``
refreshes).  These helpers read the attributes as they are, never refresh, never
raise, and return ``None`` when botocore changed shape.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: botocore credential classes by how they behave (``kind`` in hook records and the API).
KIND_STATIC = "static"
KIND_REFRESHABLE = "refreshable"
KIND_DEFERRED = "deferred"


@dataclass(frozen=True, kw_only=True)
class CredentialPeek:
    """What a credentials object holds right now, read without refreshing it.  Secrets stay in
    :attr:`secrets` (for a redactor only); everything else is safe to show once the key is masked."""

    kind: str
    class_name: str
    method: str | None
    access_key: str | None
    has_token: bool
    expiry: _dt.datetime | None
    secrets: tuple[str, ...]


def client_credentials(client: Any) -> Any:
    """The credentials object a client signs with (``client._request_signer._credentials``)."""
    signer = getattr(client, "_request_signer", None)
    return getattr(signer, "_credentials", None)


def session_credentials(session: Any) -> Any:
    """The credentials a botocore session already resolved (``session._credentials``), without resolving."""
    return getattr(session, "_credentials", None)


def botocore_session_of(session: Any) -> Any:
    """The botocore session behind a boto3 ``Session`` (``session._session``), or the argument itself."""
    return getattr(session, "_session", session)


def peek(creds: Any) -> CredentialPeek | None:
    """Read a credentials object without refreshing it; ``None`` for anything that is not one."""
    try:
        from botocore.credentials import (  # type: ignore[import-untyped]
            Credentials,
            DeferredRefreshableCredentials,
            RefreshableCredentials,
        )
    except ImportError:  # pragma: no cover - botocore is a dependency
        return None
    if not isinstance(creds, Credentials):
        return None
    if isinstance(creds, RefreshableCredentials):
        kind = KIND_DEFERRED if isinstance(creds, DeferredRefreshableCredentials) else KIND_REFRESHABLE
        access, secret, token = (getattr(creds, a, None) for a in ("_access_key", "_secret_key", "_token"))
        expiry = getattr(creds, "_expiry_time", None)
    else:
        kind = KIND_STATIC
        access, secret, token = creds.access_key, creds.secret_key, creds.token
        expiry = None
    return CredentialPeek(
        kind=kind,
        class_name=type(creds).__name__,
        method=getattr(creds, "method", None),
        access_key=access if isinstance(access, str) else None,
        has_token=bool(token),
        expiry=expiry if isinstance(expiry, _dt.datetime) else None,
        secrets=tuple(s for s in (secret, token) if isinstance(s, str) and s),
    )


def wrap_refresher(creds: Any, observe: Callable[[float, BaseException | None], None]) -> bool:
    """Let ``observe(started, error)`` see each call of a refreshable object's refresher
    (``_refresh_using``).  The refresher runs exactly as before: same arguments, same result,
    the same exception re-raised.  Returns False when there is nothing to wrap."""
    import time

    original = getattr(creds, "_refresh_using", None)
    if not callable(original) or getattr(original, "__tokendoctor_wrapped__", False):
        return False

    def refresh_using(*args: Any, **kwargs: Any) -> Any:
        started = time.time()
        try:
            result = original(*args, **kwargs)
        except BaseException as exc:
            _safe(observe, started, exc)
            raise
        _safe(observe, started, None)
        return result

    refresh_using.__tokendoctor_wrapped__ = True  # type: ignore[attr-defined]
    try:
        creds._refresh_using = refresh_using
    except Exception:  # noqa: BLE001 - a read-only object: leave it alone
        return False
    return True


def _safe(observe: Callable[[float, BaseException | None], None], started: float, error: BaseException | None) -> None:
    try:
        observe(started, error)
    except Exception:  # noqa: BLE001 - an observer never breaks the program's refresh
        pass


__all__ = [
    "CredentialPeek",
    "botocore_session_of",
    "client_credentials",
    "peek",
    "session_credentials",
    "wrap_refresher",
]
