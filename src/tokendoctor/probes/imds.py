"""The EC2 instance metadata service (IMDS), probed the way botocore would reach it.

Entry point: :func:`probe`, memoised per run through ``ctx.once("imds", ...)``
and shared by the imds check, the credential chain and the clock check.

Settings (endpoint, endpoint mode, v1-disabled, timeout, attempts) come from
botocore's own config chain for the context's environment; only
``AWS_EC2_METADATA_DISABLED`` is read from the environment directly, because
that is what botocore does.  The probe runs only on EC2, when an endpoint is
configured explicitly, or with ``--imds``; never with ``--no-imds``,
``--offline`` or ``AWS_EC2_METADATA_DISABLED=true``.

The credential document is read RAW: botocore extends expired instance
credentials by 15-25 minutes ("static stability") and would hide a role whose
rotation stopped.  Secrets in it are registered with the run's redactor at
once and never leave this module.
"""

from __future__ import annotations

import datetime as _dt
import time
from dataclasses import dataclass, field
from typing import Any

from tokendoctor import files
from tokendoctor.context import Context
from tokendoctor.probes import http
from tokendoctor.redact import mask_key, mask_then_truncate
from tokendoctor.timefmt import http_date, iso

METADATA_BASE_URL = "http://169.254.169.254/"
METADATA_BASE_URL_IPV6 = "http://[fd00:ec2::254]/"
TOKEN_PATH = "latest/api/token"
ROLE_PATH = "latest/meta-data/iam/security-credentials/"
INFO_PATH = "latest/meta-data/iam/info"
IDENTITY_PATH = "latest/dynamic/instance-identity/document"
TOKEN_TTL = "21600"
#: IMDS replaces role credentials at least this long before they expire.
ROTATION_WINDOW_SECONDS = 5 * 60
#: Share of ``--timeout`` the probe may spend, so the check reports before the run's deadline.
BUDGET_SHARE = 0.7
REQUIRED_FIELDS = ("AccessKeyId", "SecretAccessKey", "Token", "Expiration")
#: Most attempts tokendoctor itself sends per request, whatever metadata_service_num_attempts says
#: (botocore's default is 1; AWS_METADATA_SERVICE_NUM_ATTEMPTS=999999 once meant 1,400 requests in 2 s).
MAX_ATTEMPTS = 5


@dataclass(frozen=True, kw_only=True)
class ImdsSettings:
    """botocore's IMDS configuration for this environment and profile."""

    endpoint: str
    endpoint_source: str
    """``AWS_EC2_METADATA_SERVICE_ENDPOINT``/config (``explicit``), ``ipv6`` mode or ``default``."""
    explicit: bool
    endpoint_mode: str
    v1_disabled: bool
    timeout: float
    num_attempts: int
    disabled_by_env: bool
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "endpoint_source": self.endpoint_source,
            "endpoint_mode": self.endpoint_mode,
            "v1_disabled": self.v1_disabled,
            "timeout_seconds": self.timeout,
            "num_attempts": self.num_attempts,
            "disabled_by_env": self.disabled_by_env,
            **({"problem": self.problem} if self.problem else {}),
        }


@dataclass(frozen=True, kw_only=True)
class RoleCredentials:
    """The raw credential document, minus its secrets."""

    code: str | None
    type: str | None
    last_updated: str | None
    expiration: str | None
    expires_at: _dt.datetime | None
    access_key_id: str | None
    """Masked."""
    has_token: bool
    missing_fields: tuple[str, ...] = ()
    raw_access_key_id: str | None = field(default=None, repr=False)
    """Unmasked, only for the credential chain's own masking; never put into output."""
    raw_token_present: bool = False

    @property
    def complete(self) -> bool:
        return not self.missing_fields

    def seconds_remaining(self, now: _dt.datetime) -> int | None:
        return int((self.expires_at - now).total_seconds()) if self.expires_at else None

    def to_dict(self, now: _dt.datetime) -> dict[str, Any]:
        return {
            "code": self.code,
            "type": self.type,
            "last_updated": self.last_updated,
            "expiration": self.expiration,
            "seconds_remaining": self.seconds_remaining(now),
            "access_key_id": self.access_key_id,
            "missing_fields": list(self.missing_fields),
        }


