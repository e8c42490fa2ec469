"""When do the winning credentials expire, as far as can be known offline.

Sources, by provider: ``AWS_CREDENTIAL_EXPIRATION`` (env, read by botocore itself) and the variables
login tools export beside it (:data:`ENV_EXPIRY_VARS`); expiry keys that login tools write next to
pasted keys (files); an env or file session found by access key id in the AWS CLI / boto caches; the
AWS CLI's assume-role cache ``~/.aws/cli/cache``; the SSO token cache ``~/.aws/sso/cache``; the
``exp`` claim of a web-identity token file (decoded, never verified or printed).
"""

from __future__ import annotations

import base64
import datetime as _dt
import os
from pathlib import Path
from typing import Any

from tokendoctor import files
from tokendoctor.chain.botocore_private import cli_cache_key
from tokendoctor.chain.caches import BoundedJSONCache, CacheFileUnreadable
from tokendoctor.chain.model import ChainAnalysis, Expiry, ProviderState
from tokendoctor.context import Context
from tokendoctor.timefmt import iso, parse_time
from tokendoctor.timefmt import not_understood as unreadable

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
#: ``sso_token()``'s problem when ~/.aws/sso/cache holds no token under the key botocore looks up.
SSO_NOT_CACHED = "no cached SSO token: never logged in on this machine"
#: ``web_identity_token()``'s problems when there is no token to read at all (not an expired one).
TOKEN_FILE_MISSING = "missing or not a regular file"

#: Variables login tools export next to a session, after botocore's own AWS_CREDENTIAL_EXPIRATION
#: (botocore/credentials.py EnvProvider.EXPIRY_TIME; saml2aws cmd/saml2aws/commands/script.go exports it):
#: aws-vault v6 (cli/exec.go execEnvironment) and granted (scripts/assume) export AWS_SESSION_EXPIRATION;
#: awsume exports AWSUME_EXPIRATION (shell_scripts/awsume).  okta-aws-cli (internal/output/envvar.go) and
#: configure-aws-credentials (src/helpers.ts exportCredentials) export none.  A value without an offset is UTC.
ENV_EXPIRY_VARS = ("AWS_SESSION_EXPIRATION", "AWSUME_EXPIRATION")

#: Caches where the AWS CLI and boto3 keep assumed-role sessions (JSON with Credentials.AccessKeyId/Expiration).
SESSION_CACHE_DIRS = (".aws/cli/cache", ".aws/boto/cache")
#: At most this many cache files are opened when matching an access key id (each at most MAX_TOKEN_BYTES).
MAX_CACHE_FILES = 256


def for_winner(
    ctx: Context, analysis: ChainAnalysis, winner: ProviderState, from_creds: _dt.datetime | None
) -> Expiry | None:
    method = winner.method
    if from_creds is not None:
        source = "AWS_CREDENTIAL_EXPIRATION" if method == "env" else method
        return Expiry(from_creds.astimezone(_dt.timezone.utc), source)
    if method == "env":
        return env_expiry(ctx)
    if method in ("shared-credentials-file", "config-file"):
        return file_session_expiry(ctx, _section(analysis, method), analysis.profile)
    if method == "assume-role":
        return _cli_cache_expiry(ctx, winner)
    return None


def env_expiry(ctx: Context) -> Expiry | None:
    """The expiry a login tool exported next to an env session, else the cache entry for its key."""
    for var in ("AWS_CREDENTIAL_EXPIRATION", *ENV_EXPIRY_VARS):
        at = parse_time(ctx.env.get(var))
        if at is not None:
            return Expiry(at, var)
    return cached_session_expiry(ctx, ctx.env.get("AWS_ACCESS_KEY_ID"))


def file_session_expiry(ctx: Context, section: dict[str, Any], profile: str) -> Expiry | None:
    """The expiry written next to a pasted session in a profile section, else the cache entry for its key."""
    for key in FILE_EXPIRY_KEYS:
        at = parse_time(section.get(key))
        if at is not None:
            return Expiry(at, f"{key} in profile {profile}")
    return cached_session_expiry(ctx, section.get("aws_access_key_id"))


def cached_session_expiry(ctx: Context, access_key_id: str | None) -> Expiry | None:
    """The ``Expiration`` of the AWS CLI / boto cache entry holding ``access_key_id`` (a session copied from it)."""
    if not access_key_id or not access_key_id.startswith("ASIA"):
        return None
    opened = 0
    for rel in SESSION_CACHE_DIRS:
        folder = ctx.home / rel
        try:
            names = sorted(p.name for p in folder.iterdir() if p.suffix == ".json")
        except OSError:
            continue
        for name in names:
            if opened >= MAX_CACHE_FILES:
                return None
            opened += 1
            doc = read_json(folder / name, ctx)
            creds = (doc or {}).get("Credentials")
            if isinstance(creds, dict) and creds.get("AccessKeyId") == access_key_id:
                at = parse_time(creds.get("Expiration"))
                if at is not None:
                    return Expiry(at, f"~/{rel}/{name}")
    return None


