"""The lifetime check: will the chain keep producing credentials as long as the job needs (``--for``), is a
source the next refresh needs already dead, and are the role sessions asked for possible (TD220-TD224).

The model is :mod:`tokendoctor.chain.lifetime`; its data is reported under ``credentials.lifetime`` by the
credentials check.
"""

from __future__ import annotations

from tokendoctor.chain import lifetime as _lifetime
from tokendoctor.context import Context
from tokendoctor.limits import ASSUME_ROLE_MAX, ASSUME_ROLE_MIN, ROLE_CHAINING_MAX
from tokendoctor.models import CheckResult, Finding
from tokendoctor.timefmt import iso, relative, span

NAME = "lifetime"


def check(ctx: Context) -> CheckResult:
    life = _lifetime.analyse(ctx)
    findings: list[Finding] = []
    findings += _process(life)
    findings += _stale_source(life)
    findings += _roles(life)
    findings += _job_length(life)
    return CheckResult(name=NAME, findings=tuple(findings))


def _process(life: _lifetime.Lifetime) -> list[Finding]:
    if life.process_error is None:
        return []
    return [
        Finding(
            code="TD224",
            evidence={"profile": life.process_profile, "error": life.process_error},
            fix=(
                f"botocore runs profile {life.process_profile}'s credential_process and gets: {life.process_error}. "
                "Run the command by hand, fix what it reports, and make it print a fresh Expiration."
            ),
        )
    ]


def _stale_source(life: _lifetime.Lifetime) -> list[Finding]:
    """Only for a role: its refresh (or, for an MFA role, its first AssumeRole) is signed with links[1:],
    whatever links[0] (the current session) says."""
    if not life.links or life.links[0].kind != "role-session":
        return []
    for link in life.links[1:]:
        if link.stale and link.kind != "process-output":  # a failing process is TD224
            when = (
                f"expired at {iso(link.expires_at)} ({relative((link.expires_at - life.now).total_seconds())})"
                if link.expires_at is not None
                else "is unusable"
            )
            return [
                Finding(
                    code="TD221",
                    evidence={
                        "role": life.links[0].label,
                        "source": link.label,
                        "origin": link.origin,
                        "expires_at": iso(link.expires_at),
                        "expiry_source": link.expiry_source,
                    },
                    fix=f"{link.label[0].upper()}{link.label[1:]} {when}, and botocore signs every AssumeRole for "
                    f"{life.links[0].label} with it. " + (link.fix or "Fix the source."),
                )
            ]
    return []


def _roles(life: _lifetime.Lifetime) -> list[Finding]:
    out: list[Finding] = []
    for role in life.roles:
        evidence = {
            "profile": role.profile,
            "role_arn": role.role_arn,
            "duration_seconds": role.duration_raw,
            "chained_from": role.chained_from,
        }
        duration = role.duration_seconds
        if role.duration_raw is not None and (duration is None or not ASSUME_ROLE_MIN <= duration <= ASSUME_ROLE_MAX):
            out.append(
                Finding(
                    code="TD223",
                    evidence=evidence,
                    fix=f"Profile {role.profile} sets duration_seconds = {role.duration_raw}; AssumeRole accepts "
                    f"{ASSUME_ROLE_MIN} to {ASSUME_ROLE_MAX}"
                    + (f" ({ROLE_CHAINING_MAX} when chained from {role.chained_from})" if role.chained_from else "")
                    + f". Set e.g. `aws configure set duration_seconds {ROLE_CHAINING_MAX} --profile {role.profile}`, "
                    "or remove the line.",
                )
            )
            continue
        if role.chained_from is None:
            continue
        too_long = duration is not None and duration > ROLE_CHAINING_MAX
        out.append(
            Finding(
                code="TD222",
                severity="error" if too_long else "warning",
                title=(
                    f"duration_seconds = {duration} is refused: the role is chained from {role.chained_from} "
                    f"(1 hour cap)"
                    if too_long
                    else ""
                ),
                evidence=evidence,
                fix=(
                    f"Profile {role.profile} assumes {role.role_arn} with credentials of {role.chained_from}: role "
                    f"chaining, which STS caps at {ROLE_CHAINING_MAX} s per session. "
                    + (
                        f"Its duration_seconds = {duration} makes every AssumeRole fail: "
                        f"`aws configure set duration_seconds {ROLE_CHAINING_MAX} --profile {role.profile}`. "
                        if too_long
                        else "botocore re-assumes it every hour, but anything that copies the session out "
                        "(exports, presigned URLs) gets at most 1 h. "
                    )
                    + "For longer sessions assume the role from long-term keys (source_profile) instead."
                ),
            )
        )
    return out


def _job_length(life: _lifetime.Lifetime) -> list[Finding]:
    if life.enough is not False or life.for_seconds is None:
        return []
    link = life.limiting_link
    need = span(life.for_seconds)
    if link is None:
        return []
    if life.horizon is None:
        lasts = "for an unknown time: its expiry is not recorded anywhere and nothing renews it"
    else:
        lasts = f"until {iso(life.horizon)} ({relative((life.horizon - life.now).total_seconds())})"
    return [
        Finding(
            code="TD220",
            evidence={
                "for_seconds": int(life.for_seconds),
                "horizon": iso(life.horizon),
                "horizon_kind": life.horizon_kind,
                "limited_by": link.label,
                "origin": link.origin,
                "expiry_source": link.expiry_source,
            },
            fix=f"The job needs {need}; the credentials last {lasts}, limited by {link.label}. "
            + (link.fix or "Replace it with a link botocore renews (see docs/lifetime.md)."),
        )
    ]
