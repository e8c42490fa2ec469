"""Run the checks concurrently under one overall deadline.

Each check runs in a daemon thread, so a probe that ignores its own timeout can
never keep the process alive.  A check that raises becomes a TD901 finding and
one that misses the deadline a TD902 finding: the user gets a report, never a
traceback.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tokendoctor.context import Context
from tokendoctor.models import CheckResult, Finding
from tokendoctor.redact import first_line, mask_then_truncate

CheckFunc = Callable[[Context], CheckResult]


@dataclass(frozen=True)
class Check:
    name: str
    run: CheckFunc
    summary: str


def _run_one(check: Check, ctx: Context, out: queue.Queue[CheckResult]) -> None:
    started = time.perf_counter()
    try:
        result = check.run(ctx)
    except Exception as exc:  # noqa: BLE001 - the boundary that turns crashes into data
        # Mask first, cut after, and never more than a bounded prefix (a 500 MB answer in the text).
        message = first_line(mask_then_truncate(ctx.redactor, str(exc), 300))
        trace = mask_then_truncate(ctx.redactor, traceback.format_exc(), 20000) if ctx.options.debug else ""
        result = CheckResult(
            name=check.name,
            status="error",
            traceback=trace,
            detail=f"{type(exc).__name__}: {message}",
            findings=(
                Finding(
                    code="TD901",
                    evidence={"check": check.name, "error": f"{type(exc).__name__}: {message}"},
                ),
            ),
        )
    elapsed = int((time.perf_counter() - started) * 1000)
    out.put(replace(result, name=check.name, duration_ms=elapsed))


def run_checks(ctx: Context, checks: Sequence[Check], deadline: float) -> list[CheckResult]:
    """Run ``checks`` in parallel; return their results in the given order."""
    out: queue.Queue[CheckResult] = queue.Queue()
    started = time.monotonic()
    for check in checks:
        threading.Thread(target=_run_one, args=(check, ctx, out), name=f"td-{check.name}", daemon=True).start()
    done: dict[str, CheckResult] = {}
    while len(done) < len(checks):
        remaining = started + deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            result = out.get(timeout=remaining)
        except queue.Empty:
            break
        done[result.name] = result
    results = []
    for check in checks:
        if check.name in done:
            results.append(done[check.name])
        else:
            results.append(
                CheckResult(
                    name=check.name,
                    status="timeout",
                    duration_ms=int(deadline * 1000),
                    detail=f"did not finish within {deadline:g}s",
                    findings=(Finding(code="TD902", evidence={"check": check.name, "timeout_seconds": deadline}),),
                )
            )
    return results
