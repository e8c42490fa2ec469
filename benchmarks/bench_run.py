"""Issue 12 benchmark: what the in-process hook and ``tokendoctor run`` cost (a benchmark, not a test).

1. **Hook overhead per botocore call.**  In one interpreter, two STS clients of the same
   session call GetCallerIdentity on a loopback stub (HTTP/1.1 keep-alive), alternating call
   by call: one created before ``tokendoctor.hook.install()`` (not watched), one after
   (watched).  Per run the median microseconds per call of each; reported: the median over
   ``--runs`` runs.  Alternating in one process keeps a loaded machine's noise out of the
   difference.  Aim: under 2 % or 20 µs per call, whichever is larger.
5. **The first client in a hooked process**: ``session.client("sts")`` timed in a fresh interpreter
   (botocore already imported) with and without the hook; the difference is the one-time import of
   what the hook needs (tokendoctor's chain adapter) when the program creates its first client.
4. **Python start-up with the sitecustomize** (botocore never imported): ``python -c pass``
   with and without ``tokendoctor run``'s sitecustomize directory on PYTHONPATH.
2. **run's start-up before the command starts**, with ``--no-preflight``: the time from
   launching ``tokendoctor run --no-preflight -- sh -c 'date +%s%N'`` to the command's own
   clock reading, minus the same for ``sh -c 'date +%s%N'`` launched directly.
   Aim: under 100 ms.
3. **The preflight against ``check --offline``**: wall time of ``tokendoctor run -- true``
   minus ``run --no-preflight -- true``, next to ``tokendoctor check --offline``.

Nothing leaves the machine: the stub listens on 127.0.0.1, instance metadata is off, HOME is
a temp directory with one long-term key.

Usage::

    python benchmarks/bench_run.py [--runs 7] [--calls 2000] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

BODY = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
    b"<Arn>arn:aws:iam::123456789012:user/bench</Arn><UserId>AIDABENCH</UserId><Account>123456789012</Account>"
    b"</GetCallerIdentityResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata>"
    b"</GetCallerIdentityResponse>"
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stall

    def log_message(self, *_: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


CLIENT = textwrap.dedent(
    """
    import json, statistics, sys, time
    import boto3, tokendoctor.hook
    calls = int(sys.argv[1])
    session = boto3.Session(aws_access_key_id="AKIABENCHBENCHBENCH1", aws_secret_access_key="benchsecretbenchsecret",
                            region_name="us-east-1")
    plain = session.client("sts")          # created before install(): not watched
    tokendoctor.hook.install()             # botocore is imported: patches create_client now
    hooked = session.client("sts")         # watched: after-call / after-call-error handlers
    times = {"plain": [], "hook": []}
    for _ in range(50):
        plain.get_caller_identity(); hooked.get_caller_identity()
    for i in range(calls):
        pair = (("plain", plain), ("hook", hooked)) if i % 2 else (("hook", hooked), ("plain", plain))
        for name, client in pair:
            started = time.perf_counter()
            client.get_caller_identity()
            times[name].append((time.perf_counter() - started) * 1e6)
    print(json.dumps({k: statistics.median(v) for k, v in times.items()}))
    """
)


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ECS_", "BOTO_", "TOKENDOCTOR_"))}
    env.update(HOME=str(home), AWS_EC2_METADATA_DISABLED="true", TOKENDOCTOR_FS_ROOT=str(home / "root"), **extra)
    return env


def hook_overhead(runs: int, calls: int, home: Path) -> dict[str, Any]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = _env(home, AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{server.server_address[1]}")
    per_call: dict[str, list[float]] = {"plain": [], "hook": []}
    try:
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-c", CLIENT, str(calls)], env=env, capture_output=True, text=True, check=True
            )
            for mode, value in json.loads(out.stdout).items():
                per_call[mode].append(value)
    finally:
        server.shutdown()
    plain, hooked = statistics.median(per_call["plain"]), statistics.median(per_call["hook"])
    return {
        "calls_per_run": calls,
        "runs": runs,
        "plain_us_per_call": round(plain, 1),
        "hook_us_per_call": round(hooked, 1),
        "overhead_us_per_call": round(hooked - plain, 1),
        "overhead_percent": round((hooked - plain) / plain * 100, 2),
        "all_plain": [round(x, 1) for x in per_call["plain"]],
        "all_hook": [round(x, 1) for x in per_call["hook"]],
    }


def _child_start_ms(argv: list[str], env: dict[str, str]) -> float:
    started = time.time_ns()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return (int(out.stdout.strip().splitlines()[-1]) - started) / 1e6


def startup(runs: int, home: Path) -> dict[str, Any]:
    env = _env(home)
    stamp = ["/bin/sh", "-c", "date +%s%N"]
    direct = [_child_start_ms(stamp, env) for _ in range(runs)]
    via_run = [
        _child_start_ms([sys.executable, "-m", "tokendoctor", "run", "--no-preflight", "--", *stamp], env)
        for _ in range(runs)
    ]
    return {
        "direct_ms": round(statistics.median(direct), 1),
        "run_no_preflight_ms": round(statistics.median(via_run), 1),
        "overhead_ms": round(statistics.median(via_run) - statistics.median(direct), 1),
    }


def _wall(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, check=False)
    return (time.perf_counter() - started) * 1000


def preflight(runs: int, home: Path) -> dict[str, Any]:
    env = _env(home)
    td = [sys.executable, "-m", "tokendoctor"]
    rounds: dict[str, list[float]] = {"run": [], "run_no_preflight": [], "check_offline": []}
    for _ in range(runs):
        rounds["run"].append(_wall([*td, "run", "--", "true"], env))
        rounds["run_no_preflight"].append(_wall([*td, "run", "--no-preflight", "--", "true"], env))
        rounds["check_offline"].append(_wall([*td, "check", "--offline"], env))
    med = {k: statistics.median(v) for k, v in rounds.items()}
    return {
        "run_ms": round(med["run"], 1),
        "run_no_preflight_ms": round(med["run_no_preflight"], 1),
        "preflight_ms": round(med["run"] - med["run_no_preflight"], 1),
        "check_offline_ms": round(med["check_offline"], 1),
    }


FIRST_CLIENT = textwrap.dedent(
    """
    import sys, time
    import boto3
    if sys.argv[1] == "hook":
        import tokendoctor.hook
        tokendoctor.hook.install()
    session = boto3.Session(aws_access_key_id="AKIABENCHBENCHBENCH1", aws_secret_access_key="benchsecretbenchsecret",
                            region_name="us-east-1")
    started = time.perf_counter()
    session.client("sts")
    print((time.perf_counter() - started) * 1000)
    """
)


def first_client(runs: int, home: Path) -> dict[str, Any]:
    env = _env(home)
    rounds: dict[str, list[float]] = {"plain": [], "hook": []}
    for _ in range(runs):
        for mode in rounds:
            out = subprocess.run(
                [sys.executable, "-c", FIRST_CLIENT, mode], env=env, capture_output=True, text=True, check=True
            )
            rounds[mode].append(float(out.stdout))
    plain, hooked = statistics.median(rounds["plain"]), statistics.median(rounds["hook"])
    return {"plain_ms": round(plain, 1), "hook_ms": round(hooked, 1), "overhead_ms": round(hooked - plain, 1)}


def sitecustomize_cost(runs: int, home: Path) -> dict[str, Any]:
    from tokendoctor.jobrun import SITECUSTOMIZE_DIR

    env = _env(home)
    hooked = {**env, "PYTHONPATH": str(SITECUSTOMIZE_DIR)}
    rounds: dict[str, list[float]] = {"plain": [], "sitecustomize": []}
    for _ in range(runs):
        rounds["plain"].append(_wall([sys.executable, "-c", "pass"], env))
        rounds["sitecustomize"].append(_wall([sys.executable, "-c", "pass"], hooked))
    plain, site = statistics.median(rounds["plain"]), statistics.median(rounds["sitecustomize"])
    return {"plain_ms": round(plain, 1), "sitecustomize_ms": round(site, 1), "overhead_ms": round(site - plain, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / ".aws").mkdir()
        (home / "root").mkdir()
        (home / ".aws" / "credentials").write_text(
            "[default]\naws_access_key_id = AKIABENCHFILEBENCH12\naws_secret_access_key = filesecretfilesecret\n"
        )
        result = {
            "hook": hook_overhead(args.runs, args.calls, home),
            "startup": startup(args.runs * 3, home),
            "preflight": preflight(args.runs, home),
            "sitecustomize": sitecustomize_cost(args.runs * 3, home),
            "first_client": first_client(args.runs, home),
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    h, s, p, c, f = (result[k] for k in ("hook", "startup", "preflight", "sitecustomize", "first_client"))
    print(
        f"hook: {h['plain_us_per_call']} µs/call without, {h['hook_us_per_call']} µs/call with "
        f"-> {h['overhead_us_per_call']:+} µs ({h['overhead_percent']:+} %) per call "
        f"(median of {h['runs']} runs x {h['calls_per_run']} calls; aim < max(2 %, 20 µs))"
    )
    print(
        f"run --no-preflight start-up: command starts {s['run_no_preflight_ms']} ms after launch vs "
        f"{s['direct_ms']} ms directly -> {s['overhead_ms']:+} ms (aim < 100 ms)"
    )
    print(
        f"preflight: run {p['run_ms']} ms - run --no-preflight {p['run_no_preflight_ms']} ms = "
        f"{p['preflight_ms']} ms; check --offline {p['check_offline_ms']} ms"
    )
    print(
        f"sitecustomize without botocore: python -c pass {c['plain_ms']} ms vs {c['sitecustomize_ms']} ms "
        f"-> {c['overhead_ms']:+} ms"
    )
    print(f"first client: {f['plain_ms']} ms without the hook, {f['hook_ms']} ms with -> {f['overhead_ms']:+} ms once")


if __name__ == "__main__":
    main()
