"""Which machine this report is about: hostname, and on EC2 the instance id and region.

Entry points: :func:`check` (the hostname, from ``/proc/sys/kernel/hostname`` under the
context's root, else the socket module) and :func:`complete`, a pure post-step that copies
the instance id and region from the ``imds`` check's result.  This check never sends a
request of its own: when the IMDS probe did not run, instance id and region are ``null``.
``tokendoctor summarize`` names hosts by this section.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import replace

from tokendoctor import files
from tokendoctor.context import Context
from tokendoctor.models import CheckResult

NAME = "host"
_MAX = 255


def _hostname(ctx: Context) -> str | None:
    try:
        name = files.read_bytes(ctx.path("/proc/sys/kernel/hostname"), _MAX, head=True).decode("utf-8", "replace")
        name = name.strip()
    except files.FileProblem:
        name = ""
    if not name and ctx.root == ctx.root.parent:  # the real machine: ask the OS
        try:
            name = socket.gethostname()[:_MAX]
        except OSError:
            name = ""
    return name or None


def _with_summary(data: dict[str, str | None]) -> dict[str, str | None]:
    """``summary`` (the report's ``Host:`` line) only when something is known."""
    known = " ".join(v for v in (data.get("hostname"), data.get("instance_id"), data.get("region")) if v)
    out = {k: v for k, v in data.items() if k != "summary"}
    return {**out, "summary": known} if known else out


def check(ctx: Context) -> CheckResult:
    return CheckResult(name=NAME, data=_with_summary({"hostname": _hostname(ctx), "instance_id": None, "region": None}))


def complete(results: Sequence[CheckResult]) -> list[CheckResult]:
    """Pure: fill ``instance_id`` and ``region`` from what the IMDS probe already answered."""
    imds = next((r.data for r in results if r.name == "imds" and r.data), None)
    if not imds or not imds.get("probed"):
        return list(results)
    out = []
    for result in results:
        if result.name == NAME and result.data:
            data = {**result.data, "instance_id": imds.get("instance_id"), "region": imds.get("region")}
            result = replace(result, data=_with_summary(data))
        out.append(result)
    return out
