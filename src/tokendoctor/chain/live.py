"""``--live``: ask STS who these credentials are, with botocore doing everything.

Entry point: :func:`probe` (memoised per run).  Credentials are resolved by
botocore's own default chain and the STS client is created by botocore's own
``Session.create_client``, inside the context's environment, so every endpoint
setting applies exactly as in the user's program (``AWS_ENDPOINT_URL_STS``,
``AWS_ENDPOINT_URL``, ``endpoint_url`` / ``[services]`` in the config,
``AWS_STS_REGIONAL_ENDPOINTS``, the region).

What is never done, even with ``--live``:

* no prompt: an assume-role profile with ``mfa_serial`` is refused, not asked
  for a code (botocore's default prompter is ``getpass``);
* no browser and no cache writes: botocore's SSO and login providers only read
  their token caches; the caches are wrapped so that a token refresh is never
  written back to ``~/.aws/sso/cache`` / ``~/.aws/login/cache``; the assume-role
  cache is botocore's in-memory default;
* no process: ``credential_process`` (directly or as a role's source) only with
  ``--allow-process``;
* no instance metadata unless the IMDS probe would run (``--imds``, or on EC2);
* no retries: one attempt, connect and read timeouts bounded by what is left of
  ``--timeout``.

The response's HTTP ``Date`` header (also on errors) is kept as a clock
reference, with the local time it was received.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tokendoctor.botocore_env import ENVIRON_LOCK, botocore_environment
from tokendoctor.chain.botocore_private import Refused, bound_answers, guard_live
from tokendoctor.chain.caches import BoundedJSONCache
from tokendoctor.context import Context
from tokendoctor.probes.bounded_process import bounded_popen
from tokendoctor.redact import first_line, mask_key, mask_then_truncate
from tokendoctor.timefmt import http_date, sigv4_time_message

#: Share of ``--timeout`` the live probe may spend, so the check reports before the run's deadline.
BUDGET_SHARE = 0.85
#: No STS, IAM or SSO answer tokendoctor asks for is near this; botocore would read any size whole.
MAX_ANSWER_BYTES = 1024 * 1024
#: botocore's RuntimeError when refreshing gave credentials that are already expired (env with a past
#: AWS_CREDENTIAL_EXPIRATION, a credential_process document with a past Expiration): itself the diagnosis.
STILL_EXPIRED = "refreshed credentials are still expired"
#: Safety net for test suites (tests/conftest.py sets it): no request leaves loopback.
LOOPBACK_ONLY_ENV = "TOKENDOCTOR_LIVE_LOOPBACK_ONLY"
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
INVALID_CODES = frozenset({"InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId"})
SKEW_CODES = frozenset({"RequestTimeTooSkewed", "RequestInTheFuture"})

_ASSUMED = re.compile(r"^arn:aws[\w-]*:sts::(\d{12}):assumed-role/([^/]+)/(.+)$")


@dataclass
class Call:
    """One STS/IAM exchange as botocore saw it."""

    status: str = "ok"
    """ok, expired, invalid, skewed, signature, network, denied, error, refused"""
    error_code: str | None = None
    message: str = ""
    http_status: int | None = None
    endpoint: str | None = None
    server_date: _dt.datetime | None = None
    received_at: _dt.datetime | None = None
    request_time: _dt.datetime | None = None
    server_time: _dt.datetime | None = None
    body: dict[str, Any] = field(default_factory=dict)
    region: str | None = None
    """The region botocore signed for."""


@dataclass
class StsProbe:
    ran: bool
    reason: str = ""
    stage: str | None = None
    """``resolve`` (botocore's chain itself failed, e.g. AssumeRole) or ``call`` (GetCallerIdentity)."""
    method: str | None = None
    access_key_id: str | None = None
    region: str | None = None
    call: Call | None = None
    account: str | None = None
    arn: str | None = None
    user_id: str | None = None
    role_name: str | None = None
    session_name: str | None = None
    max_session_duration: int | None = None
    max_session_duration_note: str | None = None
    source_arn: str | None = None
    """Identity of the credentials a role profile assumes FROM, when checked (role chaining)."""
    source_note: str | None = None


def probe(ctx: Context) -> StsProbe:
    """The live STS verdict for this run (computed once)."""
    return ctx.once("sts", lambda: _probe(ctx))


# ------------------------------------------------------------------- helpers


def loopback_only(ctx: Context) -> bool:
    """Read under botocore_env's lock, so a check that swapped ``os.environ`` meanwhile cannot hide the variable.
    Call it before entering :func:`botocore_environment` (the lock is re-entrant)."""
    with ENVIRON_LOCK:
        return os.environ.get(LOOPBACK_ONLY_ENV) == "1" or ctx.env.get(LOOPBACK_ONLY_ENV) == "1"


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_time_message(message: str) -> tuple[_dt.datetime | None, _dt.datetime | None]:
    """``(request_time, server_time)`` from a SigV4 time error message, or Nones."""
    found = sigv4_time_message(message)
    return (found[0], found[1]) if found else (None, None)


def classify(code: str | None, message: str) -> str:
    """The live status for an AWS error code and message (pure)."""
    if code in EXPIRED_CODES:
        return "expired"
    if code in INVALID_CODES:
        return "invalid"
    if code in SKEW_CODES:
        return "skewed"
    if code == "SignatureDoesNotMatch":
        return "skewed" if parse_time_message(message) != (None, None) else "signature"
    if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
        return "denied"
    return "error"


def _imds_allowed(ctx: Context) -> bool:
    if ctx.options.imds is not None:
        return ctx.options.imds
    from tokendoctor.probes.platform import detect

    return detect(ctx).on_ec2


def _guard(ctx: Context, resolver: Any, end: float) -> None:
    """Make the resolver non-interactive, read-only and within the user's permissions (``--allow-process``, IMDS)."""
    sso_cache = BoundedJSONCache(os.path.expanduser(os.path.join("~", ".aws", "sso", "cache")))
    try:
        from botocore.utils import get_login_token_cache_directory

        login_cache: Any = BoundedJSONCache(get_login_token_cache_directory())
    except ImportError:  # older botocore without the login provider
        login_cache = None
    refuse_imds = None
    if not _imds_allowed(ctx) and ctx.env.get("AWS_EC2_METADATA_DISABLED", "").lower() != "true":
        refuse_imds = "the credentials would need instance metadata, which is only queried on EC2 or with --imds"
    guard_live(
        resolver,
        refuse_imds=refuse_imds,
        refuse_process=not ctx.options.allow_process,
        sso_cache=sso_cache,
        login_cache=login_cache,
        popen=bounded_popen(ctx.env, timeout=max(end - time.monotonic(), 0.05)) if ctx.options.allow_process else None,
    )


class _Deadline:
    def __init__(self, ctx: Context) -> None:
        self.end = time.monotonic() + max(ctx.options.timeout * BUDGET_SHARE, 0.1)

    def left(self) -> float:
        return self.end - time.monotonic()

    def config(self, share: float = 0.5) -> Any:
        from botocore.config import Config

        each = max(self.left() * share, 0.05)
        return Config(
            connect_timeout=each,
            read_timeout=each,
            retries={"total_max_attempts": 1, "mode": "standard"},
            user_agent_extra="tokendoctor-live",
        )


def _hooks(ctx: Context, session: Any, calls: list[Call], guard: bool) -> None:
    """Record the endpoint, response Date and errors of every request botocore sends for us;
    with ``guard``, refuse any request that would leave loopback."""

    def before_send(request: Any, **_: Any) -> None:
        if guard and not _is_loopback(request.url):
            raise Refused(f"{urlsplit(request.url).hostname}: not loopback ({LOOPBACK_ONLY_ENV}=1)")
        calls.append(Call(endpoint=f"{urlsplit(request.url).scheme}://{urlsplit(request.url).netloc}"))

    def after_call(http_response: Any, parsed: Any, **_: Any) -> None:
        if not calls:
            return
        call = calls[-1]
        call.received_at = ctx.now()
        call.http_status = getattr(http_response, "status_code", None)
        headers = (parsed or {}).get("ResponseMetadata", {}).get("HTTPHeaders", {}) if isinstance(parsed, dict) else {}
        call.server_date = http_date(headers.get("date"))

    session.register("before-send", before_send)
    session.register("after-call", after_call)
    create = session.create_client

    def bounded_client(*args: Any, **kwargs: Any) -> Any:  # every client, also those botocore's providers make
        return bound_answers(create(*args, **kwargs), MAX_ANSWER_BYTES)

    session.create_client = bounded_client


def _error_call(ctx: Context, exc: BaseException, calls: list[Call]) -> Call:
    """Turn an exception raised by botocore into a :class:`Call` (redacted message)."""
    import botocore.exceptions as bex

    call = calls[-1] if calls else Call()
    if isinstance(exc, Refused):
        call.status, call.message = "refused", str(exc)
        return call
    if isinstance(exc, RuntimeError) and STILL_EXPIRED in str(exc):
        call.status = "expired"
        call.message = "botocore: " + first_line(mask_then_truncate(ctx.redactor, str(exc), 400))
        return call
    if isinstance(exc, bex.ClientError):
        err = exc.response.get("Error", {}) or {}
        call.error_code = str(err.get("Code") or "") or None
        call.message = mask_then_truncate(ctx.redactor, str(err.get("Message") or ""), 400)
        call.http_status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or call.http_status
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}) or {}
        call.server_date = call.server_date or http_date(headers.get("date"))
        call.status = classify(call.error_code, call.message)
        call.request_time, call.server_time = parse_time_message(call.message)
        return call
    network = (
        bex.EndpointConnectionError,
        bex.ConnectTimeoutError,
        bex.ReadTimeoutError,
        bex.ConnectionClosedError,
        bex.SSLError,
        bex.ProxyConnectionError,
        bex.HTTPClientError,
    )
    call.status = "network" if isinstance(exc, network) else "error"
    call.message = first_line(mask_then_truncate(ctx.redactor, f"{type(exc).__name__}: {exc}", 400))
    return call


