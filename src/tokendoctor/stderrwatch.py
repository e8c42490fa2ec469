"""Watch a program's stderr, line by line, for AWS credential and time errors.

The bytes are the caller's to pass through; this only reads them.  Memory is
bounded: a line is cut at :data:`MAX_LINE` bytes, the context kept is a fixed
number of lines, the per-line classification cache and the error table have
fixed sizes.  A cheap keyword gate decides which lines are worth a look; the
look itself is :func:`tokendoctor.explain.explain`, the same parser as
``tokendoctor explain``.  The first recognised error becomes one
:class:`Detection` (with the lines around it, so a Java or Python stack trace is
read whole); later ones are only counted.
"""

from __future__ import annotations

import datetime as _dt
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tokendoctor.timefmt import iso

if TYPE_CHECKING:
    from tokendoctor.explain import Explanation

MAX_LINE = 8192
"""Bytes of one line that are looked at; the rest of a longer line is passed through unread."""
LINES_BEFORE = 12
LINES_AFTER = 30
SETTLE_SECONDS = 0.3
"""How long to wait for the rest of a stack trace before diagnosing."""
MAX_KINDS = 64
_CACHE_SIZE = 512

# Words at least one of which every AWS credential/time error the explain parser knows contains.
# Only a gate: explain() decides.
_GATE = re.compile(
    rb"(?i)token|expired|credential|signature|skew|accesskeyid|authfailure|unrecognizedclient|"
    rb"requestinthefuture|not yet current|\bsso\b|unauthorized|durationseconds"
)
_VOLATILE = re.compile(r"[0-9a-fA-F]{8,}(?:-[0-9a-fA-F]{4,})*|\d+")


@dataclass
class ErrorKind:
    """One kind of error seen (same family and code), with how often and when."""

    family: str
    code: str | None
    category: str | None
    count: int = 0
    first_seen: str | None = None
    last_seen: str | None = None
    sample: str = ""
    """The first line of this kind, masked and shortened."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "code": self.code,
            "category": self.category,
            "count": self.count,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "sample": self.sample,
        }


@dataclass(frozen=True)
class Detection:
    explanation: Explanation
    line: str
    """The line that triggered it, masked and shortened."""
    at: str | None


@dataclass
class StderrWatcher:
    on_detection: Callable[[Detection], None]
    now: Callable[[], float] = time.time
    kinds: dict[tuple[str, str | None], ErrorKind] = field(default_factory=dict)
    lines_seen: int = 0
    dropped_kinds: int = 0

    def __post_init__(self) -> None:
        self._partial = bytearray()
        self._skipping = False
        self._before: deque[str] = deque(maxlen=LINES_BEFORE)
        self._pending: list[str] | None = None
        self._pending_line = ""
        self._pending_after = 0
        self._pending_at = 0.0
        self._detected = False
        self._cache: OrderedDict[str, tuple[str, str | None, str | None] | None] = OrderedDict()

    # ------------------------------------------------------------------ input

    def feed(self, data: bytes) -> None:
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            self._take(data[start:end], complete=True)
            start = end + 1
        if start < len(data):
            self._take(data[start:], complete=False)

    def _take(self, piece: bytes, *, complete: bool) -> None:
        if self._skipping:
            if complete:
                self._skipping = False
            return
        room = MAX_LINE - len(self._partial)
        self._partial += piece[:room]
        if complete:
            self._line(bytes(self._partial))
            self._partial.clear()
        elif len(self._partial) >= MAX_LINE:
            self._line(bytes(self._partial))  # an endless line is looked at once, the rest skipped
            self._partial.clear()
            self._skipping = True

    def idle(self) -> None:
        """No output for a while: a pending diagnosis need not wait for more lines."""
        if self._pending is not None and self.now() - self._pending_at >= SETTLE_SECONDS:
            self._finish()

    def close(self) -> None:
        """End of the stream."""
        if self._partial and not self._skipping:
            self._line(bytes(self._partial))
        self._partial.clear()
        if self._pending is not None:
            self._finish()

    # ------------------------------------------------------------------ lines

    def _line(self, raw: bytes) -> None:
        self.lines_seen += 1
        gated = _GATE.search(raw) is not None
        text = raw.decode("utf-8", errors="replace").rstrip("\r")
        if self._pending is not None:
            self._pending.append(text)
            self._pending_after += 1
            self._pending_at = self.now()
        else:
            self._before.append(text)
        if gated:
            kind = self._classify(text)
            if kind is not None:
                self._count(kind, text)
                if not self._detected and self._pending is None:
                    self._pending = list(self._before)
                    self._pending_line = text
                    self._pending_after = 0
                    self._pending_at = self.now()
        if self._pending is not None and self._pending_after >= LINES_AFTER:
            self._finish()

    def _classify(self, text: str) -> tuple[str, str | None, str | None] | None:
        key = _VOLATILE.sub("#", text)[:1024]
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        from tokendoctor.explain import explain  # loaded at the first candidate line, not at start-up

        facts = explain(text).error
        kind = (facts.family, facts.code, facts.category) if facts.family else None
        self._cache[key] = kind
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return kind

    def _count(self, kind: tuple[str, str | None, str | None], text: str) -> None:
        from tokendoctor.explain import scrub

        family, code, category = kind
        when = iso(_dt.datetime.fromtimestamp(self.now(), _dt.timezone.utc))
        entry = self.kinds.get((family, code))
        if entry is None:
            if len(self.kinds) >= MAX_KINDS:
                self.dropped_kinds += 1
                return
            entry = self.kinds[(family, code)] = ErrorKind(
                family=family, code=code, category=category, first_seen=when, sample=_short(scrub(text))
            )
        entry.count += 1
        entry.last_seen = when

    def _finish(self) -> None:
        from tokendoctor.explain import explain, scrub

        lines, trigger = self._pending or [], self._pending_line
        self._pending = None
        self._detected = True
        self._before.clear()
        result = explain("\n".join(lines))
        alone = explain(trigger)
        # the window said something else: trust the line itself.  The window may refine the line's
        # family within its category (an S3 XML body's `Request has expired` line is a presigned URL's).
        if not result.recognised or result.error.category != alone.error.category:
            result = alone
        at = iso(_dt.datetime.fromtimestamp(self.now(), _dt.timezone.utc))
        self.on_detection(Detection(explanation=result, line=_short(scrub(trigger)), at=at))

    @property
    def errors(self) -> list[ErrorKind]:
        return sorted(self.kinds.values(), key=lambda k: (k.first_seen or "", k.family))


def _short(text: str, limit: int = 300) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


__all__ = ["Detection", "ErrorKind", "StderrWatcher", "MAX_LINE"]
