"""Where am I, without the network: EC2, a container, Lambda, CI, or a plain machine.

Entry point: :func:`detect`, memoised per run through :meth:`Context.once`.
Everything is read through the context (``ctx.env`` and ``ctx.path``) so tests
can describe any machine with a fake sysfs root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tokendoctor.context import Context

_DMI_FILES = ("/sys/devices/virtual/dmi/id/sys_vendor", "/sys/devices/virtual/dmi/id/board_vendor")
_UUID_FILES = ("/sys/devices/virtual/dmi/id/product_uuid", "/sys/hypervisor/uuid")


@dataclass(frozen=True)
class Platform:
    kind: str
    """``ec2``, ``ecs``, ``eks-pod-identity``, ``eks-irsa``, ``lambda``, ``codebuild``,
    ``github-actions``, ``container-on-ec2`` or ``none``."""
    evidence: list[str] = field(default_factory=list)
    on_ec2: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "evidence": list(self.evidence), "on_ec2": self.on_ec2}


def _read(ctx: Context, path: str) -> str | None:
    try:
        with ctx.path(path).open("rb") as fh:
            return fh.read(256).decode("ascii", "replace").strip()
    except OSError:
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
    return evidence


def _in_container(ctx: Context) -> list[str]:
    evidence = []
    if ctx.path("/.dockerenv").exists():
        evidence.append("/.dockerenv exists")
    cgroup = _read(ctx, "/proc/1/cgroup") or ""
    if any(word in cgroup for word in ("docker", "kubepods", "containerd", "ecs")):
        evidence.append("/proc/1/cgroup names a container runtime")
    return evidence


def _detect(ctx: Context) -> Platform:
    env = ctx.env
    ec2 = _ec2_evidence(ctx)
    on_ec2 = bool(ec2)
    if env.get("AWS_LAMBDA_FUNCTION_NAME"):
        return Platform("lambda", ["AWS_LAMBDA_FUNCTION_NAME is set"], on_ec2)
    if env.get("CODEBUILD_BUILD_ID"):
        return Platform("codebuild", ["CODEBUILD_BUILD_ID is set"], on_ec2)
    if env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") and "eks-pod-identity" in (
        env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "") + env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")
    ):
        return Platform("eks-pod-identity", ["AWS_CONTAINER_CREDENTIALS_FULL_URI with an EKS Pod Identity token file"], on_ec2)
    if env.get("ECS_CONTAINER_METADATA_URI_V4") or env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        var = "ECS_CONTAINER_METADATA_URI_V4" if env.get("ECS_CONTAINER_METADATA_URI_V4") else "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
        return Platform("ecs", [f"{var} is set"], on_ec2)
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") and env.get("KUBERNETES_SERVICE_HOST"):
        return Platform("eks-irsa", ["AWS_WEB_IDENTITY_TOKEN_FILE and KUBERNETES_SERVICE_HOST are set"], on_ec2)
    if env.get("GITHUB_ACTIONS") == "true":
        evidence = ["GITHUB_ACTIONS=true"]
        if env.get("ACTIONS_ID_TOKEN_REQUEST_URL"):
            evidence.append("OIDC token request URL available")
        return Platform("github-actions", evidence, on_ec2)
    if on_ec2:
        container = _in_container(ctx)
        if container:
            return Platform("container-on-ec2", ec2 + container, True)
        return Platform("ec2", ec2, True)
    return Platform("none", [], False)


def detect(ctx: Context) -> Platform:
    return ctx.once("platform", lambda: _detect(ctx))
