"""The credentials check: which credentials the program really uses (the chain analysis of
:mod:`tokendoctor.chain`), when they expire, and the traps around them (TD10x, TD20x)."""

from __future__ import annotations

from typing import Any

from tokendoctor import chain
from tokendoctor.chain import expiry as _expiry
from tokendoctor.chain import keyshape
from tokendoctor.chain import lifetime as _lifetime
from tokendoctor.chain.advice import refreshable_role_fix
from tokendoctor.chain.botocore_private import peek
from tokendoctor.chain.model import FILE_METHODS, ROLE_METHODS, ChainAnalysis, ProviderState
from tokendoctor.chain.process_command import command_problem
from tokendoctor.chain.sso_cache import misfiled_token
from tokendoctor.context import Context
from tokendoctor.limits import NOT_REFRESHABLE_METHODS
from tokendoctor.models import CheckResult, Finding
from tokendoctor.probes.ci import detect as detect_ci
from tokendoctor.probes.ci import session_fix, token_file_fix
from tokendoctor.redact import mask_key
from tokendoctor.timefmt import YEARS, iso, parse_time, span

NAME = "credentials"


# ------------------------------------------------------------------ the check


def check(ctx: Context) -> CheckResult:
    analysis = chain.analyse(ctx)  # completed by the IMDS/container probes when they ran
    life = _lifetime.analyse(ctx)
    findings = list(analysis.findings)
    resolved = _resolved(ctx, analysis, findings)
    if analysis.error is None:
        findings.extend(_trap_findings(ctx, analysis, resolved))
    data = {
        "profile": analysis.profile,
        "profile_source": analysis.profile_source,
        "config_file": analysis.config_file,
        "credentials_file": analysis.credentials_file,
        "resolved": resolved,
        "chain": [_row(s, life) for s in analysis.providers],
        "lifetime": life.to_dict(),
    }
    return CheckResult(name=NAME, findings=tuple(findings), data=data)


def _row(state: ProviderState, life: _lifetime.Lifetime) -> dict[str, str]:
    """The chain row; a credential_process run with --allow-process says what it returned."""
    row = state.row()
    ran = [link for link in life.links if link.kind == "process-output" and link.expiry_source != _lifetime.NOT_RUN]
    if state.method == "custom-process" and state.would_use and ran:
        link = ran[0]
        row["detail"] = "credential_process ran (--allow-process): " + (
            f"expires {iso(link.expires_at)}" if link.expires_at else str(link.expiry_source)
        )
    return row


def _resolved(ctx: Context, analysis: ChainAnalysis, findings: list[Finding]) -> dict[str, Any]:
    winner = analysis.winner
    out: dict[str, Any] = {
        "method": analysis.method,
        "access_key_id": None,
        "temporary": None,
        "refreshable": None,
        "expires_at": None,
        "seconds_remaining": None,
        "expiry_source": None,
    }
    if analysis.error is not None:
        out["error"] = analysis.error
        return out
    if winner is None:
        return out
    if winner.status == "error":
        out["error"] = winner.detail
        unknown = _expiry.not_understood(ctx, analysis, winner)
        if unknown:  # botocore cannot parse the expiry it was given: that, not a missing variable, is the cause
            findings.extend(_td250(source, value) for source, value in unknown)
        elif winner.method == "env":
            findings.append(
                Finding(
                    code="TD104",
                    evidence={"error": winner.detail},
                    fix="The credential variables are incomplete: "
                    + winner.detail
                    + ". Export a complete set, or none.",
                )
            )
        elif winner.method == "assume-role" and _role_source_failed(analysis, winner):
            findings.append(_role_source_finding(analysis, winner))
        elif winner.method == "login" and _missing_dependency(winner.error):
            findings.append(
                Finding(
                    code="TD244",
                    evidence={"provider": "login", "profile": analysis.profile, "problem": winner.detail},
                    fix=f"Profile '{analysis.profile}' uses `aws login` (login_session), which needs the AWS CRT: "
                    '`pip install "botocore[crt]"` in the Python environment the program runs in.',
                )
            )
        elif winner.method == "login":
            findings.append(_td247(analysis, winner))
        elif winner.method not in ROLE_METHODS:  # role endpoint failures: TD301-TD307 (checks/imds, container)
            findings.append(
                Finding(
                    code="TD205",
                    evidence={"provider": winner.method, "problem": winner.detail},
                    fix=f"botocore stops at {winner.method}: {winner.detail}. Fix that profile's settings.",
                )
            )
        return out
    key, token, expiry = peek(winner.creds)
    for value in (token,):
        ctx.redactor.add(value)
    out["access_key_id"] = mask_key(key)
    if key is not None:
        # An IAM user's key (AKIA) with a token is not a session but a leftover token: TD121/TD240 (checks/keys).
        out["temporary"] = key.startswith("ASIA") or (bool(token) and keyshape.key_kind(key) != "long-term")
    out["refreshable"] = winner.method not in NOT_REFRESHABLE_METHODS
    found = _expiry.for_winner(ctx, analysis, winner, expiry)
    if found is not None:
        out["expires_at"] = iso(found.at)
        out["seconds_remaining"] = int((found.at - ctx.now()).total_seconds())
        out["expiry_source"] = found.source
    else:
        findings.extend(_td250(source, value) for source, value in _expiry.not_understood(ctx, analysis, winner))
    findings.extend(_expiry_findings(ctx, analysis, winner, out))
    return out


