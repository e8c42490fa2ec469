"""AWS and SDK limits that several modules reason with, each defined once, with where it comes from."""

from __future__ import annotations

#: SigV4: AWS rejects a request whose X-Amz-Date is more than 5 minutes from its own clock
#: (RequestTimeTooSkewed / SignatureDoesNotMatch "Signature expired").
SIGV4_TOLERANCE_SECONDS = 300

#: An HTTP Date header has 1 s resolution: an offset measured against it is uncertain by that much.
DATE_HEADER_UNCERTAINTY = 1.0

#: STS session lifetimes (STS API reference, DurationSeconds): AssumeRole 900..43200, default 3600,
#: at most 3600 when a role session assumes a role (role chaining); GetSessionToken and
#: GetFederationToken up to 129600 (GetSessionToken's default is 43200).
ASSUME_ROLE_MIN = 900
ASSUME_ROLE_DEFAULT = 3600
ASSUME_ROLE_MAX = 12 * 3600
ROLE_CHAINING_MAX = 3600
SESSION_TOKEN_MAX = 36 * 3600

#: botocore's refresh windows are read from botocore itself: chain.botocore_private.refresh_windows().

#: botocore credential methods whose credentials nothing refreshes (static keys read once).
NOT_REFRESHABLE_METHODS = frozenset(
    {"env", "shared-credentials-file", "config-file", "boto-config", "ec2-credentials-file"}
)

#: Regions disabled by default ("opt-in"): a session token from the global endpoint
#: (sts.amazonaws.com) is only valid there when the account issues version 2 tokens.
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_enable-regions.html
OPT_IN_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
    }
)

#: SigV4 query-string signing (presigned URLs): X-Amz-Expires is at most 604800 s (7 days).
PRESIGN_MAX_SECONDS = 7 * 24 * 3600
