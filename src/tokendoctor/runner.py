"""Run the checks concurrently under one overall deadline.

Each check runs in a daemon thread, so a probe that ignores its own timeout can
never keep the process alive.  A check that raises becomes a TD901 finding and
one that misses the deadline a TD902 finding: the user gets a report, never a
traceback.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tokendoctor.botocore_env import restore_after_abandon
from tokendoctor.context import Context
from tokendoctor.models import CheckResult, Finding
from tokendoctor.redact import first_line, mask_then_truncate

CheckFunc = Callable[[Context], CheckResult]


@dataclass(frozen=True)
class Check:
    name: str
    run: CheckFunc
    summary: str
    essential: bool = False
    """Without it there is no diagnosis: missing the deadline is TD903 (exit code 3), not a TD902 warning."""


def _run_one(check: Check, ctx: Context, out: queue.Queue[CheckResult]) -> None:
    with contextlib.suppress(Abandoned):  # past the deadline: the run reported TD902/TD903 for this check
        _run_and_report(check, ctx, out)


def _run_and_report(check: Check, ctx: Context, out: queue.Queue[CheckResult]) -> None:
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


class Abandoned(BaseException):
    """Raised inside a check's thread once the deadline passed: its result would be discarded anyway."""


def _abandon(thread: threading.Thread) -> None:
    """Stop a Python-level busy thread (botocore parsing a huge config) so it no longer competes for the
    interpreter while the report is printed; ``finally`` blocks still run (``os.environ`` is restored).
    A thread blocked in C (a read, a connect) ends at its own timeout."""
    import ctypes

    if thread.ident is not None and thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(Abandoned))


def run_checks(ctx: Context, checks: Sequence[Check], deadline: float) -> list[CheckResult]:
    """Run ``checks`` in parallel; return their results in the given order."""
    out: queue.Queue[CheckResult] = queue.Queue()
    started = time.monotonic()
    threads = {}
    for check in checks:
        thread = threading.Thread(target=_run_one, args=(check, ctx, out), name=f"td-{check.name}", daemon=True)
        threads[check.name] = thread
        thread.start()
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
    abandoned = False
    for check in checks:
        if check.name in done:
            results.append(done[check.name])
        else:
            _abandon(threads[check.name])
            abandoned = True
            results.append(
                CheckResult(
                    name=check.name,
                    status="timeout",
                    duration_ms=int(deadline * 1000),
                    detail=f"did not finish within {deadline:.1f}s",
                    findings=(
                        Finding(
                            code="TD903" if check.essential else "TD902",
                            evidence={"check": check.name, "timeout_seconds": round(deadline, 3)},
                        ),
                    ),
                )
            )
    if abandoned:
        restore_after_abandon()
    return results