@dataclass(frozen=True, kw_only=True)
class ImdsProbe:
    """What instance metadata said, as plain data.  Shared through ``ctx.once("imds", ...)``."""

    ran: bool
    reason: str
    """Why it ran (``platform is ec2``, ``endpoint configured``, ``--imds``) or why not."""
    settings: ImdsSettings | None = None
    token: str = "not-tried"
    """IMDSv2 token PUT: ``ok``, ``refused`` (403/404/405), ``timeout``, ``unreachable``, ``error``, ``not-tried``."""
    token_http_status: int | None = None
    v1: str = "not-tried"
    """A plain GET without a token: ``ok``, ``disabled`` (401), ``timeout``, ``unreachable``, ``error``,
    ``not-tried``."""
    reachable: bool = False
    role_status: str = "not-tried"
    """``ok``, ``none`` (404 / empty listing), ``error``, ``not-tried``."""
    role_name: str | None = None
    instance_profile_arn: str | None = None
    credentials: RoleCredentials | None = None
    credentials_status: str = "not-tried"
    """``ok``, ``not-success`` (Code != Success), ``incomplete``, ``not-json``, ``http-<n>``, ``redirect``,
    ``too-large``, ``timeout``, ``unreachable``, ``error``, ``not-tried``."""
    region: str | None = None
    availability_zone: str | None = None
    instance_id: str | None = None
    account_id: str | None = None
    server_date: _dt.datetime | None = None
    date_offset_seconds: float | None = None
    """Local clock minus the IMDS ``Date`` header, seconds (1 s resolution); None when unknown."""
    problems: tuple[tuple[str, str], ...] = ()
    """(path, what was wrong) for every garbage or failed response."""
    botocore_outcome: str = "not-tried"
    """What botocore's iam-role provider would do with this: ``credentials``, ``none`` or ``error``."""
    requests: int = 0
    elapsed_ms: int = 0

    def to_dict(self, now: _dt.datetime) -> dict[str, Any]:
        return {
            "probed": self.ran,
            "reason": self.reason,
            "settings": self.settings.to_dict() if self.settings else None,
            "token": self.token,
            "token_http_status": self.token_http_status,
            "v1": self.v1,
            "reachable": self.reachable,
            "role_status": self.role_status,
            "role_name": self.role_name,
            "instance_profile_arn": self.instance_profile_arn,
            "credentials_status": self.credentials_status,
            "credentials": self.credentials.to_dict(now) if self.credentials else None,
            "region": self.region,
            "availability_zone": self.availability_zone,
            "instance_id": self.instance_id,
            "account_id": self.account_id,
            "server_date": iso(self.server_date),
            "date_header_offset_seconds": self.date_offset_seconds,
            "problems": [{"path": p, "problem": what} for p, what in self.problems],
            "botocore_outcome": self.botocore_outcome,
            "requests": self.requests,
            "elapsed_ms": self.elapsed_ms,
        }


# ------------------------------------------------------------------ settings


def read_settings(ctx: Context) -> ImdsSettings:
    """botocore's IMDS settings for the context's environment (and ``--profile``)."""
    from tokendoctor.botocore_env import botocore_environment

    with botocore_environment(ctx.env):
        return _read_settings(ctx)


