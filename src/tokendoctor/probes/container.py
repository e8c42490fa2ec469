"""The container credentials endpoint (ECS task role, EKS Pod Identity), fetched once.

Entry point: :func:`probe`, memoised through ``ctx.once("container", ...)``.
Runs only when the environment names the endpoint
(``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` / ``_FULL_URI``) and not with
``--offline``.  Like botocore it refuses plain-http hosts other than loopback
and the ECS/EKS agent addresses.  The credential document's secrets are
registered with the redactor at once and never leave this module.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tokendoctor import files
from tokendoctor.context import Context
from tokendoctor.probes import http
from tokendoctor.redact import mask_key

ECS_HOST = "169.254.170.2"
ALLOWED_HOSTS = (ECS_HOST, "169.254.170.23", "fd00:ec2::23", "localhost")
#: botocore's ContainerMetadataFetcher timeout.
TIMEOUT_SECONDS = 2.0
MAX_TOKEN_FILE = 16 * 1024


@dataclass(frozen=True, kw_only=True)
class ContainerProbe:
    ran: bool
    reason: str
    url: str | None = None
    """The URL without its query string."""
    uri_source: str | None = None
    auth: str | None = None
    """``token``, ``token-file`` or None."""
    status: str = "not-tried"
    """``ok``, ``http-<n>``, ``not-json``, ``incomplete``, ``timeout``, ``unreachable``, ``too-large``,
    ``bad-url``, ``host-not-allowed``, ``token-file-unreadable``, ``error``, ``not-tried``."""
    problem: str | None = None
    http_status: int | None = None
    access_key_id: str | None = None
    expiration: str | None = None
    expires_at: _dt.datetime | None = None
    account_id: str | None = None
    role_arn: str | None = None
    raw_access_key_id: str | None = field(default=None, repr=False)
    has_token: bool = False
    elapsed_ms: int = 0

    def seconds_remaining(self, now: _dt.datetime) -> int | None:
        return int((self.expires_at - now).total_seconds()) if self.expires_at else None

    def to_dict(self, now: _dt.datetime) -> dict[str, Any]:
        return {
            "probed": self.ran,
            "reason": self.reason,
            "url": self.url,
            "uri_source": self.uri_source,
            "authorization": self.auth,
            "status": self.status,
            "problem": self.problem,
            "http_status": self.http_status,
            "access_key_id": self.access_key_id,
            "expiration": self.expiration,
            "seconds_remaining": self.seconds_remaining(now),
            "account_id": self.account_id,
            "role_arn": self.role_arn,
            "elapsed_ms": self.elapsed_ms,
        }


def configured(env: Any) -> bool:
    return bool(env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"))


def probe(ctx: Context) -> ContainerProbe:
    return ctx.once("container", lambda: _probe(ctx))


def _host_allowed(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    host = parts.hostname or ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    return host in ALLOWED_HOSTS


def _probe(ctx: Context) -> ContainerProbe:
    env = ctx.env
    if not configured(env):
        return ContainerProbe(ran=False, reason="no container credentials endpoint in the environment")
    if ctx.options.offline:
        return ContainerProbe(ran=False, reason="--offline")
    started = time.monotonic()
    relative = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    if relative:
        url, source = f"http://{ECS_HOST}{relative}", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
    else:
        url, source = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    shown = url.split("?")[0]
    base: dict[str, Any] = {"ran": True, "reason": f"{source} is set", "url": shown, "uri_source": source}

    def done(**kw: Any) -> ContainerProbe:
        return ContainerProbe(**base, elapsed_ms=int((time.monotonic() - started) * 1000), **kw)

    try:
        allowed = _host_allowed(url)
    except ValueError:
        return done(status="bad-url", problem=f"{source} is not a valid URL")
    if not allowed:
        return done(
            status="host-not-allowed",
            problem="botocore only fetches container credentials over http from loopback or "
            f"{', '.join(ALLOWED_HOSTS)}",
        )
    headers = {"Accept": "application/json"}
    token_file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if token_file:
        base["auth"] = "token-file"
        try:
            auth = files.read_text(os.path.expanduser(token_file), MAX_TOKEN_FILE)
        except files.FileProblem as exc:
            return done(status="token-file-unreadable", problem=f"{token_file} {exc.problem}")
        except UnicodeError:
            return done(status="token-file-unreadable", problem=f"{token_file} cannot be read (not UTF-8)")
        ctx.redactor.add(auth.strip())
    elif env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
        base["auth"] = "token"
        auth = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
    else:
        auth = None
    if auth is not None:
        if "\r" in auth or "\n" in auth:
            return done(status="error", problem="the authorization token contains a line break; botocore rejects it")
        headers["Authorization"] = auth
    timeout = min(TIMEOUT_SECONDS, max(ctx.options.timeout * 0.7, 0.05))
    resp = http.request("GET", url, headers=headers, timeout=timeout)
    if resp.error:
        word = {"timeout": "timeout", "refused": "unreachable", "too-large": "too-large", "bad-url": "bad-url"}.get(
            resp.error, "error"
        )
        return done(status=word, problem=resp.error)
    if resp.status != 200:
        return done(status=f"http-{resp.status}", http_status=resp.status, problem=f"HTTP {resp.status}")
    try:
        doc = files.parse_json(resp.text)
    except ValueError:
        return done(status="not-json", http_status=200, problem="the endpoint did not return JSON")
    if not isinstance(doc, dict):
        return done(status="not-json", http_status=200, problem="the endpoint did not return a JSON object")
    ctx.redactor.add_from_mapping(doc, ("SecretAccessKey", "Token"))
    from tokendoctor.timefmt import parse_time

    missing = [f for f in ("AccessKeyId", "SecretAccessKey", "Token", "Expiration") if not doc.get(f)]
    key = doc.get("AccessKeyId") if isinstance(doc.get("AccessKeyId"), str) else None
    expiration = doc.get("Expiration") if isinstance(doc.get("Expiration"), str) else None
    facts: dict[str, Any] = {
        "http_status": 200,
        "access_key_id": mask_key(key),
        "raw_access_key_id": key,
        "expiration": expiration,
        "expires_at": parse_time(expiration),
        "account_id": doc.get("AccountId") if isinstance(doc.get("AccountId"), str) else None,
        "role_arn": doc.get("RoleArn") if isinstance(doc.get("RoleArn"), str) else None,
        "has_token": bool(doc.get("Token")),
    }
    if missing:
        return done(status="incomplete", problem="credential document lacks " + ", ".join(missing), **facts)
    return done(status="ok", **facts)
