"""The sdk check: which credentials the SDK chosen with ``--sdk`` would use on this machine, and
where the SDKs disagree (TD506-TD509).  The chain walk is :mod:`tokendoctor.sdk_chains.evaluate`.

:func:`adjust` is a post-step (declared in :data:`tokendoctor.checks.POST_STEPS`) that removes
credentials-check findings which only hold under botocore's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from tokendoctor.context import Context
from tokendoctor.models import CheckResult, Finding
from tokendoctor.redact import mask_key
from tokendoctor.sdk_chains import tables as sdks
from tokendoctor.sdk_chains.evaluate import Evaluation, State, evaluate, machine_state
from tokendoctor.sdk_chains.java import JVM_OPTION_ENV

NAME = "sdk"


def check(ctx: Context) -> CheckResult:
    state = machine_state(ctx)
    chain = sdks.get(ctx.options.sdk)
    evaluations = {name: evaluate(sdks.get(name), state) for name in sdks.NAMES}
    selected = evaluations[chain.name]
    botocore = evaluations["python"]
    disagreements: list[dict[str, Any]] = [
        {"sdk": name, "winner": ev.winner.provider if ev.winner else None, "source": ev.source}
        for name, ev in evaluations.items()
        if name != chain.name and ev.source != selected.source
    ]
    window = chain.refresh_window
    data: dict[str, Any] = {
        "name": chain.name,
        "title": chain.title,
        "source_url": chain.source_url,
        "read_at": chain.read_at,
        "profile": selected.profile,
        "profile_selected_by": selected.profile_selected_by,
        "chain": [r.to_dict() for r in selected.rows],
        "winner": selected.winner.provider if selected.winner else None,
        "winner_source": selected.source,
        "winner_refreshes": selected.refreshes,
        "botocore_winner": botocore.winner.provider if botocore.winner else None,
        "botocore_source": botocore.source,
        "refresh_window": {
            "summary": window.summary,
            "advisory_seconds": window.advisory_seconds,
            "mandatory_seconds": window.mandatory_seconds,
            "source_url": window.source_url,
        },
        "disagreements": disagreements,
        "notes": list(chain.notes),
        "unconfirmed": list(chain.unconfirmed),
    }
    data["summary"] = _summary(chain, selected, botocore, [d["sdk"] for d in disagreements])
    findings = _findings(ctx, chain, state, selected, botocore)
    return CheckResult(name=NAME, findings=tuple(findings), data=data)


def _describe(ev: Evaluation) -> str:
    if ev.winner is None:
        return "no credentials"
    if ev.winner.status == "error":
        return f"an error at {ev.winner.provider} ({ev.winner.detail})"
    return f"{ev.winner.provider} ({ev.winner.detail})" if ev.winner.detail else ev.winner.provider


def _summary(chain: sdks.SdkChain, selected: Evaluation, botocore: Evaluation, disagreeing: Sequence[str]) -> str:
    if selected.winner is None:
        text = f"{chain.name} would find no credentials"
    elif selected.winner.status == "error":
        text = f"{chain.name} would fail at {selected.winner.provider}"
    else:
        text = f"{chain.name} would use {selected.winner.provider} ({selected.source})"
    if not chain.uses_botocore:
        text += (
            "; botocore agrees"
            if selected.source == botocore.source
            else f"; botocore uses {botocore.winner.provider if botocore.winner else 'nothing'} ({botocore.source})"
        )
    if disagreeing:
        text += f"; differs: {', '.join(disagreeing)}"
    window = chain.refresh_window.advisory_seconds
    return text + (f"; refreshes {window // 60} min before expiry" if window else "")


def _findings(
    ctx: Context, chain: sdks.SdkChain, state: State, selected: Evaluation, botocore: Evaluation
) -> list[Finding]:
    out: list[Finding] = []
    if chain.uses_botocore:
        return out
    if selected.source != botocore.source:
        out.append(
            Finding(
                code="TD506",
                evidence={
                    "sdk": chain.name,
                    "sdk_winner": selected.winner.provider if selected.winner else None,
                    "sdk_source": selected.source,
                    "botocore_winner": botocore.winner.provider if botocore.winner else None,
                    "botocore_source": botocore.source,
                },
                fix=_td506_fix(chain, selected, botocore),
            )
        )
    sysprops = next((r for r in selected.rows if r.provider == "system-properties"), None)
    if sysprops is not None and sysprops.found and chain.system_properties is not None:
        names = [f"-D{p}" for p in chain.system_properties if state.props.values.get(p)]
        key = state.props.values.get(chain.system_properties[0])
        out.append(
            Finding(
                code="TD507",
                severity="error"
                if sysprops.status == "used" and state.props.values.get(chain.system_properties[2])
                else None,
                evidence={
                    "sdk": chain.name,
                    "properties": names,
                    "origin": sorted({state.props.origin.get(p[2:], "") for p in names}),
                    "access_key_id": mask_key(key),
                    "status": sysprops.status,
                },
                fix=(
                    f"Remove {' '.join(names)} from the java command line"
                    + (
                        " (and JAVA_TOOL_OPTIONS/JDK_JAVA_OPTIONS)"
                        if any(state.props.origin.get(p[2:]) in JVM_OPTION_ENV for p in names)
                        else ""
                    )
                    + ". System properties are static: nothing refreshes them. Start the JVM with AWS_PROFILE set to "
                    "a role profile "
                    "(role_arn + source_profile or credential_source) or let it use the instance/container role."
                ),
            )
        )
    if selected.profile != botocore.profile and selected.profile_selected_by != "--profile":
        out.append(
            Finding(
                code="TD508",
                evidence={
                    "sdk": chain.name,
                    "sdk_profile": selected.profile,
                    "sdk_selected_by": selected.profile_selected_by,
                    "botocore_profile": botocore.profile,
                    "botocore_selected_by": botocore.profile_selected_by,
                },
                fix=(
                    f"{chain.name} reads profile '{selected.profile}' ({selected.profile_selected_by}) but botocore "
                    "and the AWS CLI read "
                    f"'{botocore.profile}' ({botocore.profile_selected_by}). Use one variable: `export "
                    "AWS_PROFILE=NAME; unset AWS_DEFAULT_PROFILE`"
                    + (
                        " and drop -Daws.profile from the java command line."
                        if "aws.profile" in state.props.values
                        else "."
                    )
                ),
            )
        )
    out.extend(_alias_findings(chain, state, selected))
    return out


def _alias_findings(chain: sdks.SdkChain, state: State, selected: Evaluation) -> list[Finding]:
    env = state.env
    env_row = next((r for r in selected.rows if r.provider == "env"), None)
    if env_row is None or not env_row.found:
        return []
    problems = []
    if selected.env_aliases:
        problems.append(
            f"{chain.name} takes credentials from {', '.join(selected.env_aliases)}, which botocore and the AWS CLI "
            "do not read"
        )
    first_secret = next((v for v in chain.secret_key_vars if env.get(v)), None)
    if (
        first_secret
        and first_secret != "AWS_SECRET_ACCESS_KEY"
        and env.get("AWS_SECRET_ACCESS_KEY")
        and env["AWS_SECRET_ACCESS_KEY"] != env[first_secret]
    ):
        problems.append(
            f"{first_secret} and AWS_SECRET_ACCESS_KEY differ; {chain.name} uses {first_secret}, botocore "
            "AWS_SECRET_ACCESS_KEY"
        )
    if (
        env.get("AWS_SECURITY_TOKEN")
        and env.get("AWS_SESSION_TOKEN")
        and env["AWS_SECURITY_TOKEN"] != env["AWS_SESSION_TOKEN"]
        and "AWS_SECURITY_TOKEN" not in chain.token_vars
    ):
        problems.append(
            f"AWS_SECURITY_TOKEN and AWS_SESSION_TOKEN differ; botocore uses AWS_SECURITY_TOKEN, {chain.name} "
            "AWS_SESSION_TOKEN"
        )
    if not problems:
        return []
    stray = sorted(v for v in ("AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SECURITY_TOKEN") if env.get(v))
    return [
        Finding(
            code="TD509",
            evidence={"sdk": chain.name, "variables": stray, "problems": problems},
            fix=f"`unset {' '.join(stray)}` and export only AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
            "AWS_SESSION_TOKEN from one session (or none).",
        )
    ]


def _td506_fix(chain: sdks.SdkChain, selected: Evaluation, botocore: Evaluation) -> str:
    head = (
        f"{chain.title} uses {_describe(selected)}; boto3 and the AWS CLI use {_describe(botocore)}. "
        "What `aws sts get-caller-identity` shows is not what this program uses. "
    )
    source = selected.source
    if source == "system-properties":
        return head + "Remove the -Daws.* credential properties from the java command line."
    if source == "env":
        return (
            head
            + "`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ACCESS_KEY AWS_SECRET_KEY` before "
            "starting the program so it reaches the refreshable source."
        )
    if source.startswith("profile:") and selected.env_skipped_with_credentials:
        return head + (
            f"JS v3 ignores the exported keys because {selected.profile_selected_by} is set: fix profile "
            f"'{selected.profile}' "
            "or, if the keys are what you meant, `unset AWS_PROFILE` (better: unset the keys and keep the profile)."
        )
    if source.startswith("profile:"):
        return (
            head
            + f"Check profile '{selected.profile}' ({selected.profile_selected_by}) in ~/.aws/config; that is what "
            "this SDK refreshes from."
        )
    if source == "none":
        return (
            head + "Give this SDK a source it reads (see the chain table): a profile via AWS_PROFILE, or the "
            "instance/container role."
        )
    return head + "Inspect that source (see the chain table), not the CLI's."


# --------------------------------------------------------------------- derive step

_BOTOCORE_ORDER_CODES = {"TD101", "TD102", "TD106"}


def adjust(results: Sequence[CheckResult]) -> list[CheckResult]:
    """Drop credentials findings that only hold under botocore's order when another SDK was chosen.

    * TD101 (static env session) and TD102 (env shadows the profile) need the
      SDK to use the environment credentials: dropped when it does not (JS v3
      with AWS_PROFILE set, Java v2 with -Daws.* properties, ...).
    * TD106 (AWS_DEFAULT_PROFILE vs AWS_PROFILE, "botocore uses ...") is about
      botocore's precedence: dropped; TD508 states the chosen SDK's instead.
    Pure: no I/O.
    """
    sdk = next((r for r in results if r.name == NAME and r.data), None)
    if sdk is None or sdk.data.get("name") in ("python", "cli-v2"):
        return list(results)
    env_wins = sdk.data.get("winner_source") == "env"
    out = []
    for result in results:
        if result.name != "credentials":
            out.append(result)
            continue
        kept = tuple(
            _neutral_td102(f, sdk.data) if f.code == "TD102" else f
            for f in result.findings
            if f.code not in _BOTOCORE_ORDER_CODES or (f.code in ("TD101", "TD102") and env_wins)
        )
        out.append(replace(result, findings=kept) if kept != result.findings else result)
    return out


def _neutral_td102(finding: Finding, data: Mapping[str, Any]) -> Finding:
    """TD102's fix names boto3; say what holds for the chosen SDK instead."""
    profile = finding.evidence.get("profile")
    return replace(
        finding,
        fix=(
            f"{data.get('name')} reads the environment credentials before profile '{profile}'. "
            "`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ACCESS_KEY AWS_SECRET_KEY` "
            "before starting the program."
        ),
    )
