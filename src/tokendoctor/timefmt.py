"""All parsing and formatting of instants and durations: ISO 8601 / epoch / HTTP dates / SigV4
stamps in, ISO 8601 UTC and human durations ("in 42 min", "3 d 4 h ago") out.  Pure."""

from __future__ import annotations

import datetime as _dt
import email.utils
import re

UTC = _dt.timezone.utc
#: Instants outside these years are not understood: no credential expires before 1970 or after 2999,
#: and arithmetic on year 9999 (an IMDS ``Date: Fri, 31 Dec 9999``) overflows.
YEARS = (1970, 2999)


def _utc(parsed: _dt.datetime) -> _dt.datetime:
    return (parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _bounded(at: _dt.datetime | None) -> _dt.datetime | None:
    return at if at is not None and YEARS[0] <= at.year <= YEARS[1] else None


def parse_time(value: object) -> _dt.datetime | None:
    """Aware UTC from an ISO 8601 (any variant botocore accepts), epoch, SigV4 (``20240101T000000Z``)
    or HTTP date (``Fri, 18 Jun 2026 12:00:00 GMT``); ``None`` for anything else, and for instants
    outside :data:`YEARS` (``1e20``, ``inf``, an offset of ``+99:99``).  Never raises."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()[:64]
        stamp = _stamp(text)
        if stamp is not None:
            return _bounded(stamp)
        if text[:3].isalpha():
            return http_date(text)
        value = text
    elif not isinstance(value, (int, float, _dt.datetime)):
        return None
    from botocore.utils import parse_timestamp

    try:
        return _bounded(_utc(parse_timestamp(value)))
    except Exception:  # noqa: BLE001 - botocore raises RuntimeError, OverflowError, OSError... for hostile values
        return None


def not_understood(value: object) -> bool:
    """True when ``value`` is present but :func:`parse_time` cannot make an instant of it."""
    return value not in (None, "") and not isinstance(value, bool) and parse_time(value) is None


def http_date(value: object) -> _dt.datetime | None:
    """An HTTP ``Date`` header (RFC 7231) as aware UTC, or ``None``."""
    if not isinstance(value, str):
        return None
    try:
        return _bounded(_utc(email.utils.parsedate_to_datetime(value[:128])))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def span(seconds: float, *, precise: bool = False) -> str:
    """``59`` -> ``59 s``, ``3600`` -> ``1 h``, ``90061`` -> ``1 d 1 h`` (two largest units, sign dropped);
    ``precise`` keeps every unit down to seconds (``3661`` -> ``1 h 1 min 1 s``)."""
    s = int(abs(seconds))
    if precise:
        days, rest = divmod(s, 86400)
        hours, rest = divmod(rest, 3600)
        minutes, secs = divmod(rest, 60)
        parts = (
            f"{days} d" if days else "",
            f"{hours} h" if hours else "",
            f"{minutes} min" if minutes else "",
            f"{secs} s" if secs else "",
        )
        return " ".join(p for p in parts if p) or "0 s"
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
    (
        re.compile(
            rf"Signature not yet current: {_STAMP} is still later than {_STAMP}(?: \({_STAMP} \+ (\d+) min\.?\))?"
        ),
        -1,
    ),
)


def _stamp(value: str | None) -> _dt.datetime | None:
    """A SigV4 ``X-Amz-Date`` stamp (``20240101T000000Z``) as aware UTC, or ``None``."""
    if not value or len(value) != 16:
        return None
    try:
        return _dt.datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
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
