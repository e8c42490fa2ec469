"""When do the winning credentials expire, as far as can be known offline.

Sources, by provider: ``AWS_CREDENTIAL_EXPIRATION`` (env); expiry keys that
login tools write next to pasted keys (files); the AWS CLI's assume-role cache
``~/.aws/cli/cache``; the SSO token cache ``~/.aws/sso/cache``; the ``exp``
claim of a web-identity token file (decoded, never verified or printed).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokendoctor.context import Context
from tokendoctor.models import Finding
from tokendoctor.timefmt import iso, parse_time, span

if TYPE_CHECKING:
    from tokendoctor.checks.credentials import ChainAnalysis, ProviderState

#: Keys that saml2aws, gimme-aws-creds, aws-google-auth, aws-vault exports and
#: similar tools write beside the keys they paste into a profile.
FILE_EXPIRY_KEYS = (
    "x_security_token_expires",
    "expiration",
    "aws_expiration",
    "aws_session_expiration",
    "aws_credential_expiration",
)
MAX_TOKEN_BYTES = 64 * 1024


@dataclass(frozen=True)
class Expiry:
    at: _dt.datetime
    source: str


def for_winner(ctx: Context, analysis: ChainAnalysis, winner: ProviderState, from_creds: _dt.datetime | None) -> Expiry | None:
    method = winner.method
    if from_creds is not None:
        source = "AWS_CREDENTIAL_EXPIRATION" if method == "env" else method
        return Expiry(from_creds.astimezone(_dt.timezone.utc), source)
    if method in ("shared-credentials-file", "config-file"):
        section = _section(analysis, method)
        for key in FILE_EXPIRY_KEYS:
            at = parse_time(section.get(key))
            if at is not None:
                return Expiry(at, f"{key} in profile {analysis.profile}")
    if method == "assume-role":
        return _cli_cache_expiry(ctx, winner)
    return None


def _section(analysis: ChainAnalysis, method: str) -> dict[str, Any]:
    if method == "config-file":
        return dict(analysis.full_config.get("profiles", {}).get(analysis.profile, {}))
    from botocore.configloader import raw_config_parse

    try:
        return dict(raw_config_parse(analysis.credentials_file).get(analysis.profile, {}))
    except Exception:  # noqa: BLE001 - the provider already read it successfully
        return {}


def _cli_cache_expiry(ctx: Context, winner: ProviderState) -> Expiry | None:
    """The AWS CLI caches assumed-role sessions under ~/.aws/cli/cache/<sha1>.json."""
    refresh = getattr(winner.creds, "_refresh_using", None)
    fetcher = getattr(refresh, "__self__", None)
    key = getattr(fetcher, "_cache_key", None)
    if not key:
        return None
    doc = _read_json(ctx.home / ".aws" / "cli" / "cache" / f"{key}.json", ctx)
    at = parse_time(((doc or {}).get("Credentials") or {}).get("Expiration"))
    return Expiry(at, "AWS CLI cache (~/.aws/cli/cache)") if at else None


def _read_json(path: Path, ctx: Context) -> dict[str, Any] | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_TOKEN_BYTES:
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None
    ctx.redactor.add_from_mapping(doc)
    ctx.redactor.add_from_mapping(doc.get("Credentials") or {} if isinstance(doc.get("Credentials"), dict) else {})
    return doc


def decode_jwt_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT, decoded and NOT verified; None when it is not a JWT."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def web_identity_token(ctx: Context, path: str) -> dict[str, Any]:
    """Facts about a web identity token file: readable?, and its exp/iat/iss/aud claims."""
    info: dict[str, Any] = {"path": path}
    p = Path(os.path.expanduser(path))
    try:
        if not p.is_file():
            info["problem"] = "missing or not a regular file"
            return info
        if p.stat().st_size > MAX_TOKEN_BYTES:
            info["problem"] = "file is too large to be a token"
            return info
        raw = p.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        info["problem"] = f"cannot be read ({getattr(exc, 'strerror', None) or type(exc).__name__})"
        return info
    ctx.redactor.add(raw.strip())
    claims = decode_jwt_claims(raw)
    if claims is None:
        info["problem"] = "not a JWT"
        return info
    for claim in ("exp", "iat"):
        at = parse_time(claims.get(claim)) if isinstance(claims.get(claim), (int, float)) else None
        info[claim] = iso(at)
    info["iss"] = claims.get("iss")
    aud = claims.get("aud")
    info["aud"] = aud if isinstance(aud, (str, list)) else None
    return info


def web_identity_settings(ctx: Context, analysis: ChainAnalysis) -> tuple[str | None, str | None]:
    """The token file and role ARN botocore's web identity provider would use (env first unless --profile)."""
    profile_cfg = analysis.full_config.get("profiles", {}).get(analysis.profile, {})
    env = {} if analysis.explicit else ctx.env
    path = env.get("AWS_WEB_IDENTITY_TOKEN_FILE") or profile_cfg.get("web_identity_token_file")
    role_arn = env.get("AWS_ROLE_ARN") or profile_cfg.get("role_arn")
    return path, role_arn


