"""The versioned JSON document (see docs/json-output.md and resources/report.schema.json)."""

from __future__ import annotations

import json
from typing import Any

from tokendoctor import __version__
from tokendoctor.models import Report

SCHEMA_VERSION = 1


def document(report: Report) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool_version": __version__,
        "status": report.status,
        "exit_code": report.exit_code,
    }
    for name, data in report.sections.items():
        doc[name] = data
    doc.setdefault("credentials", {"resolved": None, "chain": []})
    doc["causes"] = [c.to_dict() for c in report.causes]
    doc["checks"] = [
        {"name": c.name, "status": c.status, "duration_ms": c.duration_ms, **({"detail": c.detail} if c.detail else {})}
        for c in report.checks
    ]
    return doc


def render(report: Report, **_: Any) -> str:
    return json.dumps(document(report), indent=2, default=str) + "\n"
