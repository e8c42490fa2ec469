"""EC2 instance metadata: can the instance role's credentials be reached, and are they fresh?

Entry point: :func:`check`.  Causes: TD301 imds-hop-limit, TD302
imds-unreachable, TD303 imds-no-role, TD304 imds-credentials-stale, TD305
imds-disabled, TD307 imds-bad-response, and TD103 env-shadows-instance-role
confirmed with the role name instance metadata offers.

A cause is an ``error`` when the program would actually depend on instance
metadata (the chain falls through to ``iam-role``), otherwise a ``warning``.
The data (``imds`` in the JSON) includes ``date_header_offset_seconds``, the
local clock minus the IMDS ``Date`` header, as a clock reference.
"""

from __future__ import annotations

from typing import Any

from tokendoctor.context import Context
from tokendoctor.models import CheckResult, Finding, Severity
from tokendoctor.probes import imds as _imds
from tokendoctor.timefmt import relative, span

NAME = "imds"
#: Providers whose credentials are not rotated and that come before the instance role.
_STATIC = {"env", "shared-credentials-file", "config-file", "boto-config", "ec2-credentials-file"}
_HOP_FIX = (
    "aws ec2 modify-instance-metadata-options --instance-id {iid} --http-put-response-hop-limit 2 "
    "--http-endpoint enabled   (for new instances: launch template MetadataOptions.HttpPutResponseHopLimit=2)"
)


def check(ctx: Context) -> CheckResult:
    from tokendoctor.chain import analyse as chain
    from tokendoctor.probes.platform import detect

    probe = _imds.probe(ctx)
    plat = detect(ctx)
    now = ctx.now()
    data: dict[str, Any] = probe.to_dict(now)
    findings: list[Finding] = []
    if not probe.ran:
        switched_off = _switched_off(probe)
        if switched_off and (plat.on_ec2 or ctx.options.imds is True):
            analysis = chain(ctx)
            winner = analysis.winner.method if analysis.winner is not None else None
            findings.append(
                Finding(
                    code="TD305",
                    severity="error" if winner is None else "warning",
                    evidence={"platform": plat.kind, "switched_off_by": switched_off, "chain_winner": winner},
                    fix=(
                        f"This is {plat.kind}, but {switched_off} keeps botocore away from the instance role. "
                        + (
                            "`unset AWS_EC2_METADATA_DISABLED`."
                            if "DISABLED" in switched_off
                            else "Remove metadata_service_num_attempts = 0 from the config."
                        )
                    ),
                )
            )
        data["summary"] = f"not probed ({probe.reason})"
        return CheckResult(name=NAME, status="skipped", detail=probe.reason, findings=tuple(findings), data=data)

    analysis = chain(ctx)
    winner = analysis.winner.method if analysis.winner is not None else None
    # the chain needs IMDS: the instance role itself, or a role profile sourced from it (credential_source)
    depends = (
        winner is None
        or winner == "iam-role"
        or (winner == "assume-role" and analysis.profile_config().get("credential_source") == "Ec2InstanceMetadata")
    )
    sev: Severity = "error" if depends else "warning"
    iid = probe.instance_id or "INSTANCE_ID"
    endpoint = probe.settings.endpoint if probe.settings else "?"
    base = {"endpoint": endpoint, "token": probe.token, "v1": probe.v1}
    if probe.token == "timeout" and probe.v1 in ("ok", "disabled"):
        no_creds = probe.v1 == "disabled" or (probe.settings is not None and probe.settings.v1_disabled)
        findings.append(
            Finding(
                code="TD301",
                severity=sev if no_creds else "warning",
                evidence={**base, "v1_disabled_in_config": probe.settings.v1_disabled if probe.settings else None},
                fix=(
                    "The IMDSv2 token PUT times out while a plain GET answers: the response hop limit is too low "
                    "for this container. "
                    + (
                        "With IMDSv1 disabled the SDK gets no credentials at all. "
                        if no_creds
                        else "botocore waits out its timeout and falls back to IMDSv1 on every refresh. "
                    )
                    + _HOP_FIX.format(iid=iid)
                ),
            )
        )
    elif not probe.reachable or (
        probe.token in ("timeout", "unreachable") and probe.v1 in ("timeout", "unreachable", "error")
    ):
        findings.append(
            Finding(
                code="TD302",
                severity=sev,
                evidence={**base, "problems": [f"{p}: {w}" for p, w in probe.problems][:5]},
                fix=(
                    f"Nothing answered at {endpoint} (token {probe.token}, plain GET {probe.v1}). "
                    "If this is EC2: aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID "
                    "--http-endpoint enabled; "
                    "check iptables/proxy rules for 169.254.169.254 (NO_PROXY=169.254.169.254)."
                ),
            )
        )
    elif probe.token != "ok" and probe.v1 == "disabled":
        findings.append(
            Finding(
                code="TD302",
                severity=sev,
                evidence=base,
                fix=f"The token request was {probe.token} (HTTP {probe.token_http_status}) and IMDSv1 is disabled: no "
                "way in. " + _HOP_FIX.format(iid=iid),
            )
        )
    elif probe.role_status == "none":
        findings.append(
            Finding(
                code="TD303",
                severity=sev,
                evidence={"endpoint": endpoint, "instance_id": probe.instance_id},
                fix=f"aws ec2 associate-iam-instance-profile --instance-id {iid} --iam-instance-profile "
                "Name=PROFILE_NAME",
            )
        )
    elif probe.role_status == "error" or (probe.credentials_status not in ("ok", "not-tried")):
        timed_out = probe.credentials_status == "timeout"
        findings.append(
            Finding(
                code="TD302" if timed_out else "TD307",
                severity=sev,
                evidence={
                    "role_name": probe.role_name,
                    "role_status": probe.role_status,
                    "credentials_status": probe.credentials_status,
                    "problems": [f"{p}: {w}" for p, w in probe.problems][:5],
                },
                fix="; ".join(w for _, w in probe.problems[:2]) + ". " + _bad_fix(probe),
            )
        )
    creds = probe.credentials
    if creds is not None and probe.credentials_status == "ok" and creds.expires_at is not None:
        remaining = creds.seconds_remaining(now)
        assert remaining is not None
        if remaining < _imds.ROTATION_WINDOW_SECONDS:
            expired = remaining <= 0
            findings.append(
                Finding(
                    code="TD304",
                    severity=sev,
                    title=(
                        "Instance metadata serves EXPIRED role credentials (rotation stopped)"
                        if expired
                        else "Instance role credentials are inside IMDS's 5-minute rotation window (rotation stopped)"
                    ),
                    evidence={
                        "role_name": probe.role_name,
                        "expiration": creds.expiration,
                        "last_updated": creds.last_updated,
                        "seconds_remaining": remaining,
                        "access_key_id": creds.access_key_id,
                        "chain_winner": winner,
                    },
                    fix=(
                        f"Role {probe.role_name}: the document IMDS serves "
                        + (f"expired {span(remaining)} ago" if expired else f"expires in {remaining} s")
                        + " and was not replaced (IMDS rotates at least 5 minutes ahead; botocore hides this by "
                        "extending expired instance credentials). Re-associate the instance profile: "
                        "aws ec2 describe-iam-instance-profile-associations --filters Name=instance-id,Values="
                        f"{iid}, then aws ec2 replace-iam-instance-profile-association --association-id ASSOCIATION_ID "
                        "--iam-instance-profile Name=PROFILE_NAME; also check the instance clock."
                    ),
                )
            )
    if probe.role_name and winner in _STATIC:
        findings.append(
            Finding(
                code="TD103",
                evidence={
                    "used": winner,
                    "shadowed": "iam-role",
                    "role_name": probe.role_name,
                    "instance_profile_arn": probe.instance_profile_arn,
                },
                fix=(
                    f"Instance metadata offers role '{probe.role_name}', which botocore would rotate for you, but "
                    f"credentials from {winner} come first. Remove them"
                    + (
                        " (`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN`)"
                        if winner == "env"
                        else f" from profile '{analysis.profile}'"
                    )
                    + " so the SDK falls through to the instance role."
                ),
            )
        )
    data["summary"] = _summary(probe, now)
    data["rows"] = _rows(probe, now)
    return CheckResult(name=NAME, findings=tuple(findings), data=data)