# --------------------------------------------------------------------- probe


def _probe(ctx: Context) -> StsProbe:
    import botocore.session
    from botocore.credentials import create_credential_resolver

    deadline = _Deadline(ctx)
    calls: list[Call] = []
    result = StsProbe(ran=True)
    guard = loopback_only(ctx)
    with botocore_environment(ctx.env):
        try:
            session = botocore.session.Session(profile=ctx.options.profile)
            session.set_default_client_config(deadline.config())
            _hooks(ctx, session, calls, guard)
            result.region = session.get_config_variable("region")
            resolver = create_credential_resolver(session)
            _guard(ctx, resolver, deadline.end)
            creds = resolver.load_credentials()
            if creds is None:
                return StsProbe(ran=False, reason="no credentials resolved: nothing to verify")
            result.method = getattr(creds, "method", None)
            session.set_default_client_config(deadline.config())  # what is left after the resolution
            frozen = creds.get_frozen_credentials()
        except Exception as exc:  # noqa: BLE001 - whatever botocore raises (parser errors, RecursionError...) is data
            call = _error_call(ctx, exc, calls)
            if call.status == "refused":
                return StsProbe(ran=False, reason=call.message)
            result.stage, result.call = "resolve", call
            return result
        ctx.redactor.add(frozen.secret_key, frozen.token)
        result.access_key_id = mask_key(frozen.access_key)
        kwargs = {
            "aws_access_key_id": frozen.access_key,
            "aws_secret_access_key": frozen.secret_key,
            "aws_session_token": frozen.token,
        }
    result.stage = "call"
    result.call = _call(ctx, calls, _maker(ctx, session, "sts", deadline, kwargs), lambda c: c.get_caller_identity())
    result.region = result.call.region or result.region
    if result.call.status != "ok":
        return result
    body = result.call.body
    result.account, result.arn, result.user_id = body.get("Account"), body.get("Arn"), body.get("UserId")
    match = _ASSUMED.match(result.arn or "")
    if match:
        result.role_name, result.session_name = match[2], match[3]
        _max_session(ctx, result, session, deadline, kwargs, calls)
    return result


