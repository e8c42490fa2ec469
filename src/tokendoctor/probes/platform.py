"""Where am I, without the network: EC2, a container, Lambda, CI, or a plain machine.

Entry point: :func:`detect`, memoised per run through :meth:`Context.once`.
Everything is read through the context (``ctx.env`` and ``ctx.path``) so tests
can describe any machine with a fake sysfs root.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from tokendoctor import files
from tokendoctor.context import Context
from tokendoctor.probes.ci import CiPlatform
from tokendoctor.probes.ci import detect as detect_ci

_DMI_FILES = ("/sys/devices/virtual/dmi/id/sys_vendor", "/sys/devices/virtual/dmi/id/board_vendor")
_UUID_FILES = ("/sys/devices/virtual/dmi/id/product_uuid", "/sys/hypervisor/uuid")
#: Xen-based instances say "Xen" as vendor but carry an Amazon BIOS version ("4.11.amazon").
_BIOS_FILE = "/sys/devices/virtual/dmi/id/bios_version"
#: EKS Pod Identity agent addresses and token file.
_POD_IDENTITY_HOSTS = ("169.254.170.23", "[fd00:ec2::23]")


@dataclass(frozen=True)
class Platform:
    kind: str
    """``ec2``, ``ecs``, ``eks-pod-identity``, ``eks-irsa``, ``lambda``, ``codebuild``, a CI system
    (``github-actions``, ``gitlab-ci``, ``circleci``, ``bitbucket-pipelines``, ``buildkite``,
    ``jenkins``), ``container-on-ec2``, ``container-endpoint`` (a container credentials URI
    outside ECS/EKS) or ``none``."""
    evidence: list[str] = field(default_factory=list)
    on_ec2: bool = False
    ci: CiPlatform | None = None
    """The CI system running this job, also when the kind says where its runner lives (eks-irsa, ec2)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "evidence": list(self.evidence), "on_ec2": self.on_ec2}
        if self.ci is not None:
            out["ci"] = self.ci.to_dict()
        return out


def _read(ctx: Context, path: str) -> str | None:
    try:
        return files.read_bytes(ctx.path(path), 256, head=True).decode("ascii", "replace").strip()
    except files.FileProblem:
        return None


def _ec2_evidence(ctx: Context) -> list[str]:
    evidence = []
    for path in _DMI_FILES:
        value = _read(ctx, path)
        if value and value.lower().startswith("amazon ec2"):
            evidence.append(f"{path}={value}")
    for path in _UUID_FILES:
        value = _read(ctx, path)
        if value and value[:3].lower() == "ec2":
            evidence.append(f"{path} starts with ec2")
    bios = _read(ctx, _BIOS_FILE)
    if bios and "amazon" in bios.lower():
        evidence.append(f"{_BIOS_FILE}={bios}")
    return evidence


def _in_container(ctx: Context) -> list[str]:
    evidence = []
    for marker in ("/.dockerenv", "/run/.containerenv"):
        if ctx.path(marker).exists():
            evidence.append(f"{marker} exists")
    for path in ("/proc/1/cgroup", "/proc/self/cgroup"):
        cgroup = _read(ctx, path) or ""
        if any(word in cgroup for word in ("docker", "kubepods", "containerd", "ecs", "libpod")):
            evidence.append(f"{path} names a container runtime")
            break
    if ctx.env.get("KUBERNETES_SERVICE_HOST"):
        evidence.append("KUBERNETES_SERVICE_HOST is set")
    return evidence


def _detect(ctx: Context) -> Platform:
    ec2 = _ec2_evidence(ctx)
    found = replace(_classify(ctx, ec2), ci=detect_ci(ctx.env))
    if found.on_ec2 and found.kind not in ("ec2", "container-on-ec2"):
        # e.g. an ECS task or an EKS pod on an EC2 node: instance metadata is one hop away.
        return replace(found, evidence=found.evidence + ec2, on_ec2=True)
    return found


def _classify(ctx: Context, ec2: list[str]) -> Platform:
    env = ctx.env
    on_ec2 = bool(ec2)
    if env.get("AWS_LAMBDA_FUNCTION_NAME") or env.get("AWS_EXECUTION_ENV", "").startswith("AWS_Lambda"):
        return Platform("lambda", ["AWS_LAMBDA_FUNCTION_NAME or AWS_EXECUTION_ENV=AWS_Lambda_* is set"], on_ec2)
    if env.get("CODEBUILD_BUILD_ID"):
        return Platform("codebuild", ["CODEBUILD_BUILD_ID is set"], on_ec2)
    full_uri = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
    token_file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "")
    if full_uri and (
        "eks-pod-identity" in token_file
        or "pods.eks.amazonaws.com" in token_file
        or any(h in full_uri for h in _POD_IDENTITY_HOSTS)
    ):
        return Platform(
            "eks-pod-identity", ["AWS_CONTAINER_CREDENTIALS_FULL_URI points at the EKS Pod Identity agent"], on_ec2
        )
    ecs_vars = [
        v
        for v in (
            "ECS_CONTAINER_METADATA_URI_V4",
            "ECS_CONTAINER_METADATA_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        )
        if env.get(v)
    ]
    if ecs_vars:
        return Platform("ecs", [f"{var} is set" for var in ecs_vars], on_ec2)
    if full_uri:
        return Platform("container-endpoint", ["AWS_CONTAINER_CREDENTIALS_FULL_URI is set"], on_ec2)
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("KUBERNETES_SERVICE_HOST"):
        return Platform("eks-irsa", ["AWS_WEB_IDENTITY_TOKEN_FILE and KUBERNETES_SERVICE_HOST are set"], on_ec2)
    ci = detect_ci(env)
    if ci is not None:  # a CI job on a plain runner (or a self-hosted one on EC2)
        return Platform(ci.kind, list(ci.evidence), on_ec2)
    if on_ec2:
        container = _in_container(ctx)
        if container:
            return Platform("container-on-ec2", ec2 + container, True)
        return Platform("ec2", ec2, True)
    return Platform("none", [], False)


def detect(ctx: Context) -> Platform:
    return ctx.once("platform", lambda: _detect(ctx))
