"""Every use of a private botocore attribute, in one place.

tokendoctor asks botocore's own providers what they would do, but must stop them before a side
effect (a process, the network, a prompt, a cache write) and must read credentials objects without
refreshing them.  botocore has public hooks for part of that (``ProcessProvider(popen=)``); the rest
needs private attributes.  :data:`PRIVATE_ATTRIBUTES` names each one; ``tests/test_botocore_private.py``
asserts they all still exist on the installed botocore, so an upgrade fails one clear test instead of
silently changing a diagnosis.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: (botocore class, attribute) pairs this module reads or replaces.
PRIVATE_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("ContainerProvider", "_retrieve_or_fail"),
    ("ContainerMetadataFetcher", "_validate_allowed_url"),
    ("ProcessProvider", "_popen"),
    ("AssumeRoleProvider", "_profile_provider_builder"),
    ("AssumeRoleProvider", "_load_config"),
    ("AssumeRoleProvider", "_prompter"),
    ("ProfileProviderBuilder", "_create_process_provider"),
    ("ProfileProviderBuilder", "_sso_token_cache"),
    ("ProfileProviderBuilder", "_login_token_cache"),
    ("SSOProvider", "_token_cache"),
    ("SSOProvider", "_token_provider"),
    ("SSOTokenProvider", "_cache"),
    ("SSOTokenProvider", "_token_loader"),
    ("LoginProvider", "_token_cache"),
    ("RefreshableCredentials", "_access_key"),
    ("RefreshableCredentials", "_token"),
    ("RefreshableCredentials", "_expiry_time"),
    ("RefreshableCredentials", "_refresh_using"),
    ("RefreshableCredentials", "_secret_key"),
    ("BaseClient", "_request_signer"),
    ("RequestSigner", "_credentials"),
    ("Session", "_credentials"),
    ("boto3.Session", "_session"),
    ("CachedCredentialFetcher", "_cache_key"),
    ("JSONFileCache", "_convert_cache_key"),
    ("BaseClient", "_endpoint"),
    ("Endpoint", "http_session"),
    ("AWSResponse", "_content"),
    ("botocore.credentials", "_DEFAULT_ADVISORY_REFRESH_TIMEOUT"),
    ("botocore.credentials", "_DEFAULT_MANDATORY_REFRESH_TIMEOUT"),
)


class Refused(Exception):
    """Raised instead of a side effect (subprocess, network, prompt) that the user did not allow."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def refuse(what: str) -> Callable[..., Any]:
    def _raise(*_args: object, **_kwargs: object) -> Any:
        raise Refused(what)

    return _raise


def _refusing_process_provider(provider: Any, what: str) -> Callable[..., Any]:
    """A ``create_process_provider`` for a role's source profile whose ``credential_process`` is refused."""
    return _process_provider_with(provider, refuse(what))


def _process_provider_with(provider: Any, popen: Callable[..., Any]) -> Callable[..., Any]:
    """A ``create_process_provider`` for a role's source profile that runs ``credential_process`` with ``popen``."""
    from botocore.credentials import ProcessProvider

    load_config = provider._load_config

    def _process(profile_name: str, _lc: Any = load_config) -> Any:
        return ProcessProvider(profile_name=profile_name, load_config=_lc, popen=popen)

    return _process


def guard_offline(providers: list[Any]) -> None:
    """Make every side-effecting path of these providers raise :class:`Refused` (the static analysis)."""
    for provider in providers:
        method = provider.METHOD
        if method == "iam-role":
            provider.load = refuse(method)
        elif method == "container-role":
            provider._retrieve_or_fail = refuse(method)
        elif method == "custom-process":
            provider._popen = refuse(method)
        elif method == "assume-role":
            builder = getattr(provider, "_profile_provider_builder", None)
            if builder is not None:
                builder._create_process_provider = _refusing_process_provider(provider, "custom-process")


def guard_live(
    resolver: Any,
    *,
    refuse_imds: str | None,
    refuse_process: bool,
    sso_cache: Any,
    login_cache: Any | None,
    popen: Callable[..., Any] | None = None,
) -> None:
    """Make a resolver used for real (``--live``) non-interactive and read-only: no prompt, no cache
    writes, no instance metadata when ``refuse_imds`` gives the reason, no process when ``refuse_process``."""

    def _guard_sso(provider: Any) -> None:
        provider._token_cache = sso_cache
        token_provider = getattr(provider, "_token_provider", None)
        if token_provider is not None:
            from botocore.utils import SSOTokenLoader

            token_provider._cache = sso_cache
            token_provider._token_loader = SSOTokenLoader(cache=sso_cache)

    for provider in resolver.providers:
        method = provider.METHOD
        if method == "iam-role" and refuse_imds is not None:
            provider.load = refuse(refuse_imds)
        elif method == "custom-process" and refuse_process:
            provider._popen = refuse("credential_process is only run with --allow-process")
        elif method == "custom-process" and popen is not None:
            provider._popen = popen
        elif method == "sso":
            _guard_sso(provider)
        elif method == "login" and login_cache is not None:
            provider._token_cache = login_cache
        elif method == "assume-role":
            provider._prompter = refuse("the role profile needs an MFA code (mfa_serial); tokendoctor never prompts")
            builder = getattr(provider, "_profile_provider_builder", None)
            if builder is None:
                continue
            builder._sso_token_cache = sso_cache
            if login_cache is not None:
                builder._login_token_cache = login_cache
            if refuse_process:
                builder._create_process_provider = _refusing_process_provider(
                    provider, "the role's source profile uses credential_process; run with --allow-process"
                )
            elif popen is not None:
                builder._create_process_provider = _process_provider_with(provider, popen)
            original = builder.providers

            def _providers(profile_name: str, disable_env_vars: bool = False, _orig: Any = original) -> Any:
                made = _orig(profile_name=profile_name, disable_env_vars=disable_env_vars)
                for p in made:
                    if p.METHOD == "sso":
                        _guard_sso(p)
                return made

            builder.providers = _providers