def _maker(
    ctx: Context, session: Any, service: str, deadline: _Deadline, kwargs: dict[str, Any], share: float = 0.5
) -> Any:
    """A client factory: ``make(region)`` is ``session.create_client`` in the context's environment."""

    def make(region: str | None) -> Any:
        with botocore_environment(ctx.env):
            return session.create_client(service, region_name=region, config=deadline.config(share), **kwargs)

    return make


def _call(ctx: Context, calls: list[Call], make: Any, operation: Any) -> Call:
    """Create the client and run ``operation(client)``; errors become a classified :class:`Call`.

    Without a region botocore signs for the global endpoint, except with a custom endpoint URL
    (AWS_ENDPOINT_URL_STS ...), where it raises NoRegionError: then sign for us-east-1, as the
    global endpoint does."""
    import botocore.exceptions as bex

    mark = len(calls)
    clients: list[Any] = []

    def run(region: str | None) -> Any:
        clients.append(make(region))
        return operation(clients[-1])

    try:
        try:
            body = run(None)
        except bex.NoRegionError:
            body = run("us-east-1")
    except Exception as exc:  # noqa: BLE001 - whatever botocore raises (parser errors, RecursionError...) is data
        call = _error_call(ctx, exc, calls if len(calls) > mark else [])
        if call.status == "refused":
            call.status = "error"
    else:
        call = calls[-1] if len(calls) > mark else Call()
        call.status = "ok"
        call.body = {k: v for k, v in body.items() if k != "ResponseMetadata"}
    call.region = clients[-1].meta.region_name if clients else None
    return call


