"""What the in-process hook saw (its JSON records), turned into findings.  Pure apart from
:func:`read_records`, which reads the record file with a size cap.

A record describes one botocore client that got an ExpiredToken-family error:
when it was created and in which process, its credentials object (``kind``:
static / refreshable / deferred, the provider ``method``, masked key, expiry,
refresh attempts and failures) and the error (see :mod:`tokendoctor.hook`).
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from tokendoctor import files
from tokendoctor.chain.botocore_private import CredentialPeek
from tokendoctor.models import CheckResult, Finding
from tokendoctor.redact import mask_key
from tokendoctor.timefmt import iso

NAME = "inprocess"
_SHARED_FACTS = ("shared_across_fork", "changed_since_client_created")
MAX_RECORD_FILE = 1024 * 1024

# Refreshable credentials whose refresh failed, by botocore provider method: the cause that
# names that source.  Anything else is reported as expired credentials with the refresh error.
_REFRESH_CAUSE = {
    "sso": "TD206",
    "assume-role-with-web-identity": "TD207",
    "container-role": "TD306",
    "iam-role": "TD304",
}
# Static credentials with a session token, by where botocore found them.
_STATIC_CAUSE = {"explicit": "TD511", "env": "TD101", "shared-credentials-file": "TD204", "config-file": "TD204"}


def read_records(path: str | os.PathLike[str], limit: int = MAX_RECORD_FILE) -> list[dict[str, Any]]:
    """The hook's records from ``path``: a regular file, at most ``limit`` bytes read, bad lines skipped."""
    try:
        data = files.read_bytes(path, limit, head=True, follow_symlinks=False)
    except files.FileProblem:
        return []
    records = []
    for line in data.splitlines():
        try:
            record = files.parse_json(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == "aws-error":
            records.append(record)
    return records


def describe(seen: CredentialPeek, refresh: Mapping[str, Any] | None = None, clients: int = 1) -> dict[str, Any]:
    """A credentials object as a record's ``credentials`` field (key masked, no secret)."""
    return {
        "kind": seen.kind,
        "class": seen.class_name,
        "method": seen.method,
        "access_key_id": mask_key(seen.access_key),
        "session_token": seen.has_token,
        "expiry": iso(
            seen.expiry if seen.expiry is None or seen.expiry.tzinfo else seen.expiry.replace(tzinfo=_dt.timezone.utc)
        ),
        "clients": clients,
        "refresh": dict(refresh or {"attempts": 0, "failures": 0, "last_attempt_at": None, "last_error": None}),
    }


def _client_label(client: Mapping[str, Any]) -> str:
    region = client.get("region")
    return f"{client.get('service', '?')}" + (f" ({region})" if region else "")


def _time_of_day(stamp: str | None) -> str:
    return stamp[11:19] if stamp and len(stamp) >= 19 else "?"


def finding_for(record: Mapping[str, Any]) -> Finding | None:
    """The finding one record supports, or None (unsigned client, long-term keys, a healthy refresher)."""
    creds = record.get("credentials")
    client = record.get("client") or {}
    error = record.get("error") or {}
    if not isinstance(creds, Mapping):
        return None
    kind, method = creds.get("kind"), creds.get("method")
    evidence: dict[str, Any] = {
        "client": _client_label(client),
        "client_created_at": client.get("created_at"),
        "credentials": f"{creds.get('class')} ({kind}, method {method})",
        "access_key_id": creds.get("access_key_id"),
        "error": error.get("code") or error.get("family"),
    }
    if record.get("forked"):
        evidence["shared_across_fork"] = (
            f"created in process {client.get('created_pid')}, used in its fork {record.get('pid')}"
        )
    if record.get("changed_since_created"):
        evidence["changed_since_client_created"] = list(record["changed_since_created"])
    refresh = creds.get("refresh") or {}
    if kind == "static":
        code = _STATIC_CAUSE.get(str(method))
        if not creds.get("session_token") or code is None:
            return None
        how = "explicit keys" if method == "explicit" else f"{method} keys"
        evidence["summary"] = (
            f"client {_client_label(client)} created {_time_of_day(client.get('created_at'))} from {how} "
            "with a session token; nothing refreshes them"
        )
        return Finding(code=code, evidence=evidence)
    if refresh.get("failures"):
        code = _REFRESH_CAUSE.get(str(method), "TD202")
        evidence.update(
            refresh_attempts=refresh.get("attempts"),
            refresh_failures=refresh.get("failures"),
            refresh_failed_at=refresh.get("last_attempt_at"),
            refresh_error=refresh.get("last_error"),
            expiry=creds.get("expiry"),
        )
        evidence["summary"] = (
            f"botocore tried to refresh the {method} credentials of client {_client_label(client)} "
            f"{refresh.get('failures')} time(s); the last attempt failed: {refresh.get('last_error')}"
        )
        title = "The credentials expired because their refresh failed (seen in the process)"
        return Finding(code=code, evidence=evidence, title=title if code == "TD202" else "")
    return None


def check(records: Iterable[Mapping[str, Any]]) -> CheckResult:
    """All records as one check result (section ``inprocess``), one finding per credentials object."""
    findings: dict[tuple[str, Any], Finding] = {}
    clients = []
    for record in records:
        client = record.get("client") or {}
        creds = record.get("credentials") or {}
        clients.append(
            {
                "client": _client_label(client),
                "created_at": client.get("created_at"),
                "pid": record.get("pid"),
                "kind": creds.get("kind"),
                "method": creds.get("method"),
                "access_key_id": creds.get("access_key_id"),
                "expiry": creds.get("expiry"),
                "error": (record.get("error") or {}).get("code"),
                "forked": bool(record.get("forked")),
            }
        )
        finding = finding_for(record)
        if finding is None:
            continue
        ident = (finding.code, finding.evidence.get("access_key_id"))
        first = findings.get(ident)
        if first is None:
            findings[ident] = finding
            continue
        # the same credentials seen by another client or process: keep the first, add what only this one saw
        extra = {k: v for k, v in finding.evidence.items() if k in _SHARED_FACTS and k not in first.evidence}
        if extra:
            findings[ident] = replace(first, evidence={**first.evidence, **extra})
    return CheckResult(name=NAME, findings=tuple(findings.values()), data={"clients": clients} if clients else {})


__all__ = ["NAME", "check", "finding_for", "read_records"]