def _switched_off(probe: _imds.ImdsProbe) -> str | None:
    """The setting that keeps botocore away from instance metadata, also when --offline kept the probe from running
    (the setting alone decides it: no request needed)."""
    if probe.reason.startswith(("AWS_EC2_METADATA_DISABLED", "metadata_service_num_attempts")):
        return probe.reason
    settings = probe.settings
    if settings is None:
        return None
    if settings.disabled_by_env:
        return "AWS_EC2_METADATA_DISABLED=true"
    if settings.num_attempts <= 0:
        return "metadata_service_num_attempts is 0"
    return None


def _bad_fix(probe: _imds.ImdsProbe) -> str:
    if probe.credentials_status == "not-success":
        return "Code other than Success: make sure the role's trust policy allows ec2.amazonaws.com to assume it."
    if probe.credentials_status == "timeout":
        return "Instance metadata is too slow to answer; check the instance's load and any proxy on 169.254.169.254."
    return (
        "Something other than IMDS may be answering on the metadata address (a proxy or agent): "
        "set NO_PROXY=169.254.169.254."
    )


def _summary(probe: _imds.ImdsProbe, now: Any) -> str:
    parts = [f"token {probe.token}"]
    if probe.v1 != "not-tried":
        parts.append(f"v1 {probe.v1}")
    if probe.role_name:
        parts.append(f"role {probe.role_name}")
    elif probe.role_status == "none":
        parts.append("no role")
    if probe.credentials is not None and probe.credentials.expires_at is not None:
        left = probe.credentials.seconds_remaining(now) or 0
        parts.append(f"credentials expire {probe.credentials.expiration} ({relative(left)})")
    if probe.date_offset_seconds is not None:
        parts.append(f"clock {probe.date_offset_seconds:+.0f}s vs IMDS Date")
    return ", ".join(parts)


def _rows(probe: _imds.ImdsProbe, now: Any) -> list[tuple[str, str]]:
    rows = [("endpoint", probe.settings.endpoint if probe.settings else "?"), ("IMDSv2 token", probe.token)]
    if probe.v1 != "not-tried":
        rows.append(("IMDSv1 GET", probe.v1))
    for label, value in (
        ("role", probe.role_name),
        ("instance profile", probe.instance_profile_arn),
        ("instance", probe.instance_id),
        ("region", probe.region),
    ):
        if value:
            rows.append((label, value))
    creds = probe.credentials
    if creds is not None:
        rows.append(("credential document", f"Code={creds.code} Type={creds.type} LastUpdated={creds.last_updated}"))
        rows.append(("expiration (raw)", f"{creds.expiration} ({creds.seconds_remaining(now)} s left)"))
    for path, what in probe.problems[:5]:
        rows.append((path, what))
    return rows
