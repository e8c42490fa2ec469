"""Mask every credential in pasted text first, so nothing after it (parse, rank, render) can see a secret."""

from __future__ import annotations

import re

from tokendoctor.redact import Redactor, mask_key

_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA|ABIA|ACCA)[A-Z0-9]{12,20}\b")
# key=value / key: value / "key": "value" / <Key>value</Key> shapes whose value is secret.
_KEYED = re.compile(
    r"""(?ix)
    (?P<key>aws_secret_access_key|aws_session_token|aws_security_token|secret_?access_?key|secret_?key|
        session_?token|security_?token|x-amz-security-token|aws\.secretKey|aws\.secretAccessKey|aws\.sessionToken|
        aws_secret_key)
    (?P<sep>["']?\s*(?:[:=]|=>)\s*["']?)
    (?P<val>[^\s"'&,;}<>)\]]+)
    """
)
_XML_SECRET = re.compile(r"(?is)<(?P<tag>Token-\d+|SessionToken|SecretAccessKey|SecurityToken)>(?P<val>.*?)</(?P=tag)>")
# Long runs of base64 (STS session tokens are hundreds of characters; request ids, HostIds and
# signatures are shorter or hex).  Known session-token prefixes are masked at any length >= 40.
_TOKEN_RUN = re.compile(r"(?<![A-Za-z0-9+/=%])(?:[A-Za-z0-9+/]|%2[Bb]|%2[Ff]){120,}(?:=|%3[Dd]){0,2}")
_TOKEN_PREFIX = re.compile(r"\b(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|AQoDYXdz|AgoJb3JpZ2lu|IQoDYXdz)[A-Za-z0-9+/%=]{28,}")


def scrub(text: str) -> str:
    """Mask every credential-shaped value in ``text``; keep everything else byte for byte."""
    text = _XML_SECRET.sub(lambda m: f"<{m['tag']}>****</{m['tag']}>", text)
    text = _KEYED.sub(lambda m: f"{m['key']}{m['sep']}****", text)
    text = _TOKEN_PREFIX.sub("****", text)
    text = _TOKEN_RUN.sub("****", text)
    text = _ACCESS_KEY.sub(lambda m: mask_key(m[0]) or "…", text)
    return Redactor().redact(text)


__all__ = ["scrub"]
