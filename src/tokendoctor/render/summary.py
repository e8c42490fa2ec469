"""Renderers for ``tokendoctor summarize``: plain text and the versioned JSON document
(resources/summary.schema.json).  Layout only; every string in a :class:`Fleet` is already cleaned."""

from __future__ import annotations

import json
from typing import Any

from tokendoctor import __version__
from tokendoctor.summarize.fleet import OFFSET_EDGES, Fleet

SCHEMA_VERSION = 1
_BAR = 40


def document(fleet: Fleet) -> dict[str, Any]:
    edges: list[float | None] = [0.0, *OFFSET_EDGES, None]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "summary",
        "tool_version": __version__,
        "exit_code": fleet.exit_code,
        "reports": fleet.reports,
        "failing": fleet.failing,
        "status": dict(fleet.status),
        "causes": [
            {
                "code": code,
                "name": row.name,
                "severity": row.severity,
                "hosts": row.hosts,
                "sample_hosts": list(row.sample),
            }
            for code, row in fleet.ranked_causes()
        ],
        "clock_offsets": {
            "buckets": [
                {"label": label, "min_seconds": edges[i], "max_seconds": edges[i + 1], "hosts": hosts}
                for i, (label, hosts) in enumerate(fleet.histogram())
            ],
            "unknown": fleet.offset_unknown,
            "max_abs_seconds": fleet.offset_max,
        },
        "methods": dict(sorted(fleet.methods.items(), key=lambda kv: (-kv[1], kv[0]))),
        "platforms": dict(sorted(fleet.platforms.items(), key=lambda kv: (-kv[1], kv[0]))),
        "checks": [
            {"name": name, "status": status, "hosts": row.hosts, "sample_hosts": list(row.sample)}
            for (name, status), row in sorted(fleet.checks.items(), key=lambda kv: (-kv[1].hosts, kv[0]))
        ],
        "unreadable": {
            "count": fleet.unreadable,
            "named": [{"name": name, "reason": reason} for name, reason in fleet.unreadable_named],
            "truncated": fleet.unreadable > len(fleet.unreadable_named),
        },
    }


def render_json(fleet: Fleet) -> str:
    return json.dumps(document(fleet), indent=2) + "\n"


def _hosts(sample: list[str], total: int) -> str:
    more = total - len(sample)
    return ", ".join(sample) + (f" (+{more} more)" if more > 0 else "")


def render_text(fleet: Fleet) -> str:
    s = fleet.status
    out = [
        f"Fleet: {fleet.reports} report(s) read, {fleet.unreadable} unreadable",
        f"Hosts: ok {s['ok']}, warning {s['warning']}, error {s['error']}"
        + (f", unknown {s['unknown']}" if s["unknown"] else "")
        + f"; {fleet.failing} failing (exit code 1 in their own report)",
        "",
    ]
    causes = fleet.ranked_causes()
    if causes:
        out.append("Causes, worst first (hosts)")
        width = max(len(f"{c} {r.name}") for c, r in causes)
        for code, row in causes:
            out.append(
                f"  {f'{code} {row.name}':<{width}}  {row.severity:<7} {row.hosts:>6}  {_hosts(row.sample, row.hosts)}"
            )
        out.append("")
    counted = sum(fleet.offsets)
    if counted or fleet.offset_unknown:
        out.append("Clock offset, absolute (hosts)")
        peak = max(fleet.offsets) or 1
        for label, hosts in fleet.histogram():
            out.append(f"  {label:<12} {hosts:>6}  {'#' * round(_BAR * hosts / peak)}")
        out.append(f"  {'unknown':<12} {fleet.offset_unknown:>6}")
        if fleet.offset_max is not None:
            out.append(f"  largest: {fleet.offset_max:g}s")
        out.append("")
    if fleet.methods:
        out.append("Credential chains (winning provider, hosts)")
        for method, count in sorted(fleet.methods.items(), key=lambda kv: (-kv[1], kv[0])):
            out.append(f"  {method:<32} {count:>6}")
        out.append("")
    if fleet.checks:
        out.append("Checks that failed or timed out (hosts)")
        for (name, status), check in sorted(fleet.checks.items(), key=lambda kv: (-kv[1].hosts, kv[0])):
            out.append(f"  {name} {status:<8} {check.hosts:>6}  {_hosts(check.sample, check.hosts)}")
        out.append("")
    if fleet.unreadable:
        out.append(f"Unreadable reports ({fleet.unreadable})")
        for name, reason in fleet.unreadable_named:
            out.append(f"  {name}: {reason}")
        if fleet.unreadable > len(fleet.unreadable_named):
            out.append(f"  ... and {fleet.unreadable - len(fleet.unreadable_named)} more")
        out.append("")
    out.append(f"exit code {fleet.exit_code}")
    return "\n".join(line.rstrip() for line in out) + "\n"
