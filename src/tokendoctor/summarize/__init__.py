"""``tokendoctor summarize``: many ``check --json`` reports in, one fleet view out.

:func:`summarize` streams the reports from :mod:`.sources` into the :class:`.fleet.Fleet`
accumulator one at a time, so memory does not grow with the number of reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from tokendoctor.summarize.fleet import Fleet, parse_report
from tokendoctor.summarize.sources import MAX_REPORT_BYTES, iter_reports


def summarize(
    locations: Sequence[str],
    *,
    deadline: float = 300.0,
    max_bytes: int = MAX_REPORT_BYTES,
    clock: Callable[[], float] = time.monotonic,
) -> Fleet:
    fleet = Fleet()
    for item in iter_reports(locations, deadline=deadline, max_bytes=max_bytes, clock=clock):
        if item.error is not None:
            fleet.add_unreadable(item.name, item.error)
            continue
        assert item.data is not None
        doc, problem = parse_report(item.data)
        if doc is None:
            fleet.add_unreadable(item.name, problem)
        else:
            fleet.add(doc, item.name)
    return fleet


__all__ = ["Fleet", "summarize"]
