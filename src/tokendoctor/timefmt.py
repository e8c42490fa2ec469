"""Human-readable durations for reports ("in 42 min", "3 d 4 h ago").  Pure."""

from __future__ import annotations


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
