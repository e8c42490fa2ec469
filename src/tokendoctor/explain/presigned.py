"""A presigned S3 URL's own lifetime, read from pasted text: its query (``X-Amz-Date``, ``X-Amz-Expires``,
``X-Amz-Credential``, ``X-Amz-Security-Token``) or S3's error body (``<X-Amz-Expires>``, ``<Expires>``).

S3 answers an expired presigned URL in two ways (S3 REST error docs, SigV4 query auth):
``AccessDenied`` / ``Request has expired`` when X-Amz-Date + X-Amz-Expires has passed (the URL's own
lifetime), and ``ExpiredToken`` when the temporary session whose X-Amz-Security-Token signed it ended
first (a URL can never outlive the credentials that signed it)."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any

from tokendoctor.timefmt import iso, parse_time

# Each a literal name then a bounded value: linear on any text.
_DATE = re.compile(r"X-Amz-Date(?:=|>)(\d{8}T\d{6}Z)")
_EXPIRES = re.compile(r"X-Amz-Expires(?:=|>)(\d{1,9})\b")
_CREDENTIAL = re.compile(r"X-Amz-Credential=(?P<key>[A-Z0-9…]{4,40})(?:%2F|/)")
_TOKEN = re.compile(r"X-Amz-Security-Token[=>]")


@dataclass(frozen=True)
class PresignedUrl:
    """What the text says about one presigned URL; every field ``None`` when it does not say it."""

    signed_at: _dt.datetime | None
    lifetime_seconds: int | None
    temporary: bool | None
    """True: signed with a temporary session (ASIA key or X-Amz-Security-Token); False: long-term key."""

    @property
    def expires_at(self) -> _dt.datetime | None:
        if self.signed_at is None or self.lifetime_seconds is None:
            return None
        return self.signed_at + _dt.timedelta(seconds=self.lifetime_seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "signed_at": iso(self.signed_at),
            "lifetime_seconds": self.lifetime_seconds,
            "expires_at": iso(self.expires_at),
            "signed_with": {None: None, True: "temporary-session", False: "long-term-key"}[self.temporary],
        }


def read(text: str) -> PresignedUrl | None:
    """The presigned URL the (masked) text shows, or ``None`` when it shows none."""
    date = _DATE.search(text)
    expires = _EXPIRES.search(text)
    credential = _CREDENTIAL.search(text)
    token = _TOKEN.search(text)
    if not (date or expires or credential or token):
        return None
    temporary: bool | None = None
    if token or (credential and credential["key"].startswith("ASIA")):
        temporary = True
    elif credential and credential["key"].startswith("AKIA"):
        temporary = False
    return PresignedUrl(
        signed_at=parse_time(date[1]) if date else None,
        lifetime_seconds=int(expires[1]) if expires else None,
        temporary=temporary,
    )


__all__ = ["PresignedUrl", "read"]