def token_not_rotated(info: dict[str, Any], now: _dt.datetime) -> str | None:
    """Why a (not yet expired) token looks unrotated, or None.

    With ``iat``: more than 80% of its lifetime has passed (the kubelet rotates
    projected tokens at 80%).  Without: under 10 minutes left.
    """
    exp, iat = parse_time(info.get("exp")), parse_time(info.get("iat"))
    if exp is None or exp <= now:
        return None
    if iat is not None and exp > iat:
        lifetime = (exp - iat).total_seconds()
        age = (now - iat).total_seconds()
        if age > 0.8 * lifetime + 60:
            return f"{int(age)} s old of a {int(lifetime)} s lifetime; rotation happens at 80%"
        return None
    left = (exp - now).total_seconds()
    return f"{int(left)} s left" if left < 600 else None


def _sso_token(ctx: Context, analysis: ChainAnalysis) -> dict[str, Any] | None:
    profiles = analysis.full_config.get("profiles", {})
    cfg = profiles.get(analysis.profile, {})
    session_name = cfg.get("sso_session")
    start_url = cfg.get("sso_start_url")
    if session_name:
        start_url = analysis.full_config.get("sso_sessions", {}).get(session_name, {}).get("sso_start_url", start_url)
    if not start_url and not session_name:
        return None
    from botocore.exceptions import SSOTokenLoadError
    from botocore.utils import JSONFileCache, SSOTokenLoader

    cache_dir = ctx.home / ".aws" / "sso" / "cache"
    info: dict[str, Any] = {"sso_session": session_name, "start_url": start_url}
    try:
        token = SSOTokenLoader(cache=JSONFileCache(str(cache_dir)))(start_url, session_name=session_name)
    except SSOTokenLoadError:
        info["problem"] = "no cached SSO token: never logged in on this machine"
        return info
    except (OSError, ValueError) as exc:
        info["problem"] = f"SSO token cache unreadable ({type(exc).__name__})"
        return info
    ctx.redactor.add_from_mapping(token)
    info["expires_at"] = iso(parse_time(token.get("expiresAt")))
    info["can_refresh"] = bool(session_name and token.get("refreshToken"))
    return info


def findings(ctx: Context, analysis: ChainAnalysis, winner: ProviderState, resolved: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    now = ctx.now()
    remaining = resolved.get("seconds_remaining")
    if remaining is not None and not resolved.get("refreshable"):
        evidence = {
            "method": winner.method,
            "access_key_id": resolved.get("access_key_id"),
            "expires_at": resolved.get("expires_at"),
            "expiry_source": resolved.get("expiry_source"),
            "seconds_remaining": remaining,
        }
        if remaining <= 0:
            out.append(
                Finding(
                    code="TD202",
                    evidence=evidence,
                    fix=(
                        f"The {winner.method} credentials expired at {resolved['expires_at']} "
                        f"({span(remaining)} ago) and nothing refreshes them. "
                        "Remove them and use a refreshing source (see the other causes)."
                    ),
                )
            )
        elif remaining < ctx.options.min_ttl:
            out.append(
                Finding(
                    code="TD203",
                    evidence={**evidence, "min_ttl_seconds": int(ctx.options.min_ttl)},
                    fix=(
                        f"The {winner.method} credentials expire at {resolved['expires_at']} "
                        f"(in {span(remaining)}) and nothing refreshes them. "
                        "Switch to a refreshing source before starting long work."
                    ),
                )
            )
    if winner.method == "sso":
        info = _sso_token(ctx, analysis)
        if info is not None:
            exp = parse_time(info.get("expires_at"))
            expired = info.get("problem") or (exp is not None and exp <= now)
            if expired and not info.get("can_refresh"):
                out.append(
                    Finding(
                        code="TD206",
                        evidence=info,
                        fix=f"Run `aws sso login --profile {analysis.profile}`.",
                    )
                )
            elif expired:
                out.append(
                    Finding(
                        code="TD206",
                        severity="warning",
                        evidence=info,
                        fix=(
                            "The SSO access token expired; botocore will try its refresh token. If calls fail, run "
                            f"`aws sso login --profile {analysis.profile}`."
                        ),
                    )
                )
    if winner.method == "assume-role-with-web-identity":
        path, role_arn = web_identity_settings(ctx, analysis)
        if path:
            info = {**web_identity_token(ctx, path), "role_arn": role_arn}
            exp = parse_time(info.get("exp"))
            stale = token_not_rotated(info, now)
            if stale and not info.get("problem") and not (exp is not None and exp <= now):
                out.append(
                    Finding(
                        code="TD207",
                        severity="warning",
                        title="The web identity token file is close to expiry: nothing is rotating it",
                        evidence={**info, "seconds_remaining": int((exp - now).total_seconds()) if exp else None},
                        fix=(
                            f"The token in {path} expires at {info['exp']} and has not been replaced ({stale}). "
                            "The kubelet rewrites a projected service account token at 80% of its lifetime; a CI "
                            "OIDC step writes it once. Restart the pod/job, or fix what writes the file, before it expires."
                        ),
                    )
                )
            if info.get("problem") or (exp is not None and exp <= now):
                out.append(
                    Finding(
                        code="TD207",
                        evidence=info,
                        fix=(
                            f"The token in {path} "
                            + (f"{info['problem']}" if info.get("problem") else f"expired at {info['exp']}")
                            + ". Whatever writes it (kubelet projected token, CI OIDC step) stopped rotating it: "
                            "restart the pod/job or fix the projector."
                        ),
                    )
                )
    return out
