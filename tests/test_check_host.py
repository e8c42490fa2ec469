"""The ``host`` section: hostname from the machine, instance id and region only from the IMDS probe's answers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.conftest import Machine
from tests.servers.imds import ImdsServer
from tests.servers.ntp import NtpResponder
from tokendoctor import checks
from tokendoctor.checks import host
from tokendoctor.cli import main
from tokendoctor.models import CheckResult


def _doc(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> dict[str, Any]:
    for name, value in machine.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(machine.root))
    main(["check", "--json", *args])
    return json.loads(capsys.readouterr().out)


def test_hostname_from_the_machine_and_nothing_else_offline(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.file("/proc/sys/kernel/hostname", "build-agent-7\n")
    doc = _doc(machine, monkeypatch, capsys, "--offline")
    assert doc["host"] == {"hostname": "build-agent-7", "instance_id": None, "region": None, "summary": "build-agent-7"}
    main(["check", "--offline", "--format", "junit"])  # the JUnit suite names the host too
    suite = ET.fromstring(capsys.readouterr().out).find("testsuite")
    assert suite is not None and suite.get("hostname") == "build-agent-7"
    main(["check", "--offline"])
    assert "Host: build-agent-7" in capsys.readouterr().out.splitlines()


def test_a_hostile_hostname_is_bounded(machine: Machine) -> None:
    machine.file("/proc/sys/kernel/hostname", "h" * 100_000)
    assert host.check(machine.context()).data["hostname"] == "h" * 255


def test_instance_id_and_region_come_from_the_imds_probe_without_a_request_of_their_own(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.file("/proc/sys/kernel/hostname", "ip-10-0-0-7\n")
    machine.file("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2\n")
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    counts = []
    with NtpResponder() as ntp:
        for with_host in (True, False):
            monkeypatch.setattr(
                checks, "ALL_CHECKS", tuple(c for c in checks.ALL_CHECKS if with_host or c.name != "host")
            )
            with ImdsServer() as imds:
                machine.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.url
                doc = _doc(machine, monkeypatch, capsys, "--ntp-server", ntp.address, "--timeout", "4")
                counts.append(imds.count())
            if with_host:
                assert doc["host"] == {
                    "hostname": "ip-10-0-0-7",
                    "instance_id": "i-0emulator0000001",
                    "region": "eu-west-1",
                    "summary": "ip-10-0-0-7 i-0emulator0000001 eu-west-1",
                }
            else:
                assert "host" not in doc
    assert counts[0] == counts[1] > 0


def test_complete_is_pure_and_ignores_an_imds_that_did_not_run() -> None:
    results = [
        CheckResult(name="imds", data={"probed": False, "instance_id": "i-x"}),
        CheckResult(name="host", data={"hostname": "a", "instance_id": None, "region": None}),
    ]
    assert host.complete(results) == results
