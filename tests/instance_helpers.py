"""Helpers for the instance-metadata, container, platform and web identity tests (real loopback servers)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from tests.conftest import Machine
from tests.servers.container import ContainerServer
from tokendoctor.botocore_env import botocore_environment
from tokendoctor.chain import analyse as chain
from tokendoctor.context import Context, utc_now

UTC = dt.timezone.utc
DMI = "/sys/devices/virtual/dmi/id/"


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def ctx_for(machine: Machine, endpoint: str | None = None, **options: Any) -> Context:
    """A live-clock context on the described machine, IMDS pointed at ``endpoint``."""
    if endpoint:
        machine.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = endpoint
    ctx = machine.context(**{"offline": False, "timeout": 2.0, **options})
    return dataclasses.replace(ctx, now=utc_now)


def by_code(result: Any, code: str) -> Any:
    return next(f for f in result.findings if f.code == code)


def row(ctx: Context, method: str) -> dict[str, str]:
    return next(r.row() for r in chain(ctx).providers if r.method == method)


def botocore_creds(ctx: Context) -> Any:
    import botocore.session

    with botocore_environment(ctx.env):
        return botocore.session.Session().get_credentials()


def container_ctx(machine: Machine, server: ContainerServer, **options: Any) -> Context:
    machine.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url
    machine.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = emu_auth()
    return ctx_for(machine, **options)


def emu_auth() -> str:
    from tests.servers.container import AUTH

    return AUTH
