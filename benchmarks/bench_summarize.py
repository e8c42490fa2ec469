"""`tokendoctor summarize` over many local reports (a benchmark, not a test): wall time and peak
memory of the real CLI in a child process, for several fleet sizes, so you can see that memory
does not grow with the number of reports.

Usage::

    python benchmarks/bench_summarize.py [--sizes 1000 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fleet_reports import dumps, report


def write_fleet(root: Path, count: int) -> int:
    size = 0
    for i in range(count):
        data = dumps(report(i))
        sub = root / f"{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"{i:06d}.json").write_bytes(data)
        size += len(data)
    return size


def run_once(root: Path) -> tuple[float, int]:
    """Wall seconds and the child's peak RSS (KiB) of one `tokendoctor summarize --json`."""
    code = (
        "import resource, sys\n"
        "from tokendoctor.cli import main\n"
        "rc = main(['summarize', '--json', sys.argv[1]])\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, str(root)], capture_output=True, text=True, timeout=600, check=False
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"summarize failed ({proc.returncode}): {proc.stderr[-500:]}")
    return elapsed, int(proc.stderr.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    baseline = subprocess.run(
        [
            sys.executable,
            "-c",
            "import resource, tokendoctor.cli, tokendoctor.summarize, tokendoctor.render.summary; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    alone = int(baseline.stdout) / 1024
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; interpreter + imports alone: {alone:.1f} MiB peak RSS"
    )
    for count in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            size = write_fleet(Path(tmp), count)
            times, peaks = [], []
            for _ in range(args.runs):
                elapsed, peak = run_once(Path(tmp))
                times.append(elapsed)
                peaks.append(peak)
            print(
                f"{count:>6} reports ({size / 1e6:.1f} MB): median {statistics.median(times):.2f}s "
                f"(min {min(times):.2f}s, max {max(times):.2f}s), peak RSS {max(peaks) / 1024:.1f} MiB"
            )


if __name__ == "__main__":
    main()
