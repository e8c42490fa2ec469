"""What ``explain`` reads out of a pasted error (ErrorFacts) and what it answers (Explanation): plain data only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tokendoctor.models import RankedCause

Category = Literal["expired", "invalid", "clock", "no-credentials", "sso", "other"]
ExplainStatus = Literal["error", "warning", "unrecognised"]


@dataclass(frozen=True, kw_only=True)
class ErrorFacts:
    """What the text says, read literally.  Every field is ``None`` when the text does not say it."""

    family: str | None
    category: Category | None
    code: str | None
    """The error code exactly as the text gives it (``ExpiredToken``, ``AccessDenied``...)."""
    message: str | None
    service: str | None
    operation: str | None
    sdk: str | None
    request_id: str | None
    http_status: int | None
    access_key_id: str | None
    """Masked (``ASIA…WXYZ``); ``ASIA`` = temporary session credentials, ``AKIA`` = long-term user keys."""
    request_time: str | None
    server_time: str | None
    skew_seconds: int | None
    """The signer's clock minus AWS's clock (as everywhere in tokendoctor): positive = the signer was ahead."""
    skew_direction: Literal["ahead", "behind"] | None
    max_skew_seconds: int | None
    expires_at: str | None
    """For an expired presigned URL: when it stopped being valid."""
    clues: tuple[str, ...]
    """Context words found (``instance-metadata``, ``assume-role``, ``sso``, ...) that steer the ranking."""
    presigned: dict[str, Any] | None = None
    """A presigned URL in the text: ``signed_at``, ``lifetime_seconds``, ``expires_at``, ``signed_with``."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "family": self.family,
            "category": self.category,
            "code": self.code,
            "message": self.message,
            "service": self.service,
            "operation": self.operation,
            "sdk": self.sdk,
            "request_id": self.request_id,
            "http_status": self.http_status,
            "access_key_id": self.access_key_id,
            "request_time": self.request_time,
            "server_time": self.server_time,
            "skew_seconds": self.skew_seconds,
            "skew_direction": self.skew_direction,
            "max_skew_seconds": self.max_skew_seconds,
            "expires_at": self.expires_at,
            "clues": list(self.clues),
            "presigned": self.presigned,
        }


@dataclass(frozen=True, kw_only=True)
class Explanation:
    """The answer to one pasted text: its facts, the ranked causes, the commands that confirm them."""

    error: ErrorFacts
    causes: tuple[RankedCause, ...]
    confirm: tuple[str, ...]
    status: ExplainStatus
    exit_code: int
    deadline_reached: bool = False
    """True when ``--timeout`` ran out before the whole text was read: the answer is what was found so far."""

    @property
    def recognised(self) -> bool:
        return self.error.family is not None
