"""Text ``tokendoctor run`` writes to stderr: the preflight lines and the one diagnosis block.

Every line starts with ``[tokendoctor]`` so it is never mistaken for the command's own output
and can be filtered out of a log (``grep -v '^\\[tokendoctor\\]'``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokendoctor.models import RankedCause, Report

PREFIX = "[tokendoctor] "
MAX_CAUSES = 3


def _lines(text: str) -> list[str]:
    return [PREFIX + line if line else PREFIX.rstrip() for line in text.splitlines()]


def preflight(report: Report) -> str:
    """A few lines when the preflight found something; nothing when it is clean."""
    if not report.causes:
        return ""
    shown = [c for c in report.causes if c.severity in ("error", "warning")][:MAX_CAUSES]
    if not shown:
        return ""
    out = [f"preflight: {report.status.upper()}: the command's credentials may fail with ExpiredToken"]
    for cause in shown:
        out.append(f"  {cause.severity.upper()} {cause.code} {cause.name}: {cause.title}")
    more = len(report.causes) - len(shown)
    out.append("  details: tokendoctor check" + (f" ({more} more)" if more > 0 else ""))
    return "\n".join(_lines("\n".join(out))) + "\n"


def _evidence(cause: RankedCause) -> list[str]:
    ev = cause.evidence
    out = []
    if ev.get("summary"):
        out.append(f"     seen: {ev['summary']}")
    for key in ("shared_across_fork", "changed_since_client_created"):
        if ev.get(key):
            value = ev[key] if isinstance(ev[key], str) else ", ".join(map(str, ev[key]))
            out.append(f"     {key.replace('_', ' ')}: {value}")
    return out


def diagnosis(
    *,
    line: str | None,
    error: dict[str, Any] | None,
    causes: Sequence[RankedCause],
    clients: int,
) -> str:
    """The block printed once, at the first AWS credential/time error."""
    out = ["──── tokendoctor: diagnosis ────"]
    if error and error.get("family"):
        where = " ".join(x for x in (error.get("service"), error.get("operation")) if x)
        sdk = f", {error['sdk']} SDK" if error.get("sdk") else ""
        out.append(
            f"The command got {error.get('code') or error['family']}" + (f" from {where}" if where else "") + f"{sdk}."
        )
    if line:
        out.append(f"  > {line}")
    if clients:
        out.append(f"In-process hook: {clients} botocore client(s) reported.")
    if not causes:
        out.append("No cause recognised; run `tokendoctor explain` on the full error text.")
    for i, cause in enumerate(causes[:MAX_CAUSES], 1):
        out.append(f"{i}. {cause.severity.upper()} {cause.code} {cause.name}: {cause.title}")
        out.extend(_evidence(cause))
        if i == 1:
            fix = cause.fix.splitlines() or [""]
            out.append(f"   fix: {fix[0]}")
            out.extend(f"        {x}" for x in fix[1:])
    out.append("Later errors of this kind are counted, not repeated (--report FILE writes them all).")
    out.append("──── end of tokendoctor diagnosis ────")
    return "\n".join(_lines("\n".join(out))) + "\n"


__all__ = ["PREFIX", "diagnosis", "preflight"]
