"""Issue 9 benchmark: the cost of shortening huge text safely, and of a config too big for the deadline
(a benchmark, not a test).

1. ``redact.mask_then_truncate(redactor, text, 300)`` on texts of 1 MB to 500 MB with a registered
   session token inside, against masking the whole text and cutting after (what the crash handler did
   before issue 9: 28 s and 2 GB on a 500 MB STS answer). The bounded helper's time should stay flat.
2. ``tokendoctor check --offline --timeout T`` on a config of N profiles, as a fresh process: wall time
   and peak RSS (from ``os.wait4``, forked from a small launcher), against ``T``.

Usage::

    python benchmarks/bench_bounds.py [--sizes 1,10,100,500] [--profiles 100000] [--timeout 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tokendoctor.redact import Redactor, mask_then_truncate

TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEBENCH" + "t" * 900

LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "tokendoctor", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
os.write(2, b"@@maxrss=%d\\n" % usage.ru_maxrss)
"""


def masking(sizes_mb: list[int], whole_up_to: int) -> list[dict[str, float]]:
    redactor = Redactor()
    redactor.add(TOKEN)
    rows = []
    for size in sizes_mb:
        text = ("x" * 1000 + TOKEN) * (size * 1024 * 1024 // (1000 + len(TOKEN)))
        started = time.perf_counter()
        shown = mask_then_truncate(redactor, text, 300)
        bounded = time.perf_counter() - started
        assert "IQoJ" not in shown
        row = {"size_mb": size, "mask_then_truncate_s": round(bounded, 4)}
        if size <= whole_up_to:
            started = time.perf_counter()
            redactor.redact(text)[:300]
            row["mask_whole_then_cut_s"] = round(time.perf_counter() - started, 3)
        rows.append(row)
        del text
    return rows


def big_config(profiles: int, timeout: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / ".aws").mkdir()
        (home / ".aws" / "config").write_text(
            "".join(f"[profile p{i}]\nregion = us-east-1\n" for i in range(profiles)), encoding="utf-8"
        )
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "AWS_PROFILE": "p7",
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONPATH": os.pathsep.join(sys.path),
        }
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", LAUNCHER, "check", "--offline", "--json", "--timeout", str(timeout)],
            env=env,
            capture_output=True,
            check=False,
        )
        wall = time.monotonic() - started
        rss = int(proc.stderr.decode().rpartition("@@maxrss=")[2] or 0)
        doc = json.loads(proc.stdout or b"{}")
    return {
        "profiles": profiles,
        "timeout_s": timeout,
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(rss / 1024),
        "exit_code": doc.get("exit_code", -1),
        "causes": [c["code"] for c in doc.get("causes", [])][:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,100,500")
    parser.add_argument("--whole-up-to", type=int, default=100, help="also mask whole texts up to this many MB")
    parser.add_argument("--profiles", type=int, default=100_000)
    parser.add_argument("--timeout", type=float, default=5.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {
        "masking": masking([int(s) for s in args.sizes.split(",")], args.whole_up_to),
        "big_config": big_config(args.profiles, args.timeout),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for row in result["masking"]:
        whole = row.get("mask_whole_then_cut_s")
        print(
            f"{row['size_mb']:>5} MB: mask_then_truncate {row['mask_then_truncate_s']:.4f} s"
            + (f", mask whole then cut {whole:.3f} s" if whole is not None else "")
        )
    cfg = result["big_config"]
    print(
        f"check --timeout {cfg['timeout_s']:g} on {cfg['profiles']} profiles: {cfg['wall_s']} s, "
        f"{cfg['peak_rss_mb']} MB, exit {cfg['exit_code']}, causes {cfg['causes']}"
    )


if __name__ == "__main__":
    main()