def _read_settings(ctx: Context) -> ImdsSettings:
    import botocore.exceptions
    import botocore.session
    from botocore.utils import resolve_imds_endpoint_mode

    from tokendoctor.botocore_env import unsafe_files_once

    disabled = ctx.env.get("AWS_EC2_METADATA_DISABLED", "false").lower() == "true"
    problem = None
    session = botocore.session.Session(profile=ctx.options.profile)
    try:
        unsafe = unsafe_files_once(ctx)
        if unsafe:  # botocore would read a FIFO, a device or a huge file whole
            raise ValueError(f"{unsafe[0][1]} {unsafe[0][2]}")
        get = session.get_config_variable
        endpoint = get("ec2_metadata_service_endpoint")
        timeout, attempts = get("metadata_service_timeout"), get("metadata_service_num_attempts")
        v1_disabled = bool(get("ec2_metadata_v1_disabled"))
    except (botocore.exceptions.BotoCoreError, ValueError, TypeError) as exc:
        # An unreadable config or a missing profile is the credentials check's finding;
        # fall back to the environment-only view.
        problem = f"config not readable ({type(exc).__name__}); using environment settings only"
        session = botocore.session.Session()
        endpoint = ctx.env.get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        timeout, attempts, v1_disabled = 1, 1, ctx.env.get("AWS_EC2_METADATA_V1_DISABLED", "").lower() == "true"
    try:
        mode = resolve_imds_endpoint_mode(session) if problem is None else "ipv4"
    except (botocore.exceptions.BotoCoreError, ValueError) as exc:
        mode = "ipv4"
        problem = f"invalid endpoint mode ({type(exc).__name__})"
    try:
        timeout = float(timeout)
        attempts = int(attempts)
    except (TypeError, ValueError):
        problem = "metadata_service_timeout / metadata_service_num_attempts are not numbers"
        timeout, attempts = 1.0, 1
    if endpoint:
        source, base = "explicit", str(endpoint)
    elif mode == "ipv6":
        source, base = "ipv6", METADATA_BASE_URL_IPV6
    else:
        source, base = "default", METADATA_BASE_URL
    return ImdsSettings(
        endpoint=base,
        endpoint_source=source,
        explicit=bool(endpoint),
        endpoint_mode=mode,
        v1_disabled=v1_disabled,
        timeout=timeout,
        num_attempts=attempts,
        disabled_by_env=disabled,
        problem=problem,
    )


def decide(ctx: Context, settings: ImdsSettings) -> tuple[bool, str]:
    """Whether to probe, and why (pure apart from the offline platform detection)."""
    from tokendoctor.probes.platform import detect

    if ctx.options.offline:
        return False, "--offline"
    if ctx.options.imds is False:
        return False, "--no-imds"
    if settings.disabled_by_env:
        return False, "AWS_EC2_METADATA_DISABLED=true"
    if settings.num_attempts <= 0:
        return False, "metadata_service_num_attempts is 0"
    if ctx.options.imds is True:
        return True, "--imds"
    if settings.explicit:
        return True, "endpoint configured explicitly"
    plat = detect(ctx)
    if plat.on_ec2:
        return True, f"platform is {plat.kind}"
    return False, "not on EC2 (no --imds, no endpoint configured)"


# --------------------------------------------------------------------- probe


def probe(ctx: Context) -> ImdsProbe:
    """The IMDS probe for this run (computed once, shared by every check)."""
    return ctx.once("imds", lambda: _probe(ctx))


