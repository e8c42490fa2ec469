"""Mask every credential in pasted text first, so nothing after it (parse, rank, render) can see a secret.

Every pattern here runs on untrusted text of up to a mebibyte, so each is linear: a literal or a
bounded class starts it, and no two unbounded quantifiers can trade characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from tokendoctor.redact import Redactor, mask_key_ids

# key=value / key: value / "key": "value" / <Key>value</Key> shapes whose value is secret; separators
# may be `_`, `-` or a space (`aws-secret-access-key: X`, `AWS Secret Access Key [None]: X` from
# `aws configure`, whose bracket shows the previous value, already masked by the CLI).
_KEYED = re.compile(
    r"""(?ix)
    (?P<key>aws[-_ ]secret[-_ ]access[-_ ]key|aws[-_ ]session[-_ ]token|aws[-_ ]security[-_ ]token|
        secret[-_ ]?access[-_ ]?key|secret[-_ ]?key|session[-_ ]?token|security[-_ ]?token|x-amz-security-token|
        aws\.secretKey|aws\.secretAccessKey|aws\.sessionToken|aws[-_]secret[-_]key)
    (?P<sep>["']?\s*(?:\[[^\]\n]{0,80}\]\s*)?(?:[:=]|=>)\s*["']?)
    (?P<val>[^\s"'&,;}<>)\]]+)
    """
)
# The value of a secret element runs to the next `<`, closed or not (an unclosed `<SessionToken>` must
# not let the token through; `.*?</tag>` was quadratic on repeated open tags).
_XML_SECRET = re.compile(r"(?i)<(?P<tag>Token-\d{1,6}|SessionToken|SecretAccessKey|SecurityToken)>(?P<val>[^<]*)")
# Long base64 runs: STS session tokens (hundreds of characters), secret access keys (40).  JSON may
# escape `/` as `\/` and URLs encode it as `%2F`: both are part of a run.  Runs of 120+ are masked
# whatever they look like; runs of 40+ when they look random (see _looks_random).
_TOKEN_RUN = re.compile(r"(?<![A-Za-z0-9+/=%\\])(?:[A-Za-z0-9+/]|\\/|%2[BbFf]){40,}(?:=|%3[Dd]){0,2}")
_TOKEN_PREFIX = re.compile(
    r"\b(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|AQoDYXdz|AgoJb3JpZ2lu|IQoDYXdz)(?:[A-Za-z0-9+/%=]|\\/){28,}"
)
# https://user:password@host: the password goes, the user stays.
_URL_PASSWORD = re.compile(r"://(?P<user>[^\s:/@]{0,256}):(?P<pw>[^\s/@]{1,256})@")
_ALWAYS_MASKED_RUN = 120


def _looks_random(run: str) -> bool:
    """Upper case, lower case and digits all present and few `/`: a key or token, not a path or a
    word (request ids are upper case and digits only; signatures are lower-case hex)."""
    return (
        any(c.isupper() for c in run)
        and any(c.islower() for c in run)
        and any(c.isdigit() for c in run)
        and run.count("/") * 8 <= len(run)
    )


def _mask_run(match: re.Match[str]) -> str:
    run = match[0]
    return "****" if len(run) >= _ALWAYS_MASKED_RUN or _looks_random(run) else run


_STEPS: tuple[Callable[[str], str], ...] = (
    lambda t: _XML_SECRET.sub(lambda m: f"<{m['tag']}>****", t),
    lambda t: _KEYED.sub(lambda m: f"{m['key']}{m['sep']}****", t),
    lambda t: _URL_PASSWORD.sub(lambda m: f"://{m['user']}:****@", t),
    lambda t: _TOKEN_PREFIX.sub("****", t),
    lambda t: _TOKEN_RUN.sub(_mask_run, t),
    mask_key_ids,
    lambda t: Redactor().redact(t),
)


def scrub(text: str) -> str:
    """Mask every credential-shaped value in ``text``; keep everything else byte for byte.  Always runs
    to the end, deadline or not (linear; about 0.5 s for the largest input): nothing unmasked is ever read."""
    for step in _STEPS:
        text = step(text)
    return text


__all__ = ["scrub"]
