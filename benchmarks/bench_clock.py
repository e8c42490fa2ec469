"""Issue 4 performance cases for the clock check (a benchmark, not a test).

Against a loopback NTP responder (tests/servers/ntp.py) only; every run passes
``--ntp-server 127.0.0.1:PORT`` and sets TOKENDOCTOR_NTP_LOOPBACK_ONLY=1.

1. healthy: answers at once; the clock check's duration is reported.
2. blackhole: drops every request; the whole run must finish within --timeout.
3. slow: answers after 3 s (longer than a sample may wait); same bound.

Usage::

    python benchmarks/bench_clock.py [--runs 5] [--timeout 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.ntp import NtpResponder  # noqa: E402


def run(address: str, timeout: float, home: Path) -> tuple[float, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECS_"))}
    env.update(HOME=str(home), NO_COLOR="1", TOKENDOCTOR_NTP_LOOPBACK_ONLY="1", AWS_EC2_METADATA_DISABLED="true")
    env["TOKENDOCTOR_FS_ROOT"] = str(home / "root")
    cmd = [sys.executable, "-m", "tokendoctor", "check", "--json", "--timeout", str(timeout), "--ntp-server", address]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout + 30, check=False)
    return time.perf_counter() - started, json.loads(proc.stdout)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "root").mkdir()
        for name, knobs in (("healthy", {}), ("blackhole", {"drop": "all"}), ("slow", {"delay": 3.0})):
            with NtpResponder(**knobs) as responder:
                walls, clock_ms, statuses = [], [], set()
                for _ in range(args.runs):
                    wall, doc = run(responder.address, args.timeout, home)
                    walls.append(wall)
                    check = next(c for c in doc["checks"] if c["name"] == "clock")
                    clock_ms.append(check["duration_ms"])
                    statuses.add(doc["clock"]["references"][0]["status"])
                within = max(walls) <= args.timeout + 1.5  # interpreter start-up on top of --timeout
                ok &= within
                print(
                    f"{name:10s} wall median {statistics.median(walls):.2f}s max {max(walls):.2f}s; "
                    f"clock check median {statistics.median(clock_ms):.0f}ms; ntp status {sorted(statuses)}; "
                    f"{'within' if within else 'OVER'} --timeout {args.timeout:g}s (+1.5s start-up)"
                )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
