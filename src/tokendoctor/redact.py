"""Masking of credentials, and the last line of defence against leaking secrets.

Checks mask access key ids with :func:`mask_key` and never put a secret into a
finding.  As a second barrier every secret value tokendoctor reads is
registered with the run's :class:`Redactor`, and every byte the CLI prints
(report, error line, ``--debug`` traceback) passes through :meth:`Redactor.redact`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping

SECRET_ENV_VARS = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    # CI tokens: tokendoctor only checks that they are set (probes/ci.py), never shows them.
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "CIRCLE_OIDC_TOKEN",
    "CIRCLE_OIDC_TOKEN_V2",
    "BITBUCKET_STEP_OIDC_TOKEN",
    "BUILDKITE_AGENT_ACCESS_TOKEN",
)
SECRET_FILE_KEYS = frozenset(
    {
        "aws_secret_access_key",
        "aws_session_token",
        "aws_security_token",
        "secretaccesskey",
        "sessiontoken",
        "token",
        "accesstoken",
        "refreshtoken",
        "clientsecret",
    }
)
# key = value / "Key": "value" shapes whose value must never be shown.
#: An AWS access key id in free text (IAM users AKIA, sessions ASIA, roles AROA, users AIDA, ABIA/ACCA).
ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA|ABIA|ACCA)[A-Z0-9]{12,20}\b")


def mask_key_ids(text: str) -> str:
    """Every access key id in ``text`` shortened to ``ASIA…WXYZ`` (not secrets, but never shown whole)."""
    return ACCESS_KEY_ID.sub(lambda m: mask_key(m[0]) or "…", text)


_KEYED_SECRET = re.compile(
    r"""(?ix)
    (?P<key>aws_secret_access_key|aws_session_token|aws_security_token|
        secretaccesskey|sessiontoken|accesstoken|refreshtoken|clientsecret)
    (?P<sep>["']?\s*[:=]\s*["']?)
    (?P<val>[^\s"',}]+)
    """
)
_MIN_SECRET_LEN = 8
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def mask_key(value: str | None) -> str | None:
    """``ASIAEXAMPLE1234WXYZ`` -> ``ASIA…WXYZ``; short values are masked whole."""
    if not value:
        return None
    value = value.strip()
    if len(value) <= 12:
        return "…" if len(value) <= 4 else value[:2] + "…"
    return f"{value[:4]}…{value[-4:]}"


class Redactor:
    """Remembers secret values and blanks them out of any text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, *values: object) -> None:
        with self._lock:
            for value in values:
                if isinstance(value, str):
                    value = value.strip()
                    if len(value) >= _MIN_SECRET_LEN:
                        self._secrets.add(value)
                    # A secret with a line break or other control character inside shows up in errors
                    # split or escaped (``b'abc\\r\\ndef'``): mask each piece too.
                    for piece in _CONTROL.split(value) if _CONTROL.search(value) else ():
                        if len(piece) >= _MIN_SECRET_LEN:
                            self._secrets.add(piece)

    def add_from_env(self, env: Mapping[str, str]) -> None:
        self.add(*(env.get(name) for name in SECRET_ENV_VARS))

    def add_from_mapping(self, mapping: Mapping[str, object], keys: Iterable[str] = SECRET_FILE_KEYS) -> None:
        wanted = {k.lower() for k in keys}
        for key, value in mapping.items():
            if isinstance(key, str) and key.lower() in wanted:
                self.add(value)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, "****")
        return _KEYED_SECRET.sub(lambda m: f"{m['key']}{m['sep']}****", text)

    def longest(self) -> int:
        """Length of the longest registered secret (0 when none)."""
        with self._lock:
            return max((len(s) for s in self._secrets), default=0)


#: No secret tokendoctor masks is longer than this (STS session tokens are a few KiB; a JWT a few more).
SECRET_LEN_BOUND = 16 * 1024


_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def neutralise(text: str) -> str:
    r"""Control characters from outside (escape sequences in a role name, a profile, a file) shown as
    ``\x1b`` instead of reaching a terminal; newlines and tabs stay."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m[0]):02x}", text)


def first_line(text: str) -> str:
    """The first line of ``text`` (empty for empty text), without splitting all of a huge text."""
    return _CONTROL_LINE.split(text, maxsplit=1)[0] if text else ""


_CONTROL_LINE = re.compile(r"[\r\n]")


def mask_then_truncate(redactor: Redactor, text: str, limit: int, *, count: bool = False) -> str:
    """``text`` masked WHOLE, then cut to ``limit`` characters (``…`` marks a cut; with ``count``,
    ``…(+N chars)`` after the first ``limit`` characters says how much was cut).

    Cutting first would leave half a secret that the masker no longer recognises.  Very large text
    (a 500 MB answer inside an exception) is first cut to ``limit + 2 * L`` characters, where ``L``
    bounds every secret's length (the longest registered one, at least :data:`SECRET_LEN_BOUND`):
    a secret that reaches into the first ``limit`` characters lies wholly inside that prefix and is
    masked; a secret the pre-cut splits is a suffix of the prefix shorter than ``L``, left unmasked,
    and masking only shortens text, so dropping the last ``L`` masked characters removes it before
    the final cut.  Masking work is thereby bounded by the limit, not by the input.
    """
    bound = max(redactor.longest(), SECRET_LEN_BOUND)
    cut = len(text) > limit + 2 * bound
    masked = redactor.redact(text[: limit + 2 * bound])[:-bound] if cut else redactor.redact(text)
    if len(masked) <= limit and not cut:
        return masked
    if count:
        return masked[:limit] + (f"…(+{len(masked) - limit} chars)" if not cut else f"…(+{len(text) - limit} chars)")
    return masked[: max(limit - 1, 0)] + "…"
