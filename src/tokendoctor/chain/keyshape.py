"""What the shape of a key, a session token or a configured value says before any request is sent.

Pure functions, no I/O.  Sources for each rule are cited beside it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Literal

KeyKind = Literal["long-term", "temporary"]
TokenVersion = Literal["v1", "v2"]

#: Access key ids that only an emulator accepts: AWS never issues them.
PLACEHOLDER_KEYS: dict[str, str] = {
    # LocalStack's documented default (localstack/testing/config.py: TEST_AWS_ACCESS_KEY_ID ... or "test").
    "test": "LocalStack's default test credentials",
    # moto's recommended test credentials (moto README, "Very important -- recommended usage").
    "testing": "moto's recommended test credentials",
    # moto's mock_aws() exports these (moto/core/models.py: FAKE_KEYS).
    "FOOBARKEY": "moto's mock_aws() default credentials",
    # The AWS documentation's example keys (IAM user guide, "Managing access keys").
    "AKIAIOSFODNN7EXAMPLE": "the AWS documentation's example key",
    "AKIAI44QH8DHBEXAMPLE": "the AWS documentation's example key",
    "ASIAIOSFODNN7EXAMPLE": "the AWS documentation's example key",
}

#: STS session tokens are base64; their first 9 bytes name the token format.  Version 1 tokens (only from
#: the global endpoint sts.amazonaws.com while the account's GlobalEndpointTokenVersion is v1Token) start
#: with b"\x15\n\x06er/aws" or b"\x17\n\x06er/aws" (base64 "FQoGZXIvYXdz" / "FwoGZXIvYXdz", e.g. moto and
#: prowler's tests, issue aws/aws-sdk-go#4112: a 364-character v1 token); version 2 tokens, from regional
#: endpoints or a v2Token account, start with b"!\n\torigin" (base64 "IQoJb3JpZ2lu", e.g. every presigned
#: URL signed by a us-west-2 session) and are about twice as long.
_V1_TAIL = b"\n\x06er/aws"
_V2_HEAD = b"!\n\torigin"


def key_kind(access_key: str | None) -> KeyKind | None:
    """``long-term`` for an IAM user's key (AKIA), ``temporary`` for an STS key (ASIA), else None."""
    if not access_key:
        return None
    if access_key.startswith("AKIA"):
        return "long-term"
    if access_key.startswith("ASIA"):
        return "temporary"
    return None


def sts_token_version(token: str | None) -> TokenVersion | None:
    """``v1`` / ``v2`` from the token's leading bytes, or None when it is neither (or not base64)."""
    if not token:
        return None
    try:
        head = base64.b64decode(token.strip()[:12], validate=True)
    except (binascii.Error, ValueError):
        return None
    if head.startswith(_V2_HEAD):
        return "v2"
    if head[1:] == _V1_TAIL and head[:1] in (b"\x15", b"\x17"):
        return "v1"
    return None


def placeholder(access_key: str | None) -> str | None:
    """Where a well-known placeholder key comes from, or None."""
    return PLACEHOLDER_KEYS.get(access_key or "")


def whitespace_problem(value: str | None) -> str | None:
    """``whitespace-only`` or ``padded`` for a value botocore uses as-is, else None (unset or empty values are
    skipped by botocore's EnvProvider, so they are no problem here)."""
    if not value:
        return None
    if not value.strip():
        return "whitespace-only"
    if value != value.strip():
        return "padded with whitespace"
    return None


def endpoint_override(env: Mapping[str, str], profile_config: Mapping[str, object]) -> str | None:
    """The setting that sends this SDK's requests to another endpoint (an emulator), or None.

    botocore reads ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` and the profile's ``endpoint_url`` or
    ``services`` section, unless ``AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`` is true."""
    ignore = env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "") or str(
        profile_config.get("ignore_configured_endpoint_urls", "")
    )
    if ignore.strip().lower() == "true":
        return None
    for name in sorted(env):
        if name.startswith("AWS_ENDPOINT_URL") and env[name].strip():
            return name
    for key in ("endpoint_url", "services"):
        if profile_config.get(key):
            return f"{key} in the profile"
    return None