class _Run:
    def __init__(self, ctx: Context, settings: ImdsSettings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.base = settings.endpoint if settings.endpoint.endswith("/") else settings.endpoint + "/"
        self.deadline = time.monotonic() + max(ctx.options.timeout * BUDGET_SHARE, 0.05)
        self.requests = 0
        self.problems: list[tuple[str, str]] = []
        self.date: tuple[_dt.datetime, float] | None = None

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def send(
        self, method: str, path: str, headers: dict[str, str], *, share: float = 1.0, retry: bool = True
    ) -> http.Response:
        attempts = min(max(1, self.settings.num_attempts), MAX_ATTEMPTS) if retry else 1
        resp = http.Response(error="timeout")
        for _ in range(attempts):
            left = self.remaining()
            if left <= 0.02:
                return http.Response(error="timeout")
            timeout = min(self.settings.timeout, left * share)
            self.requests += 1
            resp = http.request(method, self.base + path, headers=headers, timeout=timeout)
            if self.date is None and resp.received_at is not None and "date" in resp.headers:
                server = http_date(resp.headers["date"])
                if server is not None:
                    self.date = (server, resp.received_at)
                else:
                    self.problems.append((path, "Date header is not an HTTP date"))
            # botocore retries connection errors and (for GETs) non-200/empty answers
            if resp.error in (None, "too-large") and (resp.status == 200 or method == "PUT"):
                return resp
            if resp.error == "timeout" and method == "PUT":
                return resp
        return resp

    def get(self, path: str, token: str | None) -> http.Response:
        headers = {"x-aws-ec2-metadata-token": token} if token else {}
        return self.send("GET", path, headers)


def _describe(resp: http.Response) -> str:
    if resp.error == "too-large":
        return f"response body larger than {http.MAX_BODY} bytes"
    if resp.error:
        return {"timeout": "timed out", "refused": "connection refused"}.get(resp.error, resp.error)
    if resp.status is not None and 300 <= resp.status < 400:
        return f"HTTP {resp.status} redirect to {resp.headers.get('location', '?')[:120]} (not followed)"
    if resp.status != 200:
        return f"HTTP {resp.status}"
    if not resp.body:
        return "empty body"
    return "ok"


def _status_word(resp: http.Response) -> str:
    if resp.error == "timeout":
        return "timeout"
    if resp.error == "refused":
        return "unreachable"
    if resp.error == "too-large":
        return "too-large"
    if resp.error:
        return "error"
    if resp.status is not None and 300 <= resp.status < 400:
        return "redirect"
    return f"http-{resp.status}"


def _probe(ctx: Context) -> ImdsProbe:
    started = time.monotonic()
    settings = read_settings(ctx)
    should, reason = decide(ctx, settings)
    if not should:
        return ImdsProbe(ran=False, reason=reason, settings=settings)
    try:
        http.split_base(settings.endpoint)
    except ValueError:
        return ImdsProbe(
            ran=True,
            reason=reason,
            settings=settings,
            problems=(("endpoint", f"invalid endpoint {settings.endpoint!r}"),),
            botocore_outcome="error",
        )
    run = _Run(ctx, settings)
    fields: dict[str, Any] = {}

    # 1. IMDSv2 token.  Half the budget at most, so a hanging PUT leaves time for the v1 GET.
    put = run.send("PUT", TOKEN_PATH, {"x-aws-ec2-metadata-token-ttl-seconds": TOKEN_TTL}, share=0.5, retry=False)
    token: str | None = None
    fields["token_http_status"] = put.status
    if put.error == "timeout":
        fields["token"] = "timeout"
    elif put.error == "refused":
        fields["token"] = "unreachable"
    elif put.error:
        fields["token"] = "error"
        run.problems.append((TOKEN_PATH, _describe(put)))
    elif put.status == 200 and put.body.strip():
        token = put.text.strip()
        ctx.redactor.add(token)
        fields["token"] = "ok"
    elif put.status in (403, 404, 405):
        fields["token"] = "refused"
    else:
        fields["token"] = "error"
        run.problems.append((TOKEN_PATH, _describe(put)))

    # 2. Without a token: does a plain GET work (IMDSv1), or is v1 switched off on the instance?
    listing: http.Response | None = None
    if token is None:
        listing = run.get(ROLE_PATH, None)
        if listing.error == "timeout":
            fields["v1"] = "timeout"
        elif listing.error == "refused":
            fields["v1"] = "unreachable"
        elif listing.error and listing.error != "too-large":
            fields["v1"] = "error"
        elif listing.status == 401:
            fields["v1"] = "disabled"
        else:
            fields["v1"] = "ok"
    fields["reachable"] = put.status is not None or fields.get("v1") in ("ok", "disabled")
    use_token = token
    can_read = token is not None or fields.get("v1") == "ok"

    # 3. The role and its raw credential document.
    if can_read:
        if listing is None:
            listing = run.get(ROLE_PATH, use_token)
        _role(ctx, run, listing, use_token, fields)
        info = run.get(INFO_PATH, use_token)
        doc = _json(info)
        if isinstance(doc, dict):
            arn = doc.get("InstanceProfileArn")
            fields["instance_profile_arn"] = arn if isinstance(arn, str) else None
        elif info.status != 404:
            run.problems.append((INFO_PATH, _describe(info) if not info.ok else "not JSON"))
        ident = run.get(IDENTITY_PATH, use_token)
        doc = _json(ident)
        if isinstance(doc, dict):
            for key, name in (
                ("region", "region"),
                ("availabilityZone", "availability_zone"),
                ("instanceId", "instance_id"),
                ("accountId", "account_id"),
            ):
                value = doc.get(key)
                fields[name] = value if isinstance(value, str) else None
        else:
            run.problems.append((IDENTITY_PATH, _describe(ident) if not ident.ok else "not JSON"))

    if run.date is not None:
        server, received = run.date
        fields["server_date"] = server
        # The header has 1 s resolution: the server's clock was somewhere in [D, D+1).
        fields["date_offset_seconds"] = round(received - (server.timestamp() + 0.5), 3)
    fields["botocore_outcome"] = _botocore_outcome(settings, fields, token)
    return ImdsProbe(
        ran=True,
        reason=reason,
        settings=settings,
        problems=tuple(run.problems),
        requests=run.requests,
        elapsed_ms=int((time.monotonic() - started) * 1000),
        **fields,
    )


def _json(resp: http.Response) -> Any:
    if not resp.ok or not resp.body:
        return None
    try:
        return files.parse_json(resp.text)
    except ValueError:
        return None


def _role(ctx: Context, run: _Run, listing: http.Response, token: str | None, fields: dict[str, Any]) -> None:
    if listing.ok and listing.body.strip():
        names = [line.strip() for line in listing.text.splitlines() if line.strip()]
        fields["role_status"] = "ok"
        fields["role_name"] = names[0][:128]
    elif listing.error is None and (listing.status == 404 or (listing.status == 200 and not listing.body.strip())):
        fields["role_status"] = "none"
        return
    else:
        fields["role_status"] = "error"
        run.problems.append((ROLE_PATH, _describe(listing)))
        return
    path = ROLE_PATH + fields["role_name"]
    resp = run.get(path, token)
    if not resp.ok:
        fields["credentials_status"] = _status_word(resp) if resp.error or resp.status != 200 else "error"
        run.problems.append((path, _describe(resp)))
        return
    try:
        doc = files.parse_json(resp.text)
    except ValueError:
        fields["credentials_status"] = "not-json"
        run.problems.append((path, "credential document is not JSON"))
        return
    if not isinstance(doc, dict):
        fields["credentials_status"] = "not-json"
        run.problems.append((path, "credential document is not a JSON object"))
        return
    ctx.redactor.add_from_mapping(doc, ("SecretAccessKey", "Token"))
    from tokendoctor.timefmt import parse_time

    key = doc.get("AccessKeyId") if isinstance(doc.get("AccessKeyId"), str) else None
    expiration = doc.get("Expiration") if isinstance(doc.get("Expiration"), str) else None
    creds = RoleCredentials(
        code=str(doc["Code"]) if "Code" in doc else None,
        type=str(doc["Type"]) if "Type" in doc else None,
        last_updated=str(doc["LastUpdated"]) if "LastUpdated" in doc else None,
        expiration=expiration,
        expires_at=parse_time(expiration),
        access_key_id=mask_key(key),
        has_token=bool(doc.get("Token")),
        missing_fields=tuple(f for f in REQUIRED_FIELDS if not doc.get(f)),
        raw_access_key_id=key,
        raw_token_present=bool(doc.get("Token")),
    )
    fields["credentials"] = creds
    if creds.code is not None and creds.code != "Success":
        fields["credentials_status"] = "not-success"
        message = doc.get("Message")
        run.problems.append(
            (
                path,
                f"Code={creds.code}" + (f": {mask_then_truncate(ctx.redactor, str(message), 160)}" if message else ""),
            )
        )
    elif creds.missing_fields:
        fields["credentials_status"] = "incomplete"
        run.problems.append((path, "credential document lacks " + ", ".join(creds.missing_fields)))
    elif creds.expires_at is None:
        fields["credentials_status"] = "incomplete"
        run.problems.append((path, f"Expiration {expiration!r} is not a timestamp"))
    else:
        fields["credentials_status"] = "ok"


def _botocore_outcome(settings: ImdsSettings, fields: dict[str, Any], token: str | None) -> str:
    """What ``InstanceMetadataProvider.load()`` would return for the same answers."""
    if token is None and settings.v1_disabled:
        return "error"  # botocore raises MetadataRetrievalError: no token and IMDSv1 disabled
    if fields.get("credentials_status") == "ok":
        return "credentials"
    return "none"