def _max_session(
    ctx: Context, result: StsProbe, session: Any, deadline: _Deadline, kwargs: dict[str, Any], calls: list[Call]
) -> None:
    """``iam:GetRole`` for the role's MaxSessionDuration; AccessDenied is a note, not a problem."""
    if deadline.left() < 0.1:
        result.max_session_duration_note = "not read: no time left"
        return
    call = _call(
        ctx, calls, _maker(ctx, session, "iam", deadline, kwargs, 0.9), lambda c: c.get_role(RoleName=result.role_name)
    )
    if call.status == "ok":
        value = (call.body.get("Role") or {}).get("MaxSessionDuration")
        result.max_session_duration = int(value) if isinstance(value, int) else None
    elif call.status == "denied":
        result.max_session_duration_note = "iam:GetRole not permitted for these credentials"
    else:
        result.max_session_duration_note = f"not read: {call.error_code or call.message or call.status}"


def identify(ctx: Context, access_key: str, secret_key: str, token: str | None) -> Call:
    """GetCallerIdentity with explicit credentials (the source of a role profile), same endpoint rules."""
    import botocore.exceptions as bex
    import botocore.session

    deadline = _Deadline(ctx)
    calls: list[Call] = []
    guard = loopback_only(ctx)
    ctx.redactor.add(secret_key, token)
    kwargs = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key, "aws_session_token": token}
    with botocore_environment(ctx.env):
        try:
            session = botocore.session.Session(profile=ctx.options.profile)
            _hooks(ctx, session, calls, guard)
        except (bex.BotoCoreError, ValueError) as exc:
            return _error_call(ctx, exc, calls)
    return _call(ctx, calls, _maker(ctx, session, "sts", deadline, kwargs), lambda c: c.get_caller_identity())
