"""The container credentials endpoint (ECS task role, EKS Pod Identity).

Entry point: :func:`check`.  Cause: TD306 container-credentials-failed, an
``error`` when the program would use the container role (botocore raises
instead of falling back when the endpoint fails), a ``warning`` otherwise.
Runs only when the environment names the endpoint; the request is not made with ``--offline``, but
the settings checks that need none are (TD331 container-auth-token-unusable, TD332 container-uri-refused).
"""

from __future__ import annotations

from typing import Any

from tokendoctor.context import Context
from tokendoctor.models import CheckResult, Finding, Severity
from tokendoctor.probes import container as _container
from tokendoctor.probes.imds import ROTATION_WINDOW_SECONDS

NAME = "container"


def check(ctx: Context) -> CheckResult:
    from tokendoctor.chain import analyse as chain

    probe = _container.probe(ctx)
    now = ctx.now()
    data: dict[str, Any] = probe.to_dict(now)
    static = _static_findings(ctx)  # also with --offline: they need no request
    if not probe.ran:
        if _container.configured(ctx.env):
            data["summary"] = f"not probed ({probe.reason})"
        if static:
            data["config_problems"] = [f.evidence["problem"] for f in static]
            return CheckResult(name=NAME, findings=tuple(static), detail=probe.reason, data=data)
        return CheckResult(name=NAME, status="skipped", detail=probe.reason, data=data)
    analysis = chain(ctx)
    used = analysis.winner is not None and analysis.winner.method == "container-role"
    findings: list[Finding] = list(static)
    evidence = {"url": probe.url, "uri_source": probe.uri_source, "authorization": probe.auth, "status": probe.status}
    if static and probe.status in ("host-not-allowed", "token-file-unreadable", "bad-url"):
        pass  # the same problem, already named by its own cause (TD331/TD332)
    elif probe.status != "ok":
        findings.append(
            Finding(
                code="TD306",
                severity="error" if used else "warning",
                evidence={**evidence, "problem": probe.problem},
                fix=f"{probe.uri_source} -> {probe.url}: {probe.problem}. " + _fix(probe),
            )
        )
    else:
        remaining = probe.seconds_remaining(now)
        if remaining is not None and remaining < ROTATION_WINDOW_SECONDS:
            expired = remaining <= 0
            findings.append(
                Finding(
                    code="TD306",
                    severity="error" if used else "warning",
                    title=(
                        "The container credentials endpoint serves EXPIRED credentials"
                        if expired
                        else "The container credentials endpoint serves credentials about to expire"
                    ),
                    evidence={
                        **evidence,
                        "expiration": probe.expiration,
                        "seconds_remaining": remaining,
                        "access_key_id": probe.access_key_id,
                    },
                    fix=(
                        f"The endpoint's credentials {'expired' if expired else 'expire'} at {probe.expiration}: the "
                        "agent that serves them (ECS agent / EKS Pod Identity agent) is not refreshing them. "
                        "Restart the task/pod; check the agent's logs and the instance clock."
                    ),
                )
            )
    summary = f"{probe.uri_source}: {probe.status}"
    if probe.expiration:
        summary += f", credentials expire {probe.expiration}"
    data["summary"] = summary
    return CheckResult(name=NAME, findings=tuple(findings), data=data)


def _static_findings(ctx: Context) -> list[Finding]:
    from tokendoctor.chain import analyse as chain
    from tokendoctor.chain import container_config

    found = container_config.problems(ctx)
    if not found:
        return []
    analysis = chain(ctx)
    used = analysis.winner is not None and analysis.winner.method == "container-role"
    severity: Severity = "error" if used else "warning"
    out: list[Finding] = []
    for problem in found:
        evidence = {"variable": problem.variable, "problem": problem.problem, "chain_uses_container": used}
        if problem.kind == "uri-refused":
            out.append(
                Finding(
                    code="TD332",
                    severity=severity,
                    evidence=evidence,
                    fix=(
                        f"botocore refuses {problem.variable}: {problem.problem}. Use https, a loopback address, or "
                        "the agent address (http://169.254.170.23/v1/credentials for EKS Pod Identity, "
                        "169.254.170.2 for ECS)."
                    ),
                )
            )
        else:
            out.append(
                Finding(
                    code="TD331",
                    severity=severity,
                    evidence={**evidence, "expired_at": problem.expired_at},
                    fix=(
                        f"{problem.variable}: {problem.problem}. "
                        + (
                            "The agent refuses an expired token: nothing rotates the file; restart the pod and check "
                            "the eks-pod-identity-token projected volume."
                            if problem.expired_at
                            else "botocore reads it on every credential fetch: mount the eks-pod-identity-token "
                            "projected volume at that path (EKS Pod Identity adds it to the pod spec), or unset the "
                            "variable."
                        )
                    ),
                )
            )
    return out


def _fix(probe: _container.ContainerProbe) -> str:
    if probe.status == "host-not-allowed":
        return "Use https, a loopback address, or the ECS/EKS agent address in AWS_CONTAINER_CREDENTIALS_FULL_URI."
    if probe.status == "token-file-unreadable":
        return "Make AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE readable (EKS Pod Identity mounts it; check the pod spec)."
    if probe.status in ("http-401", "http-403"):
        return "The endpoint refused the authorization token: it is stale or for another task; restart the task/pod."
    if probe.status in ("timeout", "unreachable"):
        return (
            "The credentials agent does not answer: check that the ECS agent / eks-pod-identity-agent DaemonSet runs."
        )
    return (
        "Check the task role (taskRoleArn in the task definition) or the pod identity association "
        "(aws eks list-pod-identity-associations --cluster-name CLUSTER)."
    )