def _td250(source: str, value: str) -> Finding:
    shown = value if len(value) <= 64 else value[:63] + "…"
    return Finding(
        code="TD250",
        evidence={"source": source, "value": shown},
        fix=(
            f"expiry not understood: {source} is {shown!r}, which is not an instant between "
            f"{YEARS[0]} and {YEARS[1]} (ISO 8601 like 2026-06-18T12:00:00Z, or epoch seconds). When these "
            "credentials expire is unknown; fix or remove the value (re-run the tool that wrote it)."
        ),
    )


def _trap_findings(ctx: Context, analysis: ChainAnalysis, resolved: dict[str, Any]) -> list[Finding]:
    env = ctx.env
    out: list[Finding] = []
    winner = analysis.method
    by_method = {s.method: s for s in analysis.providers}
    profile_cfg = analysis.profile_config()

    if winner == "env":
        key = resolved["access_key_id"]
        if resolved["temporary"]:
            out.append(
                Finding(
                    code="TD101",
                    evidence={
                        "access_key_id": key,
                        "variables": [
                            v
                            for v in (
                                "AWS_ACCESS_KEY_ID",
                                "AWS_SECRET_ACCESS_KEY",
                                "AWS_SESSION_TOKEN",
                                "AWS_SECURITY_TOKEN",
                            )
                            if env.get(v)
                        ],
                        "expires_at": resolved["expires_at"],
                        **({"ci": ci.kind} if (ci := detect_ci(env)) else {}),
                    },
                    fix=session_fix(ci) or refreshable_role_fix(analysis),
                )
            )
        if not analysis.explicit and analysis.profile_source in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            shadowed = [s.method for s in analysis.providers if s.status == "shadowed" and s.method not in ROLE_METHODS]
            if shadowed:
                out.append(
                    Finding(
                        code="TD102",
                        evidence={
                            "profile": analysis.profile,
                            "selected_by": analysis.profile_source,
                            "shadowed": shadowed,
                        },
                        fix=(
                            f"{analysis.profile_source}={analysis.profile} is ignored while AWS_ACCESS_KEY_ID is set. "
                            "`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN`, or pass the profile "
                            f"explicitly (boto3.Session(profile_name='{analysis.profile}'))."
                        ),
                    )
                )
        token_vars = {v: env.get(v) for v in ("AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN") if env.get(v)}
        if len(token_vars) == 2 and len(set(token_vars.values())) == 2:
            out.append(
                Finding(
                    code="TD104",
                    evidence={
                        "variables": sorted(token_vars),
                        "problem": "AWS_SECURITY_TOKEN and AWS_SESSION_TOKEN differ; botocore uses AWS_SECURITY_TOKEN",
                    },
                    fix="`unset AWS_SECURITY_TOKEN` (botocore reads it before AWS_SESSION_TOKEN).",
                )
            )
        key_raw = env.get("AWS_ACCESS_KEY_ID", "")
        if key_raw.startswith("ASIA") and not token_vars:
            out.append(
                Finding(
                    code="TD104",
                    evidence={
                        "access_key_id": mask_key(key_raw),
                        "problem": "temporary (ASIA) key without a session token",
                    },
                    fix="Export AWS_SESSION_TOKEN from the same session as the key, or stop exporting the key.",
                )
            )
    if winner in ("env", *FILE_METHODS):
        container = by_method.get("container-role")
        if container is not None and container.would_use:
            out.append(
                Finding(
                    code="TD103",
                    evidence={"used": winner, "shadowed": "container-role"},
                    fix=f"Credentials from {winner} hide the container role this task/pod was given. Remove them.",
                )
            )
    if winner in FILE_METHODS and resolved["temporary"]:
        out.append(
            Finding(
                code="TD204",
                evidence={
                    "profile": analysis.profile,
                    "file": analysis.credentials_file if winner == "shared-credentials-file" else analysis.config_file,
                    "access_key_id": resolved["access_key_id"],
                    "expires_at": resolved["expires_at"],
                },
                fix=(
                    f"Profile '{analysis.profile}' holds a pasted session (aws_session_token). Replace its keys with "
                    "`role_arn` + `source_profile`, `sso_session`, or `credential_process` so the SDK can refresh."
                ),
            )
        )
    if winner in FILE_METHODS:
        section = _credentials_section(analysis) if winner == "shared-credentials-file" else profile_cfg
        a, b = section.get("aws_security_token"), section.get("aws_session_token")
        if a and b and a != b:
            out.append(Finding(code="TD208", evidence={"profile": analysis.profile}))
    if not analysis.explicit:
        default_p, plain_p = env.get("AWS_DEFAULT_PROFILE"), env.get("AWS_PROFILE")
        if default_p and plain_p and default_p != plain_p:
            out.append(
                Finding(
                    code="TD106",
                    evidence={"AWS_DEFAULT_PROFILE": default_p, "AWS_PROFILE": plain_p, "botocore_uses": default_p},
                    fix=f"botocore uses AWS_DEFAULT_PROFILE={default_p}; the AWS CLI uses AWS_PROFILE={plain_p}. "
                    "`unset AWS_DEFAULT_PROFILE`.",
                )
            )
        overridden = {
            var: key
            for var, key in (("AWS_ROLE_ARN", "role_arn"), ("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file"))
            if env.get(var) and profile_cfg.get(key) and env[var] != profile_cfg[key]
        }
        if overridden:
            out.append(
                Finding(
                    code="TD107",
                    evidence={"profile": analysis.profile, "variables": sorted(overridden)},
                    fix="Profile '{}' sets {} but the environment overrides it. Unset {}.".format(
                        analysis.profile, ", ".join(sorted(overridden.values())), " ".join(sorted(overridden))
                    ),
                )
            )
    if winner is None and analysis.winner is None:
        imds = by_method.get("iam-role")
        out.append(
            Finding(
                code="TD201",
                evidence={"profile": analysis.profile, "instance_metadata": imds.status if imds else "absent"},
                fix=(
                    "Nothing in the chain has credentials"
                    + (
                        " (instance metadata was not queried: on EC2 run with --imds)"
                        if imds and imds.status == "not-checked"
                        else ""
                    )
                    + ". Configure a profile the SDK can refresh (role_arn + source_profile, sso_session) or attach "
                    "an instance role."
                ),
            )
        )
    if winner == "custom-process" or (
        winner == "assume-role" and analysis.winner is not None and analysis.winner.needs == "custom-process"
    ):
        found = _process_finding(ctx, analysis)
        if found is not None:
            out.append(found)
    if winner == "assume-role" and profile_cfg.get("mfa_serial"):
        out.append(
            Finding(code="TD209", evidence={"profile": analysis.profile, "mfa_serial": profile_cfg.get("mfa_serial")})
        )
    return out


