"""The platform check and detection (EC2, ECS, EKS, Lambda, CI) from a fake /sys root and env; no connection off EC2."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Machine, codes
from tests.instance_helpers import DMI, ctx_for, row
from tokendoctor.checks import imds as imds_check
from tokendoctor.probes import http as probe_http
from tokendoctor.probes import imds as probe_imds
from tokendoctor.probes.platform import detect


@pytest.mark.parametrize(
    ("files", "env", "kind"),
    [
        ({}, {}, "none"),
        ({DMI + "sys_vendor": "Amazon EC2\n"}, {}, "ec2"),
        ({DMI + "board_vendor": "Amazon EC2\n"}, {}, "ec2"),
        ({"/sys/hypervisor/uuid": "ec2e1916-9099-7caf-fd21-012345abcdef\n"}, {}, "ec2"),
        ({DMI + "product_uuid": "EC2E1916-9099-7CAF-FD21-012345ABCDEF\n"}, {}, "ec2"),
        ({DMI + "sys_vendor": "Xen\n", DMI + "bios_version": "4.11.amazon\n"}, {}, "ec2"),
        ({DMI + "sys_vendor": "QEMU\n", "/sys/hypervisor/uuid": "4c4c4544-0000\n"}, {}, "none"),
        ({DMI + "sys_vendor": "Amazon EC2\n", "/.dockerenv": ""}, {}, "container-on-ec2"),
        (
            {DMI + "sys_vendor": "Amazon EC2\n", "/proc/1/cgroup": "0::/kubepods/burstable/pod1\n"},
            {},
            "container-on-ec2",
        ),
        ({}, {"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/abc"}, "ecs"),
        ({}, {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"}, "ecs"),
        (
            {},
            {
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": (
                    "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"
                ),
            },
            "eks-pod-identity",
        ),
        (
            {},
            {
                "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
                "KUBERNETES_SERVICE_HOST": "10.0.0.1",
            },
            "eks-irsa",
        ),
        ({}, {"AWS_LAMBDA_FUNCTION_NAME": "fn"}, "lambda"),
        ({}, {"CODEBUILD_BUILD_ID": "b:1"}, "codebuild"),
        ({}, {"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://example.invalid"}, "github-actions"),
    ],
)
def test_platform_detection_from_a_fake_sysfs_root(
    machine: Machine, files: dict[str, str], env: dict[str, str], kind: str
) -> None:
    for path, content in files.items():
        machine.file(path, content)
    machine.env.update(env)
    plat = detect(machine.context())
    assert plat.kind == kind
    assert plat.on_ec2 == (kind in ("ec2", "container-on-ec2"))
    assert bool(plat.evidence) == (kind != "none")


def test_ecs_on_an_ec2_node_is_ecs_but_on_ec2(machine: Machine) -> None:
    machine.file(DMI + "sys_vendor", "Amazon EC2\n")
    machine.env["ECS_CONTAINER_METADATA_URI_V4"] = "http://169.254.170.2/v4/abc"
    plat = detect(machine.context())
    assert (plat.kind, plat.on_ec2) == ("ecs", True)
    assert any("sys_vendor" in e for e in plat.evidence)


# ------------------------------------------------------------- when to probe


def test_a_machine_that_is_not_ec2_never_opens_a_connection(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the default path must not connect anywhere")

    monkeypatch.setattr(probe_http, "request", refuse)
    ctx = ctx_for(machine)  # online, no --imds, no endpoint, no EC2 evidence
    probe = probe_imds.probe(ctx)
    assert not probe.ran and probe.requests == 0
    assert "not on EC2" in probe.reason
    result = imds_check.check(ctx)
    assert result.status == "skipped" and codes(result) == []
    assert row(ctx, "iam-role")["status"] == "not-checked"
