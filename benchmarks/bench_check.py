"""Issue 2 benchmark: `tokendoctor check --offline` against `aws configure list` (a benchmark, not a test).

Both commands run as fresh processes on the same machine state (a temp HOME with
~/.aws files, the same environment variables), several times each; the report
gives the median wall time and the median peak RSS of each (per child, from
``os.wait4``) and the ratio tokendoctor / aws.  The aim: no slower than
`aws configure list` while telling far more.

Needs the AWS CLI v1 from PyPI: ``python -m pip install -e '.[bench]'``.
Nothing leaves the machine: instance metadata is disabled and every AWS
endpoint points at a closed loopback port (neither command needs the network
for these states).

Usage::

    python benchmarks/bench_check.py [--runs 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STATES: dict[str, dict[str, object]] = {
    "seed-env-session": {
        "env": {
            "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH1",
            "AWS_SECRET_ACCESS_KEY": "benchsecretbenchsecretbenchsecret",
            "AWS_SESSION_TOKEN": "benchtokenbenchtokenbenchtoken",
        },
        "credentials": "[default]\naws_access_key_id = AKIABENCHFILEBENCH12\naws_secret_access_key = "
        "filesecretfilesecret\n",
        "config": "[default]\nregion = eu-west-1\n[profile job]\nrole_arn = "
        "arn:aws:iam::123456789012:role/job\nsource_profile = default\n",
    },
    "static-file-keys": {
        "env": {},
        "credentials": "[default]\naws_access_key_id = AKIABENCHFILEBENCH12\naws_secret_access_key = "
        "filesecretfilesecret\n",
        "config": "[default]\nregion = eu-west-1\n",
    },
    "profile-with-expiring-session": {
        "env": {"AWS_PROFILE": "pasted"},
        "credentials": (
            "[pasted]\naws_access_key_id = ASIABENCHPASTEDBENC1\naws_secret_access_key = pastedsecretpasted\n"
            "aws_session_token = pastedtokenpastedtoken\nx_security_token_expires = 2030-01-01T00:00:00Z\n"
        ),
        "config": "[profile pasted]\nregion = us-east-1\n",
    },
}


def _env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECS_", "BOTO_"))}
    env.update(
        HOME=str(home),
        NO_COLOR="1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",
        TOKENDOCTOR_NTP_LOOPBACK_ONLY="1",
    )
    env.update(extra)
    return env


def _measure(cmd: list[str], env: dict[str, str]) -> tuple[float, int, int]:
    """Wall seconds, peak RSS in KiB and exit status of one run of ``cmd``."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr:
        err = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if "Traceback" in err:
            raise SystemExit(f"{cmd[0]} crashed:\n{err}")
    return elapsed, usage.ru_maxrss, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()

    bindir = Path(sys.executable).parent
    td = [str(bindir / "tokendoctor")] if (bindir / "tokendoctor").exists() else [sys.executable, "-m", "tokendoctor"]
    aws = shutil.which("aws", path=str(bindir)) or shutil.which("aws")
    if not aws:
        print("the AWS CLI is not installed: python -m pip install -e '.[bench]'", file=sys.stderr)
        return 2
    commands = {
        "tokendoctor check --offline": [*td, "check", "--offline"],
        "tokendoctor check --offline --json": [*td, "check", "--offline", "--json"],
        "aws configure list": [aws, "configure", "list"],
    }
    results: list[dict[str, object]] = []
    for state, spec in STATES.items():
        with tempfile.TemporaryDirectory(prefix="td-bench-") as tmp:
            home = Path(tmp)
            (home / ".aws").mkdir()
            (home / ".aws" / "credentials").write_text(str(spec["credentials"]))
            (home / ".aws" / "config").write_text(str(spec["config"]))
            env = _env(home, dict(spec["env"]))  # type: ignore[arg-type]
            for name, cmd in commands.items():
                _measure(cmd, env)  # warm the page cache and .pyc files
                runs = [_measure(cmd, env) for _ in range(args.runs)]
                results.append(
                    {
                        "state": state,
                        "command": name,
                        "wall_s_median": round(statistics.median(r[0] for r in runs), 3),
                        "wall_s_min": round(min(r[0] for r in runs), 3),
                        "peak_rss_mib_median": round(statistics.median(r[1] for r in runs) / 1024, 1),
                        "exit_codes": sorted({r[2] for r in runs}),
                    }
                )
    by = {(r["state"], r["command"]): r for r in results}
    ratios = []
    for state in STATES:
        base = by[(state, "aws configure list")]
        for name in commands:
            if name.startswith("tokendoctor"):
                r = by[(state, name)]
                ratios.append(
                    {
                        "state": state,
                        "command": name,
                        "wall_ratio": round(float(r["wall_s_median"]) / float(base["wall_s_median"]), 2),  # type: ignore[arg-type]
                        "rss_ratio": round(float(r["peak_rss_mib_median"]) / float(base["peak_rss_mib_median"]), 2),  # type: ignore[arg-type]
                    }
                )
    if args.json:
        print(json.dumps({"runs": args.runs, "results": results, "ratios": ratios}, indent=2))
        return 0
    print(f"{args.runs} runs each after one warm-up; python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{'state':<30} {'command':<36} {'wall median':>11} {'wall min':>9} {'peak RSS':>10}  exit")
    for r in results:
        print(
            f"{r['state']:<30} {r['command']:<36} {r['wall_s_median']:>10.3f}s {r['wall_s_min']:>8.3f}s "
            f"{r['peak_rss_mib_median']:>7.1f} MiB  {r['exit_codes']}"
        )
    print()
    print("ratio tokendoctor / aws configure list (below 1 = tokendoctor is faster / smaller):")
    for q in ratios:
        print(f"  {q['state']:<30} {q['command']:<36} wall x{q['wall_ratio']:<5} peak RSS x{q['rss_ratio']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
