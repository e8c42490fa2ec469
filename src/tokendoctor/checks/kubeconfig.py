"""kubectl's AWS credentials: the kubeconfig exec plugins (``aws eks get-token``, ``aws-iam-authenticator``),
the profile each one makes the AWS CLI use, and that profile's chain winner.

Entry point: :func:`check`.  Offline: the profile is resolved statically with botocore's own resolver
(:func:`tokendoctor.chain.analyse_static`) in kubectl's environment plus the plugin's ``env``; nothing
is run.  Cause: TD246 kubeconfig-profile-broken, when that profile's credentials are broken or expired
and they are not the ones this shell already uses (those are the credentials check's findings).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tokendoctor import chain
from tokendoctor.chain import expiry as _expiry
from tokendoctor.chain.botocore_private import peek
from tokendoctor.context import Context
from tokendoctor.limits import NOT_REFRESHABLE_METHODS
from tokendoctor.models import CheckResult, Finding
from tokendoctor.probes import kubeconfig as _kubeconfig
from tokendoctor.redact import mask_key
from tokendoctor.timefmt import parse_time

NAME = "kubeconfig"
#: At most this many exec users are diagnosed (the current context's first).
MAX_DIAGNOSED = 5


def check(ctx: Context) -> CheckResult:
    config = _kubeconfig.read(ctx)
    data: dict[str, Any] = config.to_dict()
    if not config.users:
        reason = "no kubeconfig exec plugin uses AWS credentials"
        return CheckResult(name=NAME, status="skipped", detail=reason, data=data if config.problems else {})
    findings: list[Finding] = []
    users = sorted(config.users, key=lambda u: not u.current)[:MAX_DIAGNOSED]
    rows = []
    for user in users:
        same = _same_selection(ctx, user)
        verdict = _diagnose(ctx, user)
        rows.append({"user": user.name, "same_as_this_shell": same, **verdict})
        if verdict["problem"] and not same:
            findings.append(_finding(user, verdict))
    data["diagnosed"] = rows
    head = rows[0]
    data["summary"] = (
        f"kubectl user {head['user']}{' (current context)' if users[0].current else ''}: profile "
        f"{head['profile']} -> {head['method'] or 'no credentials'}"
        + (f" ({head['problem']})" if head["problem"] else "")
    )
    return CheckResult(name=NAME, findings=tuple(findings), data=data)


def _same_selection(ctx: Context, user: _kubeconfig.ExecUser) -> bool:
    """Whether the plugin resolves exactly what this shell resolves (same explicit profile, same AWS_* env)."""
    explicit = user.profile if user.profile_from == "--profile" else None
    return explicit == ctx.options.profile and all(ctx.env.get(k) == v for k, v in user.env.items())


def _sub_context(ctx: Context, user: _kubeconfig.ExecUser) -> Context:
    env = {**ctx.env, **user.env}
    options = dataclasses.replace(
        ctx.options,
        profile=user.profile if user.profile_from == "--profile" else None,
        offline=True,
        live=False,
    )
    return Context(env=env, root=ctx.root, now=ctx.now, options=options, redactor=ctx.redactor, process=ctx.process)


def _diagnose(ctx: Context, user: _kubeconfig.ExecUser) -> dict[str, Any]:
    sub = _sub_context(ctx, user)
    analysis = chain.analyse_static(sub)
    out: dict[str, Any] = {
        "profile": analysis.profile,
        "profile_source": analysis.profile_source if user.profile_from is None else user.profile_from,
        "role_arn": user.role_arn,
        "method": analysis.method,
        "access_key_id": None,
        "problem": None,
    }
    winner = analysis.winner
    if analysis.error is not None:
        out["problem"] = analysis.findings[0].fix if analysis.findings else analysis.error
        return out
    if winner is None:
        out["problem"] = "no credentials anywhere in the chain"
        return out
    if winner.status == "error":
        out["method"] = winner.method
        out["problem"] = winner.detail
        return out
    key, _token, at = peek(winner.creds)
    out["access_key_id"] = mask_key(key)
    now = ctx.now()
    found = _expiry.for_winner(sub, analysis, winner, at)
    if found is not None and winner.method in NOT_REFRESHABLE_METHODS and found.at <= now:
        out["problem"] = f"{winner.method} credentials expired at {found.at.isoformat()}"
    elif winner.method == "sso":
        info = _expiry.sso_token(sub, analysis) or {}
        exp = parse_time(info.get("expires_at"))
        if info.get("problem"):
            out["problem"] = f"SSO: {info['problem']}"
        elif exp is not None and exp <= now and not info.get("can_refresh"):
            out["problem"] = f"the SSO login expired at {info['expires_at']}"
    elif winner.method == "assume-role-with-web-identity":
        path, _role = _expiry.web_identity_settings(sub, analysis)
        info = _expiry.web_identity_token(sub, path) if path else {}
        exp = parse_time(info.get("exp"))
        if info.get("problem"):
            out["problem"] = f"web identity token file {path}: {info['problem']}"
        elif exp is not None and exp <= now:
            out["problem"] = f"the web identity token expired at {info['exp']}"
    return out


def _finding(user: _kubeconfig.ExecUser, verdict: dict[str, Any]) -> Finding:
    profile = verdict["profile"]
    problem = str(verdict["problem"])
    if problem.startswith("SSO") or "SSO login" in problem:
        first = f"`aws sso login --profile {profile}`"
    else:
        first = f"fix profile '{profile}' (run `tokendoctor check --profile {profile}` for its causes)"
    via = f" ({verdict['profile_source']})" if verdict.get("profile_source") else ""
    return Finding(
        code="TD246",
        evidence={
            "kube_user": user.name,
            "current_context": user.current,
            "command": user.command,
            "file": user.source,
            "profile": profile,
            "profile_source": verdict.get("profile_source"),
            "role_arn": user.role_arn,
            "chain_winner": verdict["method"],
            "problem": problem,
        },
        fix=(
            f"kubectl's user '{user.name}' runs {user.command} with AWS profile '{profile}'{via}, and its credentials "
            f"fail: {problem}. {first[0].upper() + first[1:]}, or point the plugin at a working profile: "
            f"`aws eks update-kubeconfig --name {user.cluster or 'CLUSTER'} --profile WORKING_PROFILE`."
        ),
    )