def not_understood(ctx: Context, analysis: ChainAnalysis, winner: ProviderState) -> list[tuple[str, str]]:
    """``(source, value)`` for each expiry the winner's sources state but :func:`parse_time` cannot read
    (``1e20``, ``inf``, an offset of ``+99:99``, year 9999): the expiry is then unknown, which is a finding."""
    out: list[tuple[str, str]] = []
    method = winner.method
    if method == "env" and unreadable(ctx.env.get("AWS_CREDENTIAL_EXPIRATION")):
        out.append(("AWS_CREDENTIAL_EXPIRATION", ctx.env["AWS_CREDENTIAL_EXPIRATION"]))
    if method in ("shared-credentials-file", "config-file"):
        section = _section(analysis, method)
        out += [
            (f"{key} in profile {analysis.profile}", str(section[key]))
            for key in FILE_EXPIRY_KEYS
            if unreadable(section.get(key))
        ]
    if method == "assume-role":
        key = cli_cache_key(winner.creds)
        doc = read_json(ctx.home / ".aws" / "cli" / "cache" / f"{key}.json", ctx) if key else None
        value = (
            ((doc or {}).get("Credentials") or {}).get("Expiration")
            if isinstance((doc or {}).get("Credentials"), dict)
            else None
        )
        if unreadable(value):
            out.append(("Expiration in the AWS CLI cache (~/.aws/cli/cache)", str(value)))
    if method == "sso":
        info = sso_token(ctx, analysis) or {}
        if unreadable(info.get("expires_at_raw")):
            out.append(("expiresAt in the SSO token cache (~/.aws/sso/cache)", str(info["expires_at_raw"])))
    if method == "assume-role-with-web-identity":
        path, _ = web_identity_settings(ctx, analysis)
        info = web_identity_token(ctx, path) if path else {}
        if unreadable(info.get("exp_raw")):
            out.append((f"the exp claim of {path}", str(info["exp_raw"])))
    return out


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
    key = cli_cache_key(winner.creds)
    if not key:
        return None
    doc = read_json(ctx.home / ".aws" / "cli" / "cache" / f"{key}.json", ctx)
    at = parse_time(((doc or {}).get("Credentials") or {}).get("Expiration"))
    return Expiry(at, "AWS CLI cache (~/.aws/cli/cache)") if at else None


def read_json(path: Path, ctx: Context) -> dict[str, Any] | None:
    try:
        doc = files.read_json(path, MAX_TOKEN_BYTES)
    except (files.FileProblem, ValueError):
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
        claims = files.parse_json(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def web_identity_token(ctx: Context, path: str) -> dict[str, Any]:
    """Facts about a web identity token file: readable?, and its exp/iat/iss/aud claims."""
    info: dict[str, Any] = {"path": path}
    try:
        raw = files.read_text(os.path.expanduser(path), MAX_TOKEN_BYTES)
    except files.FileProblem as exc:
        info["problem"] = {
            "missing": TOKEN_FILE_MISSING,
            "directory": TOKEN_FILE_MISSING,
            "not-regular": TOKEN_FILE_MISSING,
            "too-large": "file is too large to be a token",
        }.get(exc.kind, exc.problem)
        return info
    except UnicodeError:
        info["problem"] = "cannot be read (UnicodeDecodeError)"
        return info
    ctx.redactor.add(raw.strip())
    claims = decode_jwt_claims(raw)
    if claims is None:
        info["problem"] = "not a JWT"
        return info
    for claim in ("exp", "iat"):
        at = parse_time(claims.get(claim)) if isinstance(claims.get(claim), (int, float)) else None
        info[claim] = iso(at)
    if claims.get("exp") is not None and info["exp"] is None:
        info["exp_raw"] = str(claims.get("exp"))[:64]
    info["iss"] = claims.get("iss")
    aud = claims.get("aud")
    info["aud"] = aud if isinstance(aud, (str, list)) else None
    return info


def token_file_absent(info: dict[str, Any]) -> bool:
    """The token file is missing or unreadable: there is no token, expired or not."""
    problem = str(info.get("problem") or "")
    return problem == TOKEN_FILE_MISSING or problem.startswith("cannot be read")


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


def sso_token(
    ctx: Context, analysis: ChainAnalysis, profile: str | None = None, *, registration: bool = False
) -> dict[str, Any] | None:
    """The cached SSO token's facts for ``profile`` (default: the selected one); with ``registration``
    also when the client registration (the refresh token's use) ends."""
    profiles = analysis.full_config.get("profiles", {})
    cfg = profiles.get(profile or analysis.profile, {})
    session_name = cfg.get("sso_session")
    start_url = cfg.get("sso_start_url")
    if session_name:
        start_url = analysis.full_config.get("sso_sessions", {}).get(session_name, {}).get("sso_start_url", start_url)
    if not start_url and not session_name:
        return None
    from botocore.exceptions import SSOTokenLoadError
    from botocore.utils import SSOTokenLoader

    cache_dir = ctx.home / ".aws" / "sso" / "cache"
    info: dict[str, Any] = {"sso_session": session_name, "start_url": start_url}
    try:
        token = SSOTokenLoader(cache=BoundedJSONCache(str(cache_dir)))(start_url, session_name=session_name)
    except SSOTokenLoadError:
        info["problem"] = SSO_NOT_CACHED
        return info
    except CacheFileUnreadable as exc:
        info["problem"] = f"SSO token cache unreadable: {exc}"
        return info
    except (OSError, ValueError) as exc:
        info["problem"] = f"SSO token cache unreadable ({type(exc).__name__})"
        return info
    if not isinstance(token, dict):
        info["problem"] = "SSO token cache unreadable: not a JSON object"
        return info
    ctx.redactor.add_from_mapping(token)
    info["expires_at"] = iso(parse_time(token.get("expiresAt")))
    if token.get("expiresAt") is not None and info["expires_at"] is None:
        info["expires_at_raw"] = str(token.get("expiresAt"))[:64]
    info["can_refresh"] = bool(session_name and token.get("refreshToken"))
    if registration:
        info["registration_expires_at"] = iso(parse_time(token.get("registrationExpiresAt")))
    return info
