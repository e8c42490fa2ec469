"""Generated ``check --json`` reports for the summarize tests and benchmarks/bench_summarize.py.

Each report is a realistic schema_version 1 document (the tests validate samples against
report.schema.json): a host section, a resolved chain, causes drawn from the catalogue, a clock
offset, and now and then a check that crashed or timed out.
"""

from __future__ import annotations

import json
import random
from typing import Any

from tokendoctor import catalogue

METHODS = ("iam-role", "container-role", "env", "assume-role", "sso", "assume-role-with-web-identity")
OFFSETS = (0.003, -0.02, 0.4, 2.5, -7.0, 42.0, 400.0, None)
CODES = ("TD202", "TD401", "TD101", "TD301", "TD402", "TD203")


def report(i: int, *, host: bool = True, rng: random.Random | None = None) -> dict[str, Any]:
    rng = rng or random.Random(i)
    codes = rng.sample(CODES, k=rng.choice((0, 0, 1, 1, 2)))
    causes = []
    for code in codes:
        cause = catalogue.get(code)
        causes.append(
            {
                "code": code,
                "name": cause.name,
                "severity": cause.severity,
                "title": cause.title,
                "evidence": {"n": i},
                "fix": cause.fix,
            }
        )
    severities = {c["severity"] for c in causes}
    status = "error" if "error" in severities else "warning" if "warning" in severities else "ok"
    checks = [
        {"name": name, "status": "ok", "duration_ms": rng.randrange(1, 900)}
        for name in ("credentials", "platform", "imds", "clock", "host")
    ]
    if i % 97 == 0:
        checks[2] = {"name": "imds", "status": "timeout", "duration_ms": 5000, "detail": "did not finish within 5s"}
    if i % 131 == 0:
        checks[3] = {"name": "clock", "status": "error", "duration_ms": 3, "detail": "OSError: boom"}
    offset = OFFSETS[i % len(OFFSETS)]
    doc: dict[str, Any] = {
        "schema_version": 1,
        "tool_version": "0.1.0",
        "status": status,
        "exit_code": 1 if status == "error" else 0,
        "credentials": {
            "profile": "default",
            "resolved": {
                "method": METHODS[i % len(METHODS)],
                "access_key_id": "ASIA…WXYZ",
                "temporary": True,
                "refreshable": True,
                "expires_at": None,
                "seconds_remaining": None,
                "expiry_source": None,
            },
            "chain": [{"provider": "env", "status": "absent", "detail": "not set"}],
        },
        "platform": {"kind": "ec2", "on_ec2": True, "evidence": ["sys_vendor"]},
        "clock": {
            "offset_seconds": offset,
            "delay_seconds": None if offset is None else 0.0004,
            "source": None if offset is None else "169.254.169.123",
            "stratum": None if offset is None else 3,
            "synchronized": True,
            "references": [],
            "summary": "offset not measured" if offset is None else f"offset {offset:+.3f}s against 169.254.169.123",
        },
        "causes": causes,
        "checks": checks,
    }
    if host:
        doc["host"] = {
            "hostname": f"ip-10-0-{i // 256 % 256}-{i % 256}",
            "instance_id": f"i-{i:017x}",
            "region": "eu-west-1",
        }
    return doc


def dumps(doc: dict[str, Any]) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