def peek(creds: Any) -> tuple[str | None, str | None, _dt.datetime | None]:
    """Access key, token and expiry of a botocore credentials object, without refreshing it."""
    if creds is None:
        return None, None, None
    values = vars(creds)
    if "_access_key" in values or "_refresh_using" in values:
        return values.get("_access_key"), values.get("_token"), values.get("_expiry_time")
    return values.get("access_key"), values.get("token"), None


def peekable(access_key: str | None, has_token: bool, expires_at: Any) -> Any:
    """An object :func:`peek` reads like a RefreshableCredentials (no secret in it)."""
    from types import SimpleNamespace

    return SimpleNamespace(_access_key=access_key, _token=True if has_token else None, _expiry_time=expires_at)


def cli_cache_key(creds: Any) -> str | None:
    """The key under which the AWS CLI / botocore cache an assumed-role session (``~/.aws/cli/cache/KEY.json``)."""
    refresh = getattr(creds, "_refresh_using", None)
    fetcher = getattr(refresh, "__self__", None)
    key = getattr(fetcher, "_cache_key", None)
    return key if isinstance(key, str) and key else None


def refresh_windows() -> dict[str, int]:
    """botocore's own refresh windows (seconds before expiry, by the local clock): RefreshableCredentials
    tries a refresh inside ``advisory`` and requires one inside ``mandatory``; the assume-role cache
    treats a cached session as expired inside ``assume_role_cache``."""
    import botocore.credentials as bc

    return {
        "advisory": int(bc._DEFAULT_ADVISORY_REFRESH_TIMEOUT),
        "mandatory": int(bc._DEFAULT_MANDATORY_REFRESH_TIMEOUT),
        "assume_role_cache": int(bc.AssumeRoleProvider.EXPIRY_WINDOW_SECONDS),
    }


# ---------------------------------------------------------------- a running program's own objects (the hook, the API)

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


def inspect_credentials(creds: Any) -> CredentialPeek | None:
    """Read a credentials object without refreshing it; ``None`` for anything that is not one."""
    try:
        from botocore.credentials import (
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
    with contextlib.suppress(Exception):  # an observer never breaks the program's refresh
        observe(started, error)


def container_url_refusal(full_url: str) -> str | None:
    """botocore's own verdict on a container credentials URL (its host allow-list), without any request:
    the ``Unsupported host ...`` message it would raise, or None when it would fetch from it."""
    from botocore.utils import ContainerMetadataFetcher

    fetcher = ContainerMetadataFetcher(session=object())  # never used: only the URL is validated
    try:
        fetcher._validate_allowed_url(full_url)
    except ValueError as exc:
        return str(exc)
    return None


def cache_file(cache: Any, key: str) -> str:
    """The file a botocore ``JSONFileCache`` keeps ``key`` in (botocore's own naming)."""
    return str(cache._convert_cache_key(key))


class AnswerTooLarge(OSError):
    """An AWS answer larger than the cap: not read any further."""


class _BoundedHTTPSession:
    """Wraps a client's HTTP session: the body is streamed with a cap instead of read whole by botocore."""

    def __init__(self, inner: Any, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    def send(self, request: Any) -> Any:
        request.stream_output = True  # botocore then leaves the body unread: we read it, bounded
        response = self._inner.send(request)
        declared = str(response.headers.get("content-length") or "")
        if declared.isdigit() and int(declared) > self._limit:
            response.raw.close()
            raise AnswerTooLarge(f"the answer declares {declared} bytes, more than {self._limit}; not read")
        body = bytearray()
        for chunk in response.raw.stream(65536):
            body.extend(chunk)
            if len(body) > self._limit:
                response.raw.close()
                raise AnswerTooLarge(f"the answer is larger than {self._limit} bytes; not read further")
        response._content = bytes(body)
        return response

    def close(self) -> None:
        self._inner.close()


def bound_answers(client: Any, limit: int) -> Any:
    """Make ``client`` read every answer with a cap of ``limit`` bytes (botocore reads bodies whole)."""
    endpoint = client._endpoint
    if not isinstance(endpoint.http_session, _BoundedHTTPSession):
        endpoint.http_session = _BoundedHTTPSession(endpoint.http_session, limit)
    return client
