"""Shared fixtures.  Every test runs with a temp HOME and no AWS_* variables from
the real environment, so no test can read the real ~/.aws or reach a real endpoint."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tokendoctor.context import Context, Options
from tokendoctor.redact import Redactor

NOW = dt.datetime(2026, 6, 18, 12, 0, 0, tzinfo=dt.timezone.utc)
#: Variables that would make a test see the CI it runs in (platform detection, the job summary file).
_CI_VARS = (
    "KUBERNETES_SERVICE_HOST",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "CODEBUILD_BUILD_ID",
    "GITLAB_CI",
    "CI_JOB_ID",
    "CIRCLECI",
    "CIRCLE_OIDC_TOKEN",
    "CIRCLE_OIDC_TOKEN_V2",
    "BITBUCKET_BUILD_NUMBER",
    "BITBUCKET_STEP_OIDC_TOKEN",
    "JENKINS_URL",
    "BUILDKITE",
    "BUILDKITE_AGENT_ACCESS_TOKEN",
)


@pytest.fixture(autouse=True)
def _isolate(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith(("AWS_", "ECS_", "BOTO_")) or name in _CI_VARS:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    # Never let a stray probe leave loopback: IMDS off unless a test points it somewhere.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # ...and never let the clock check send NTP anywhere but loopback (default servers are
    # time.aws.com / Amazon Time Sync): probes/ntp.py refuses non-loopback servers when this is set.
    monkeypatch.setenv("TOKENDOCTOR_NTP_LOOPBACK_ONLY", "1")
    # ...and never let --live send a request (STS, IAM, AssumeRole) anywhere but loopback (chain/live.py).
    monkeypatch.setenv("TOKENDOCTOR_LIVE_LOOPBACK_ONLY", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    yield


class Machine:
    """A described machine: HOME, env, files, a fake filesystem root and a clock."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.home = base / "home"
        self.root = base / "root"
        (self.home / ".aws").mkdir(parents=True)
        self.root.mkdir()
        self.env: dict[str, str] = {"HOME": str(self.home), "PATH": os.environ.get("PATH", "")}
        self.now = NOW

    def config(self, text: str) -> Path:
        path = self.home / ".aws" / "config"
        path.write_text(text)
        return path

    def credentials(self, text: str) -> Path:
        path = self.home / ".aws" / "credentials"
        path.write_text(text)
        return path

    def file(self, relative: str, content: str | bytes) -> Path:
        """Write a file under the fake filesystem root (e.g. ``sys/hypervisor/uuid``)."""
        path = self.root / relative.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return path

    def context(self, **options: Any) -> Context:
        redactor = Redactor()
        redactor.add_from_env(self.env)
        opts = Options(**{"offline": True, **options})
        return Context(env=dict(self.env), root=self.root, now=lambda: self.now, options=opts, redactor=redactor)


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


@pytest.fixture
def run_check(machine: Machine) -> Callable[..., Any]:
    """``run_check(module, **options)`` -> that check's CheckResult on the described machine."""

    def _run(module: Any, **options: Any) -> Any:
        return module.check(machine.context(**options))

    return _run


def codes(result: Any) -> list[str]:
    return [f.code for f in result.findings]


@pytest.fixture
def imds() -> Iterator[Any]:
    """A loopback instance-metadata emulator (tests/servers/imds.py)."""
    from tests.servers.imds import ImdsServer

    with ImdsServer() as server:
        yield server


@pytest.fixture
def task() -> Iterator[Any]:
    """A loopback container credentials endpoint (tests/servers/container.py)."""
    from tests.servers.container import ContainerServer

    with ContainerServer() as server:
        yield server
