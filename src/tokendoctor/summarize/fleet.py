"""The fleet accumulator: one report at a time in, bounded counters out.  Pure: no I/O.

Everything a report says is treated as untrusted text from another machine: strings are
cut to a fixed length, control characters replaced, unknown values counted as such.
Memory is bounded: counters per cause code / method / check name, at most
:data:`SAMPLE_HOSTS` host names per row and :data:`MAX_NAMED_UNREADABLE` unreadable names.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from tokendoctor.models import SEVERITY_ORDER

SAMPLE_HOSTS = 5
MAX_NAMED_UNREADABLE = 1000
MAX_ROWS = 500
"""Distinct cause codes / methods / check names kept; more than this is not a tokendoctor fleet."""
#: Upper edges (seconds, absolute offset) of the clock histogram buckets; the last is open-ended.
OFFSET_EDGES: tuple[float, ...] = (0.1, 1.0, 5.0, 60.0, 300.0, 900.0)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_INSTANCE_ID = re.compile(r"^m?i-[0-9a-f]{8,17}$")


def clean(value: object, limit: int = 255) -> str:
    """Untrusted text -> one printable line of at most ``limit`` characters."""
    return _CONTROL.sub("?", str(value))[:limit]


def parse_report(data: bytes) -> tuple[dict[str, Any] | None, str]:
    """A ``check --json`` document, also when it is Run Command stdout with lines before it."""
    text = data.decode("utf-8", errors="replace")
    try:
        doc = json.loads(text)
    except ValueError:
        start = text.find("\n{")  # installer chatter above the document
        try:
            doc = json.JSONDecoder().raw_decode(text[start + 1 :])[0] if start >= 0 else None
        except ValueError:
            doc = None
        if doc is None:
            return None, "not JSON"
    if not isinstance(doc, dict) or not isinstance(doc.get("causes"), list) or "schema_version" not in doc:
        return None, "not a tokendoctor check report"
    if doc.get("schema_version") != 1:
        return None, f"unsupported schema_version {clean(doc.get('schema_version'), 20)}"
    return doc, ""


def host_name(doc: dict[str, Any], origin: str) -> str:
    """``host.hostname`` (with the instance id when known), else the instance id or file name in the path."""
    host = doc.get("host")
    hostname, instance = (host.get("hostname"), host.get("instance_id")) if isinstance(host, dict) else (None, None)
    if isinstance(hostname, str) and hostname:
        return clean(f"{hostname} ({instance})" if isinstance(instance, str) and instance else hostname)
    if isinstance(instance, str) and instance:
        return clean(instance)
    parts = [p for p in re.split(r"[/\\]", origin) if p]
    for part in reversed(parts):
        if _INSTANCE_ID.match(part):
            return part
    last = parts[-1] if parts else origin
    return clean(last.removesuffix(".json") if last != "stdout" or len(parts) < 2 else parts[-2])


@dataclass
class Row:
    hosts: int = 0
    sample: list[str] = field(default_factory=list)

    def add(self, host: str) -> None:
        self.hosts += 1
        if len(self.sample) < SAMPLE_HOSTS:
            self.sample.append(host)


@dataclass
class CauseRow(Row):
    name: str = ""
    severity: str = "info"


@dataclass
class Fleet:
    reports: int = 0
    status: dict[str, int] = field(default_factory=lambda: {"ok": 0, "warning": 0, "error": 0, "unknown": 0})
    failing: int = 0
    """Reports whose own exit code was 1."""
    causes: dict[str, CauseRow] = field(default_factory=dict)
    methods: dict[str, int] = field(default_factory=dict)
    platforms: dict[str, int] = field(default_factory=dict)
    checks: dict[tuple[str, str], Row] = field(default_factory=dict)
    offsets: list[int] = field(default_factory=lambda: [0] * (len(OFFSET_EDGES) + 1))
    offset_unknown: int = 0
    offset_max: float | None = None
    unreadable: int = 0
    unreadable_named: list[tuple[str, str]] = field(default_factory=list)

    def add_unreadable(self, name: str, reason: str) -> None:
        self.unreadable += 1
        if len(self.unreadable_named) < MAX_NAMED_UNREADABLE:
            self.unreadable_named.append((clean(name, 1024), clean(reason, 300)))

    def add(self, doc: dict[str, Any], origin: str) -> None:
        host = host_name(doc, origin)
        self.reports += 1
        status = doc.get("status")
        self.status[status if status in ("ok", "warning", "error") else "unknown"] += 1
        if doc.get("exit_code") == 1:
            self.failing += 1
        self._causes(doc.get("causes") or [], host)
        self._count(self.methods, _dig(doc, "credentials", "resolved", "method") or "none")
        self._count(self.platforms, _dig(doc, "platform", "kind") or "unknown")
        for check in doc.get("checks") or []:
            if isinstance(check, dict) and check.get("status") in ("error", "timeout"):
                key = (clean(check.get("name"), 40), str(check["status"]))
                if key in self.checks or len(self.checks) < MAX_ROWS:
                    self.checks.setdefault(key, Row()).add(host)
        self._offset(_dig(doc, "clock", "offset_seconds"))

    def _causes(self, causes: list[Any], host: str) -> None:
        seen: set[str] = set()
        for cause in causes:
            if not isinstance(cause, dict):
                continue
            code = clean(cause.get("code"), 16)
            raw = cause.get("severity")
            severity = raw if isinstance(raw, str) and raw in SEVERITY_ORDER else "info"
            row = self.causes.get(code)
            if row is None:
                if len(self.causes) >= MAX_ROWS:
                    continue
                row = self.causes[code] = CauseRow(name=clean(cause.get("name"), 64), severity=severity)
            if SEVERITY_ORDER[severity] < SEVERITY_ORDER[row.severity]:
                row.severity = severity
            if code not in seen:  # hosts per cause: a host counts once per code
                seen.add(code)
                row.add(host)

    def _count(self, table: dict[str, int], value: object) -> None:
        key = clean(value, 64)
        if key in table or len(table) < MAX_ROWS:
            table[key] = table.get(key, 0) + 1

    def _offset(self, value: object) -> None:
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            self.offset_unknown += 1
            return
        size = abs(float(value))
        self.offset_max = size if self.offset_max is None else max(self.offset_max, size)
        for i, edge in enumerate(OFFSET_EDGES):
            if size < edge:
                self.offsets[i] += 1
                return
        self.offsets[-1] += 1

    # ------------------------------------------------------------- views

    def ranked_causes(self) -> list[tuple[str, CauseRow]]:
        """Worst first: severity, then how many hosts, then code."""
        return sorted(self.causes.items(), key=lambda kv: (SEVERITY_ORDER[kv[1].severity], -kv[1].hosts, kv[0]))

    def histogram(self) -> list[tuple[str, int]]:
        labels = [f"< {_fmt(OFFSET_EDGES[0])}"]
        labels += [f"{_fmt(lo)} - {_fmt(hi)}" for lo, hi in itertools.pairwise(OFFSET_EDGES)]
        labels.append(f">= {_fmt(OFFSET_EDGES[-1])}")
        return list(zip(labels, self.offsets, strict=True))

    @property
    def exit_code(self) -> int:
        """1 when a host's own report failed; 3 when nothing could be read; else 0."""
        if self.failing:
            return 1
        return 3 if self.reports == 0 else 0


def _fmt(seconds: float) -> str:
    return f"{seconds:g}s" if seconds < 60 else f"{seconds / 60:g}m"


def _dig(doc: dict[str, Any], *keys: str) -> Any:
    value: Any = doc
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
