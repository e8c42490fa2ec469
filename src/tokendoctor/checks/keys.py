"""The static keys the program uses, read for what their shape says before any request is sent.

Entry point: :func:`check`.  Offline.  Causes: TD120 blank-env-credentials, TD121
long-term-key-with-env-token, TD240 long-term-key-with-file-token, TD122
global-sts-token-opt-in-region, TD241 placeholder-credentials.  Only for the static providers
(environment, credentials/config file), whose values botocore sends exactly as written.
"""

from __future__ import annotations

from typing import Any

from tokendoctor import chain
from tokendoctor.botocore_env import botocore_environment, unsafe_files_once
from tokendoctor.chain import keyshape
from tokendoctor.chain.botocore_private import peek
from tokendoctor.chain.model import FILE_METHODS, ChainAnalysis
from tokendoctor.context import Context
from tokendoctor.limits import OPT_IN_REGIONS
from tokendoctor.models import CheckResult, Finding
from tokendoctor.redact import mask_key

NAME = "keys"
_ENV_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def check(ctx: Context) -> CheckResult:
    analysis = chain.analyse(ctx)
    winner = analysis.winner
    if analysis.error is not None or winner is None or winner.status == "error":
        return CheckResult(name=NAME, status="skipped", detail="no static credentials resolved")
    method = winner.method
    if method != "env" and method not in FILE_METHODS:
        return CheckResult(name=NAME, status="skipped", detail=f"{method} credentials are not static keys")
    key, token, _ = peek(winner.creds)
    ctx.redactor.add(token)
    kind = keyshape.key_kind(key)
    version = keyshape.sts_token_version(token) if token else None
    region = _region(ctx)
    data: dict[str, Any] = {
        "method": method,
        "access_key_id": mask_key(key),
        "key_kind": kind,
        "has_session_token": bool(token),
        "token_version": version,
        "region": region,
    }
    findings: list[Finding] = []
    if method == "env":
        findings.extend(_whitespace(ctx))
    if kind == "long-term" and token:
        findings.append(_long_term_with_token(ctx, analysis, method, key))
    if version == "v1" and region in OPT_IN_REGIONS:
        findings.append(
            Finding(
                code="TD122",
                evidence={"method": method, "access_key_id": mask_key(key), "token_version": "v1", "region": region},
                fix=(
                    f"The session token is a version 1 token from the global endpoint sts.amazonaws.com, and region "
                    f"{region} is an opt-in region that accepts only version 2 tokens. Request the session from "
                    f"https://sts.{region}.amazonaws.com (`aws sts ... --region {region} --endpoint-url "
                    f"https://sts.{region}.amazonaws.com`, or AWS_STS_REGIONAL_ENDPOINTS=regional for the tool that "
                    "requests it), or switch the account to version 2 tokens: `aws iam "
                    "set-security-token-service-preferences --global-endpoint-token-version v2Token`."
                ),
            )
        )
    source = keyshape.placeholder(key)
    override = keyshape.endpoint_override(ctx.env, analysis.profile_config())
    data["placeholder"] = source
    data["endpoint_override"] = override
    if source and override is None:
        findings.append(
            Finding(
                code="TD241",
                evidence={"method": method, "access_key_id": key, "placeholder": source},
                fix=(
                    f"{key} is {source}; AWS never issued it, and nothing points this SDK at an emulator. For "
                    "LocalStack `export AWS_ENDPOINT_URL=http://localhost:4566`, for moto's server "
                    "`export AWS_ENDPOINT_URL=http://localhost:5000`; against AWS, "
                    + (
                        "`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN`."
                        if method == "env"
                        else f"replace the keys in profile '{analysis.profile}'."
                    )
                ),
            )
        )
    data["summary"] = f"{method}: {mask_key(key)} ({kind or 'unknown kind'})" + (
        f", session token {version or 'of unknown version'}" if token else ""
    )
    return CheckResult(name=NAME, findings=tuple(findings), data=data)


def _whitespace(ctx: Context) -> list[Finding]:
    problems = {var: p for var in _ENV_VARS if (p := keyshape.whitespace_problem(ctx.env.get(var)))}
    if not problems:
        return []
    names = " ".join(sorted(problems))
    return [
        Finding(
            code="TD120",
            evidence={"variables": sorted(problems), "problems": [f"{v} is {p}" for v, p in sorted(problems.items())]},
            fix=(
                f"{', '.join(f'{v} is {p}' for v, p in sorted(problems.items()))}; botocore uses it as it is and "
                f"AWS rejects it. `unset {names}` (then the chain falls through to your profile or role), or export "
                "the value again without the whitespace."
            ),
        )
    ]


def _long_term_with_token(ctx: Context, analysis: ChainAnalysis, method: str, key: str | None) -> Finding:
    if method == "env":
        variables = [v for v in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN") if ctx.env.get(v)]
        return Finding(
            code="TD121",
            evidence={"access_key_id": mask_key(key), "token_variables": variables},
            fix=(
                f"{mask_key(key)} is an IAM user's long-term key; {' and '.join(variables)} left from an earlier "
                f"session makes AWS answer InvalidClientTokenId. `unset {' '.join(variables)}`."
            ),
        )
    path = analysis.credentials_file if method == "shared-credentials-file" else analysis.config_file
    return Finding(
        code="TD240",
        evidence={"profile": analysis.profile, "file": path, "access_key_id": mask_key(key)},
        fix=(
            f"Profile '{analysis.profile}' in {path} has the long-term key {mask_key(key)} and an old "
            "aws_session_token (`aws configure` leaves it behind): AWS answers InvalidClientTokenId. Delete the "
            f"aws_session_token and aws_security_token lines under [{analysis.profile}] in {path}."
        ),
    )


def _region(ctx: Context) -> str | None:
    """The region botocore would use for this profile (environment, then the config)."""
    import botocore.exceptions
    import botocore.session

    if unsafe_files_once(ctx):  # botocore would read a FIFO, a device or a huge file whole: TD205 says which
        return None
    with botocore_environment(ctx.env):
        try:
            value = botocore.session.Session(profile=ctx.options.profile).get_config_variable("region")
        except (botocore.exceptions.BotoCoreError, ValueError):
            return None
    return str(value) if value else None