def _sso_not_cached(ctx: Context, analysis: ChainAnalysis, info: dict[str, Any]) -> Finding:
    found = misfiled_token(ctx, analysis.full_config, info.get("start_url"), info.get("sso_session"))
    if found is not None:
        return Finding(
            code="TD243",
            evidence={**info, **found},
            fix=(
                f"A token is cached for {found['found_under']}, but profile '{analysis.profile}' looks it up by "
                f"{found['looked_up']}. Make sso_start_url / sso_session in the profile exactly what you logged in "
                f"with, or run `aws sso login --profile {analysis.profile}`."
            ),
        )
    return Finding(
        code="TD242",
        evidence=info,
        fix=(
            f"No SSO token for profile '{analysis.profile}' in ~/.aws/sso/cache of this user: run "
            f"`aws sso login --profile {analysis.profile}` here (as the user the program runs as)."
        ),
    )


def _role_source_failed(analysis: ChainAnalysis, winner: ProviderState) -> bool:
    """A role profile whose credential_source botocore could not get credentials from."""
    from botocore.exceptions import CredentialRetrievalError

    if winner.needs in ROLE_METHODS:  # amended from the IMDS / container probe (chain/amend.py)
        return True
    return isinstance(winner.error, CredentialRetrievalError) and bool(
        analysis.profile_config().get("credential_source")
    )


