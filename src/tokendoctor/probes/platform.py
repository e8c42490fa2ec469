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
#: Xen-based instances say "Xen" as vendor but carry an Amazon BIOS version ("4.11.amazon").
_BIOS_FILE = "/sys/devices/virtual/dmi/id/bios_version"
#: EKS Pod Identity agent addresses and token file.
_POD_IDENTITY_HOSTS = ("169.254.170.23", "[fd00:ec2::23]")


@dataclass(frozen=True)
class Platform:
    kind: str
    """``ec2``, ``ecs``, ``eks-pod-identity``, ``eks-irsa``, ``lambda``, ``codebuild``,
    ``github-actions``, ``container-on-ec2``, ``container-endpoint`` (a container credentials
    URI outside ECS/EKS) or ``none``."""
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
    found = _classify(ctx, ec2)
    if found.on_ec2 and found.kind not in ("ec2", "container-on-ec2"):
        # e.g. an ECS task or an EKS pod on an EC2 node: instance metadata is one hop away.
        return Platform(found.kind, found.evidence + ec2, True)
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
