"""Times in reports: human durations ("in 42 min", "3 d 4 h ago"), ISO 8601 UTC, and the
times in AWS's SigV4 clock errors.  Pure."""

from __future__ import annotations

import datetime as _dt
import re


def span(seconds: float) -> str:
    """``59`` -> ``59 s``, ``3600`` -> ``1 h``, ``90061`` -> ``1 d 1 h`` (two largest units, sign dropped)."""
    s = int(abs(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        h, m = divmod(s // 60, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    d, h = divmod(s // 3600, 24)
    return f"{d} d {h} h" if h else f"{d} d"


def relative(seconds: float) -> str:
    """Seconds until an instant: positive -> ``in 5 min``, negative -> ``5 min ago``."""
    return f"in {span(seconds)}" if seconds >= 0 else f"{span(seconds)} ago"


def iso(at: _dt.datetime | None) -> str | None:
    """ISO 8601 UTC to the second (``2026-11-23T10:43:24Z``); ``None`` stays ``None``."""
    return at.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


_STAMP = r"(\d{8}T\d{6}Z)"
_SIG_TIME = (
    (re.compile(rf"Signature expired: {_STAMP} is now earlier than {_STAMP}(?: \({_STAMP} - (\d+) min\.?\))?"), 1),
    (re.compile(rf"Signature not yet current: {_STAMP} is still later than {_STAMP}(?: \({_STAMP} \+ (\d+) min\.?\))?"), -1),
)


def _stamp(value: str | None) -> _dt.datetime | None:
    try:
        return _dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=_dt.timezone.utc) if value else None
    except ValueError:
        return None


def sigv4_time_message(message: str) -> tuple[_dt.datetime | None, _dt.datetime | None, int] | None:
    """``(request_time, server_time, window_seconds)`` from a SigV4 time error, or ``None``.

    ``Signature expired: 20260618T120000Z is now earlier than 20260618T121500Z (20260618T122000Z - 5 min.)``:
    the request was signed at 12:00:00 by the local clock while AWS's clock read 12:20:00, and AWS
    allows 5 minutes.  Without the parenthesis the server time is the second stamp plus (or minus) the window.
    """
    for pattern, sign in _SIG_TIME:
        match = pattern.search(message)
        if match:
            window = int(match[4]) * 60 if match[4] else 300
            server = _stamp(match[3])
            if server is None:
                bound = _stamp(match[2])
                server = bound + _dt.timedelta(seconds=window * sign) if bound else None
            return _stamp(match[1]), server, window
    return None