def _role_source_finding(analysis: ChainAnalysis, winner: ProviderState) -> Finding:
    source = analysis.profile_config().get("credential_source")
    if source == "EcsContainer":
        fix = (
            f"Profile '{analysis.profile}' takes its source credentials from the container endpoint, which has none "
            "here: run it in a task/pod with a task role (ECS taskRoleArn, EKS Pod Identity), or use source_profile."
        )
    elif source == "Environment":
        fix = (
            f"Profile '{analysis.profile}' takes its source credentials from AWS_ACCESS_KEY_ID / "
            "AWS_SECRET_ACCESS_KEY, which are not set: export them, or use source_profile."
        )
    elif "token" in winner.detail:
        fix = (
            f"Profile '{analysis.profile}' assumes its role with the instance's role, but the IMDSv2 token request "
            "fails and IMDSv1 is off, so botocore gets no source credentials. From a container this is the hop "
            "limit: aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID "
            "--http-put-response-hop-limit 2 --http-endpoint enabled"
        )
    else:
        fix = (
            f"Profile '{analysis.profile}' assumes its role with the instance's role, and instance metadata gives "
            "none. Attach one: aws ec2 associate-iam-instance-profile --instance-id INSTANCE_ID "
            "--iam-instance-profile Name=PROFILE_NAME"
        )
    return Finding(
        code="TD330",
        evidence={"profile": analysis.profile, "credential_source": source, "problem": winner.detail},
        fix=fix,
    )


def _missing_dependency(error: BaseException | None) -> bool:
    from botocore.exceptions import MissingDependencyException

    return isinstance(error, MissingDependencyException)


def _process_finding(ctx: Context, analysis: ChainAnalysis) -> Finding | None:
    problem = command_problem(ctx, analysis)
    if problem is None:
        return None
    return Finding(
        code="TD245",
        evidence={"profile": problem.profile, "command": problem.command, "problem": problem.problem},
        fix=(
            f"credential_process of profile '{problem.profile}' runs {problem.command!r}, which {problem.problem}. "
            "Install the helper or write its absolute path in credential_process"
            + (f", and `chmod +x {problem.command}`." if problem.problem == "is not an executable file" else ".")
        ),
    )


def _credentials_section(analysis: ChainAnalysis) -> dict[str, str]:
    from botocore.configloader import raw_config_parse

    try:
        return dict(raw_config_parse(analysis.credentials_file).get(analysis.profile, {}))
    except Exception:  # noqa: BLE001 - already parsed once by the provider
        return {}


def _expiry_findings(
    ctx: Context, analysis: ChainAnalysis, winner: ProviderState, resolved: dict[str, Any]
) -> list[Finding]:
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
        info = _expiry.sso_token(ctx, analysis)
        if info is not None and info.get("problem") == _expiry.SSO_NOT_CACHED:
            out.append(_sso_not_cached(ctx, analysis, info))
        elif info is not None:
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
        path, role_arn = _expiry.web_identity_settings(ctx, analysis)
        if path:
            info = {**_expiry.web_identity_token(ctx, path), "role_arn": role_arn}
            exp = parse_time(info.get("exp"))
            stale = _expiry.token_not_rotated(info, now)
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
                            "OIDC step writes it once. Restart the pod/job, or fix what writes the file, before it "
                            "expires." + token_file_fix(detect_ci(ctx.env))
                        ),
                    )
                )
            if _expiry.token_file_absent(info):
                out.append(
                    Finding(
                        code="TD333",
                        evidence=info,
                        fix=(
                            f"The web identity token file {path} "
                            + ("is " if info["problem"] == _expiry.TOKEN_FILE_MISSING else "")
                            + f"{info['problem']}: botocore cannot call "
                            "AssumeRoleWithWebIdentity. Fix AWS_WEB_IDENTITY_TOKEN_FILE / web_identity_token_file, "
                            "or (EKS IRSA) check the service account has the eks.amazonaws.com/role-arn annotation "
                            "and the pod was started after it was added."
                        ),
                    )
                )
            elif info.get("problem") or (exp is not None and exp <= now):
                out.append(
                    Finding(
                        code="TD207",
                        evidence=info,
                        fix=(
                            f"The token in {path} "
                            + (f"{info['problem']}" if info.get("problem") else f"expired at {info['exp']}")
                            + ". Whatever writes it (kubelet projected token, CI OIDC step) stopped rotating it: "
                            "restart the pod/job or fix the projector." + token_file_fix(detect_ci(ctx.env))
                        ),
                    )
                )
    return out


def _td247(analysis: ChainAnalysis, winner: ProviderState) -> Finding:
    """botocore's login provider failed after the CRT check: the cached `aws login` session is the problem
    (LoginTokenLoadError for a missing or incomplete entry, KeyError/ValueError from its cache for one that is
    not JSON), not the profile's settings."""
    session = analysis.profile_config().get("login_session")
    return Finding(
        code="TD247",
        evidence={"provider": "login", "profile": analysis.profile, "login_session": session, "problem": winner.detail},
        fix=(
            f"Profile '{analysis.profile}' has no usable `aws login` session here ({winner.detail}). Run "
            f"`aws login --profile {analysis.profile}` on this machine, as the user the program runs as; the token is "
            "cached under ~/.aws/login/cache (or AWS_LOGIN_CACHE_DIRECTORY)."
        ),
    )
