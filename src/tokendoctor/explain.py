"""``tokendoctor explain``: read an AWS error message, stack trace or log excerpt and say what it means.

Pure: text in, :class:`Explanation` out.  No I/O, no clock, no network.  The
first step masks secrets (access key ids, secret keys, session tokens, signed
URL tokens, the ``<Token-0>`` S3 echoes back), and everything after it only
ever sees the masked text, so no output can carry a secret that was pasted in.

The formats recognised come from real messages (see docs/explain.md for the
list and their sources):

* botocore / the AWS CLI: ``An error occurred (CODE) when calling the OP operation: MSG``
* Java v1: ``...AmazonS3Exception: MSG (Service: Amazon S3; Status Code: 400; Error Code: CODE; Request ID: ID)``
* Java v2: ``...sts.model.StsException: MSG (Service: Sts, Status Code: 403, Request ID: ID)``
* Go v2: ``operation error S3: GetObject, https response error StatusCode: 400, RequestID: ID, HostID: H, api error CODE: MSG``
* Go v1: ``CODE: MSG\\n\\tstatus code: 403, request id: ID``
* JavaScript v3: ``CODE: MSG`` followed by ``$metadata: { httpStatusCode: 403, requestId: 'ID' ... }``
* JavaScript v2: ``CODE: MSG at Request.extractError (.../aws-sdk/lib/...)`` or ``{"code": "CODE", "statusCode": 400}``
* S3's XML error body (``<Code>``, ``<RequestTime>``, ``<ServerTime>``, ``<RequestId>``)
* the signature time messages: ``Signature expired: T1 is now earlier than T2 (T3 - 5 min.)`` and
  ``Signature not yet current: T1 is still later than T2 (T3 + 5 min.)``
* credential-provider failures of each SDK (botocore ``NoCredentialsError``, Java "Unable to load
  (AWS) credentials from any (of the) provider(s) in the chain", Go "failed to refresh cached
  credentials", JS ``CredentialsProviderError``, SSO "Token has expired and refresh failed", ...).

Sign convention (as everywhere in tokendoctor): ``skew_seconds`` is the signer's clock minus AWS's
clock, so positive means the machine that signed the request was **ahead**.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from tokendoctor import catalogue
from tokendoctor.exitcodes import FailOn, exit_code
from tokendoctor.models import RankedCause
from tokendoctor.redact import Redactor, mask_key
from tokendoctor.timefmt import iso, parse_time, sigv4_time_message

Category = Literal["expired", "invalid", "clock", "no-credentials", "sso", "other"]
ExplainStatus = Literal["error", "warning", "unrecognised"]

MAX_INPUT_CHARS = 1024 * 1024
"""Only the first MiB of a pasted log is read."""

# --------------------------------------------------------------------------- data


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
    skew_direction: Literal["ahead", "behind"] | None
    max_skew_seconds: int | None
    expires_at: str | None
    """For an expired presigned URL: when it stopped being valid."""
    clues: tuple[str, ...]
    """Context words found (``instance-metadata``, ``assume-role``, ``sso``, ...) that steer the ranking."""

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
        }


@dataclass(frozen=True, kw_only=True)
class Explanation:
    error: ErrorFacts
    causes: tuple[RankedCause, ...]
    confirm: tuple[str, ...]
    status: ExplainStatus
    exit_code: int

    @property
    def recognised(self) -> bool:
        return self.error.family is not None


# --------------------------------------------------------------------------- masking

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


# --------------------------------------------------------------------------- families

# error code -> (family, category).  Families are AWS's own error codes where one exists.
_FAMILIES: dict[str, tuple[str, Category]] = {
    "ExpiredToken": ("ExpiredToken", "expired"),
    "ExpiredTokenException": ("ExpiredTokenException", "expired"),
    "TokenRefreshRequired": ("TokenRefreshRequired", "expired"),
    "RequestExpired": ("RequestExpired", "expired"),
    "InvalidClientTokenId": ("InvalidClientTokenId", "invalid"),
    "UnrecognizedClientException": ("UnrecognizedClientException", "invalid"),
    "InvalidToken": ("InvalidToken", "invalid"),
    "InvalidAccessKeyId": ("InvalidAccessKeyId", "invalid"),
    "AuthFailure": ("AuthFailure", "invalid"),
    "SignatureDoesNotMatch": ("SignatureDoesNotMatch", "invalid"),
    "InvalidSignatureException": ("InvalidSignatureException", "invalid"),
    "IncompleteSignature": ("IncompleteSignature", "invalid"),
    "RequestTimeTooSkewed": ("RequestTimeTooSkewed", "clock"),
    "RequestInTheFuture": ("RequestInTheFuture", "clock"),
    "InvalidIdentityToken": ("InvalidIdentityToken", "sso"),
    "IDPCommunicationError": ("InvalidIdentityToken", "sso"),
    "UnauthorizedException": ("UnauthorizedSSOToken", "sso"),
}
_CODE_ALT = "|".join(sorted(_FAMILIES, key=len, reverse=True))

# Messages that identify the family when no code is printed (Java v2, SSO, provider chains).
# Order matters: first match wins.
_MESSAGE_FAMILIES: tuple[tuple[re.Pattern[str], str, Category], ...] = tuple(
    (re.compile(p, re.I), fam, cat)
    for p, fam, cat in (
        (r"Signature expired: \d{8}T\d{6}Z is now earlier than", "SignatureExpired", "clock"),
        (r"Signature not yet current: \d{8}T\d{6}Z is still later than", "SignatureNotYetCurrent", "clock"),
        (r"difference between the request time and the (?:current|server'?s) time is too large", "RequestTimeTooSkewed", "clock"),
        (r"Token has expired and refresh failed", "SSOTokenExpired", "sso"),
        (r"SSO session associated with this profile (?:has expired|is invalid)|UnauthorizedSSOTokenError", "SSOTokenExpired", "sso"),
        (r"Error loading SSO Token|SSOTokenLoadError|The SSO session .*? has expired", "SSOTokenExpired", "sso"),
        (r"Credentials were refreshed, but the refreshed credentials are still expired", "RefreshedCredentialsExpired", "expired"),
        (r"Cannot refresh credentials: MFA token required", "MFARequired", "expired"),
        (r"The security token included in the request is expired|The provided token has expired", "ExpiredToken", "expired"),
        (r"\bRequest has expired\b", "RequestExpired", "expired"),
        (r"The security token included in the request is invalid|The provided token is malformed", "InvalidClientTokenId", "invalid"),
        (r"AWS Access Key Id you provided does not exist", "InvalidAccessKeyId", "invalid"),
        (r"AWS was not able to validate the provided access credentials", "AuthFailure", "invalid"),
        (r"request signature we calculated does not match the signature you provided", "SignatureDoesNotMatch", "invalid"),
        (r"Partial credentials found in|PartialCredentialsError", "PartialCredentials", "no-credentials"),
        (r"The config profile \([^)]*\) could not be found|ProfileNotFound", "ProfileNotFound", "no-credentials"),
        (r"Unable to locate credentials|NoCredentialsError", "NoCredentials", "no-credentials"),
        (r"Unable to load (?:AWS )?credentials from any (?:of the )?providers? in the chain", "NoCredentials", "no-credentials"),
        (r"failed to refresh cached credentials|NoCredentialProviders|no valid providers in chain", "NoCredentials", "no-credentials"),
        (r"Could not load credentials from any providers|CredentialsProviderError", "NoCredentials", "no-credentials"),
        (r"Missing credentials in config|CredentialsError: Missing credentials", "NoCredentials", "no-credentials"),
        (r"Error when retrieving credentials from", "CredentialRetrievalError", "no-credentials"),
    )
)

# Clues in the text that point at where the credentials came from.
_CLUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(p[5:] if p.startswith("(?-i)") else p, 0 if p.startswith("(?-i)") else re.I))
    for name, p in (
        ("instance-metadata", r"InstanceProfileCredentials|InstanceMetadata|ec2[ _-]?metadata|\bimds\b|ec2imds|"
         r"EC2RoleProvider|EC2CredentialsFetcher|169\.254\.169\.254|fromInstanceMetadata|iam/security-credentials"),
        ("container", r"ContainerCredentials|169\.254\.170\.2|AWS_CONTAINER_CREDENTIALS|fromContainerMetadata|"
         r"EC2ContainerCredentialsProviderWrapper|ECSCredentials|EcsContainer|pod identity"),
        ("web-identity", r"WebIdentity|AWS_WEB_IDENTITY_TOKEN_FILE|fromTokenFile|AssumeRoleWithWebIdentity|IRSA"),
        ("sso", r"\bsso\b|SSOCredentials|SsoCredentials|fromSSO|sso_session|sso_start_url|IAM Identity Center|oidc\.[a-z0-9-]+\.amazonaws"),
        ("assume-role", r"assume-role|AssumeRole(?!WithWebIdentity)|STSAssumeRoleSession|StsAssumeRole|AssumeRoleProvider|"
         r"fromTemporaryCredentials|role_arn|source_profile|role chaining"),
        ("environment", r"EnvironmentVariableCredentials|EnvProvider|fromEnv\b|AWS_SESSION_TOKEN|AWS_SECURITY_TOKEN|"
         r"environment variables?"),
        ("profile-file", r"(?-i)\bProfileCredentialsProvider|SharedCredentials|aws_session_token|~/\.aws/credentials|fromIni"),
        ("metadata-disabled", r"AWS_EC2_METADATA_DISABLED"),
        ("mfa", r"mfa_serial|MFA token"),
        ("unreachable", r"Failed to connect to service endpoint|Unable to connect to|connection refused|No route to host|"
         r"request send failed|connect: network is unreachable"),
        ("timeout", r"context deadline exceeded|timed? ?out|TimeoutError|connect timeout|request canceled"),
        ("not-found-404", r"StatusCode: 404|status code: 404|\b404 Not Found"),
    )
)


# --------------------------------------------------------------------------- parsing helpers


def _first(patterns: Iterable[re.Pattern[str]], text: str, group: str | int = 1) -> str | None:
    for pattern in patterns:
        match = pattern.search(text)
        if match and match.group(group):
            return match.group(group).strip()
    return None


_SDK_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (sdk, re.compile(p, re.M))
    for sdk, p in (
        ("java-v2", r"software\.amazon\.awssdk\.|\(Service: [^,;()]+, Status Code: \d{3}, Request ID"),
        ("java-v1", r"com\.amazonaws\.|\(Service: [^;()]+; Status Code: \d{3}; Error Code"),
        ("go-v2", r"operation error [^:,]+: \w+|aws-sdk-go-v2|failed to refresh cached credentials|get identity: get credentials"),
        ("go-v1", r"^\s*status code: \d{3}, request id|aws-sdk-go/|NoCredentialProviders: no valid providers"),
        ("js-v3", r"\$metadata|@aws-sdk/|@smithy/|CredentialsProviderError|throwDefaultError|de_\w+CommandError"),
        ("js-v2", r"aws-sdk/lib/|Request\.extractError|\"retryable\"\s*:|retryable: (?:true|false)"),
        ("python", r"botocore|boto3|Traceback \(most recent call last\)|ClientError: An error occurred"),
        ("cli", r"^\s*(?:\$\s+)?aws\s+[a-z0-9-]+\s+[a-z0-9-]+|^aws: \[?ERROR\]?|^\s*An error occurred \(\w+\) when calling the \w+ operation"),
        ("php", r"Aws\\[A-Za-z0-9]+\\Exception|Error executing \"\w+\" on \""),
        ("dotnet", r"Amazon\.Runtime\.|Amazon\.[A-Za-z0-9]+\.Model\.|AmazonServiceException"),
    )
)

_BOTO_OP = re.compile(r"An error occurred \((?P<code>[\w.]+)\) when calling the (?P<op>\w+) operation(?: \(reached max retries: \d+\))?: ?(?P<msg>[^\n]*)")
_JAVA1 = re.compile(r"\(Service: (?P<svc>[^;()]+); Status Code: (?P<status>\d{3}); Error Code: (?P<code>[\w.]+); Request ID: (?P<rid>[^;()\s]+)")
_JAVA2 = re.compile(r"\(Service: (?P<svc>[^,;()]+), Status Code: (?P<status>\d{3}), Request ID: (?P<rid>[^,;()\s]+)")
_JAVA_EXC = re.compile(r"(?:com\.amazonaws|software\.amazon\.awssdk)\.services\.(?P<svc>\w+)\.model\.(?P<cls>\w+)")
_JAVA_PKG = re.compile(r"(?:com\.amazonaws|software\.amazon\.awssdk)\.services\.(?P<svc>\w+)\.")
_GO2 = re.compile(r"operation error (?P<svc>[^:,\n]+): (?P<op>\w+)")
_GO2_API = re.compile(r"api error (?P<code>[\w.]+): (?P<msg>[^\n]*)")
_XML = {
    tag: re.compile(rf"<{tag}>\s*([^<]*?)\s*</{tag}>")
    for tag in ("Code", "Message", "RequestId", "RequestTime", "ServerTime", "MaxAllowedSkewMilliseconds", "Expires")
}
_CODE_AT_LINE = re.compile(rf"(?:^|[\s:\]'\"(])(?:[\w.]+\.)?(?P<code>{_CODE_ALT})(?::| \(client\))\s+(?P<msg>[^\n]*)", re.M)
_CODE_FIELD = re.compile(rf"""(?i)\b(?:code|Code|name|__type|x-amzn-ErrorType)['"]?\s*[:=]\s*['"]?(?:[\w.:/#]*[#.])?(?P<code>{_CODE_ALT})\b""")
_CODE_ANYWHERE = re.compile(rf"\b(?P<code>{_CODE_ALT})\b")

_REQUEST_ID = tuple(
    re.compile(p)
    for p in (
        r"Request ID: ([A-Za-z0-9-]{6,})",
        r"RequestID: ([A-Za-z0-9-]{6,})",
        r"request id: ([A-Za-z0-9-]{6,})",
        r"""\brequestId['"]?\s*[:=]\s*['"]([A-Za-z0-9-]{6,})['"]""",
        r"<RequestId>\s*([A-Za-z0-9-]{6,})\s*</RequestId>",
        r"""['"]RequestId['"]\s*:\s*['"]([A-Za-z0-9-]{6,})['"]""",
        r"""(?i:x-amzn?-request-?id)['"]?\s*[:=,]\s*(?:<<)?['"]?([A-Za-z0-9-]{6,})""",
        r"""\bRequestId['"]?\s*[:=]\s*['"]?(?!undefined|null)([A-Za-z0-9-]{6,})""",
    )
)
_HTTP_STATUS = tuple(
    re.compile(p, re.I)
    for p in (
        r"Status Code: (\d{3})",
        r"StatusCode: (\d{3})",
        r"status code: (\d{3})",
        r"httpStatusCode['\"]?\s*:\s*(\d{3})",
        r"""['"]?statusCode['"]?\s*:\s*(\d{3})""",
        r"HTTPStatusCode['\"]?\s*:\s*(\d{3})",
        r"HTTP/\d(?:\.\d)? (\d{3})",
        r"Client error: `?(?:\d{3})?`?\s*(?:resulted in a `)?(\d{3})",
    )
)
_JS3_CLIENT = re.compile(r"@aws-sdk/client-([a-z0-9-]+)")
_JS_OP = re.compile(r"\b(?:de_|deserializeAws_\w+?)(?P<op>[A-Z]\w+?)Command(?:Error)?\b|\b(?P<op2>[A-Z]\w+?)Command\b")
_JAVA_OP = re.compile(r"(?P<cls>Amazon\w*Client|AWS\w*Client|Default\w+Client|\w+AsyncClient)\.(?P<op>[a-z]\w*)\(")
_JAVA_SKIP = {"invoke", "doInvoke", "execute", "beforeClientExecution", "doExecute", "lambda", "init", "access"}
_CLI_CMD = re.compile(r"(?m)^\s*(?:\$\s+|#\s+|>\s+)?aws\s+(?:--[\w-]+(?:[ =][^\s-][^\s]*)?\s+)*(?P<svc>[a-z][a-z0-9-]+)\s+(?P<op>[a-z][a-z0-9-]+)")
_PHP_OP = re.compile(r'Error executing "(?P<op>\w+)" on "(?P<url>[^"]+)"')
_HOST = re.compile(r"\b([a-z0-9][a-z0-9.-]*)\.amazonaws\.com(?:\.cn)?\b", re.I)
_REGION = re.compile(r"^[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d$")

_SERVICE_ALIASES = {
    "securitytokenservice": "sts",
    "awssecuritytokenservice": "sts",
    "simplestorageservice": "s3",
    "s3api": "s3",
    "s3control": "s3control",
    "dynamodbv2": "dynamodb",
    "simplequeueservice": "sqs",
    "sqs": "sqs",
    "simplenotificationservice": "sns",
    "elasticloadbalancingv2": "elbv2",
    "elasticloadbalancing": "elb",
    "simplesystemsmanagement": "ssm",
    "cloudwatchlogs": "logs",
    "elasticcomputecloud": "ec2",
    "keymanagementservice": "kms",
    "identityandaccessmanagement": "iam",
    "elasticcontainerregistry": "ecr",
}


def _service_id(raw: str | None) -> str | None:
    if not raw:
        return None
    name = re.sub(r"^(?:Amazon|AWS)\s*", "", raw.strip(), flags=re.I)
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    if not key:
        return None
    return _SERVICE_ALIASES.get(key, key)


def _service_from_host(text: str) -> str | None:
    for match in _HOST.finditer(text):
        labels = [x for x in match[1].lower().split(".") if x and not _REGION.match(x) and x not in ("dualstack", "fips")]
        if not labels:
            continue
        label = labels[-1]
        if label.startswith("s3-") or label == "s3":
            return "s3"
        return label
    return None


def _pascal(kebab_or_camel: str) -> str:
    if "-" in kebab_or_camel:
        return "".join(part.capitalize() for part in kebab_or_camel.split("-"))
    return kebab_or_camel[:1].upper() + kebab_or_camel[1:]


def _java_operation(text: str) -> str | None:
    for match in _JAVA_OP.finditer(text):
        op = match["op"]
        if "Http" in match["cls"] or op in _JAVA_SKIP or op.startswith(("lambda$", "access$")):
            continue
        if op.startswith("execute") and len(op) > 7 and op[7].isupper():
            op = op[7:]
        return _pascal(op)
    return None


@dataclass
class _Times:
    request: _dt.datetime | None = None
    server: _dt.datetime | None = None
    max_skew: int | None = None
    expires: _dt.datetime | None = None


def _times(text: str) -> _Times:
    out = _Times()
    signed = sigv4_time_message(text)
    if signed:
        out.request, out.server, out.max_skew = signed
        return out
    req = _XML["RequestTime"].search(text)
    srv = _XML["ServerTime"].search(text)
    if srv:
        out.server = parse_time(srv[1])
    if req:
        out.request = parse_time(req[1])
    max_ms = _XML["MaxAllowedSkewMilliseconds"].search(text)
    if max_ms and max_ms[1].isdigit():
        out.max_skew = int(max_ms[1]) // 1000
    expires = _XML["Expires"].search(text)
    if expires:
        out.expires = parse_time(expires[1])
    return out


def _clip(message: str | None, limit: int = 300) -> str | None:
    if not message:
        return None
    message = message.strip().strip("'\"").strip()
    return (message[: limit - 1] + "…") if len(message) > limit else (message or None)


def _message_before(text: str, match: re.Match[str]) -> str:
    """The message in front of Java's ``(Service: ...)``: after the exception class, on the same line.
    (Found by looking back from the anchor: a leading lazy group would be quadratic on long lines.)"""
    line = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
    return line.rsplit(": ", 1)[-1].strip()


def parse(text: str) -> ErrorFacts:
    """Read the facts out of an (already masked) error text."""
    sdk = next((name for name, rule in _SDK_RULES if rule.search(text)), None)
    code = operation = service = message = None
    request_id = http_status = None

    boto = _BOTO_OP.search(text)
    java1 = _JAVA1.search(text)
    java2 = _JAVA2.search(text) if not java1 else None
    go_api = _GO2_API.search(text)
    if boto:
        code, operation, message = boto["code"], boto["op"], boto["msg"]
        if sdk not in ("python", "cli"):
            sdk = "python" if re.search(r"botocore|boto3|Traceback", text) else "cli"
    elif java1:
        code, message, service = java1["code"], _message_before(text, java1), _service_id(java1["svc"])
        request_id, http_status = java1["rid"], int(java1["status"])
    elif java2:
        message, service = _message_before(text, java2), _service_id(java2["svc"])
        request_id, http_status = java2["rid"], int(java2["status"])
    if go_api and not code:
        code, message = go_api["code"], go_api["msg"]
    xml_code = _XML["Code"].search(text)
    if not code and xml_code:
        code = xml_code[1]
        xml_message = _XML["Message"].search(text)
        message = xml_message[1] if xml_message else message
    if not code:
        line = _CODE_AT_LINE.search(text)
        if line:
            code, message = line["code"], message or line["msg"]
    if not code:
        field = _CODE_FIELD.search(text)
        if field:
            code = field["code"]
    exc = _JAVA_EXC.search(text)
    if exc:
        service = service or _service_id(exc["svc"])
        cls = exc["cls"]
        if not code and cls in _FAMILIES:
            code = cls
    if not service and sdk in ("java-v1", "java-v2"):
        pkg = _JAVA_PKG.search(text)
        service = _service_id(pkg["svc"]) if pkg else None
    if not code:
        anywhere = _CODE_ANYWHERE.search(text)
        if anywhere:
            code = anywhere["code"]

    # family: the code when it is one we know, else the first message pattern that matches.
    family: str | None = None
    category: Category | None = None
    if code in _FAMILIES:
        family, category = _FAMILIES[code]
    by_message = next(((fam, cat) for pattern, fam, cat in _MESSAGE_FAMILIES if pattern.search(text)), None)
    if by_message and family is None:
        family, category = by_message
    elif by_message and by_message[1] == "clock":
        # a time message ("Signature expired: ...") makes SignatureDoesNotMatch, InvalidSignatureException
        # or RequestExpired a clock error; the family stays AWS's code
        category = "clock"
    if code == "AccessDenied" and re.search(r"Request has expired", text):
        family, category = "PresignedUrlExpired", "expired"

    go = _GO2.search(text)
    if go:
        service = service or _service_id(go["svc"])
        operation = operation or go["op"]
    php = _PHP_OP.search(text)
    if php:
        operation = operation or php["op"]
    if not operation and sdk in ("java-v1", "java-v2"):
        operation = _java_operation(text)
    if not operation and sdk in ("js-v3", "js-v2"):
        js = _JS_OP.search(text)
        if js:
            operation = js["op"] or js["op2"]
    cli = _CLI_CMD.search(text)
    if cli:
        service = service or _service_id(cli["svc"])
        if not operation and cli["svc"] not in ("s3",):  # `aws s3 cp` is a high-level command, not an API operation
            operation = _pascal(cli["op"])
    if not service:
        js_client = _JS3_CLIENT.search(text)
        service = _service_id(js_client[1]) if js_client else None
    service = service or _service_from_host(text)

    request_id = request_id or _first(_REQUEST_ID, text)
    if http_status is None:
        status = _first(_HTTP_STATUS, text)
        http_status = int(status) if status else None
    key = _ACCESS_KEY_MASKED.search(text)

    times = _times(text)
    skew = None
    direction: Literal["ahead", "behind"] | None = None
    if times.request and times.server:
        skew = int((times.request - times.server).total_seconds())
        direction = "ahead" if skew > 0 else "behind" if skew < 0 else None
    if family is None and skew is not None and times.max_skew:
        family, category = "RequestTimeTooSkewed", "clock"

    clues = tuple(name for name, rule in _CLUES if rule.search(text))
    if key and key[0].startswith("ASIA"):
        clues += ("temporary-key",)
    elif key and key[0].startswith("AKIA"):
        clues += ("long-term-key",)

    return ErrorFacts(
        family=family,
        category=category,
        code=code,
        message=_clip(message),
        service=service,
        operation=operation,
        sdk=sdk,
        request_id=request_id,
        http_status=http_status,
        access_key_id=key[0] if key else None,
        request_time=iso(times.request),
        server_time=iso(times.server),
        skew_seconds=skew,
        skew_direction=direction,
        max_skew_seconds=times.max_skew,
        expires_at=iso(times.expires),
        clues=clues,
    )


_ACCESS_KEY_MASKED = re.compile(r"\b(?:AKIA|ASIA)…[A-Z0-9]{4}\b")

# --------------------------------------------------------------------------- ranking

# Base likelihood of each cause per category; clues add to it.  Higher = more likely.
_BASE: dict[Category, dict[str, int]] = {
    "expired": {"TD202": 100, "TD101": 80, "TD504": 75, "TD204": 60, "TD401": 40, "TD304": 30, "TD505": 20},
    "invalid": {"TD104": 90, "TD208": 60, "TD102": 55, "TD202": 50, "TD502": 45, "TD401": 20},
    "clock": {"TD503": 100, "TD401": 90, "TD402": 80},
    "no-credentials": {"TD201": 100, "TD105": 30, "TD108": 25, "TD302": 20, "TD303": 20},
    "sso": {"TD206": 100},
    "other": {},
}
_CLUE_BOOST: dict[str, dict[str, int]] = {
    "instance-metadata": {"TD304": 120, "TD301": 60, "TD302": 50, "TD303": 40, "TD401": 30},
    "container": {"TD306": 120},
    "web-identity": {"TD207": 130},
    "sso": {"TD206": 130},
    "assume-role": {"TD505": 70, "TD209": 20},
    "environment": {"TD101": 40, "TD504": 40, "TD104": 20},
    "profile-file": {"TD204": 50, "TD208": 20},
    "metadata-disabled": {"TD305": 140},
    "mfa": {"TD209": 130},
    "temporary-key": {"TD101": 10, "TD504": 10},
}
# Credential-provider failures: chain messages name every provider they tried, so the provider
# names are no clue there; what failed and how is.
_NO_CREDS_CLUES: dict[str, dict[str, int]] = {
    "instance-metadata": {"TD302": 10, "TD303": 10},
    "metadata-disabled": {"TD305": 140},
    "not-found-404": {"TD303": 90},
    "timeout": {"TD301": 100, "TD302": 60},
    "unreachable": {"TD302": 60},
}
_FAMILY_BOOST: dict[str, dict[str, int]] = {
    "PartialCredentials": {"TD104": 200},
    "ProfileNotFound": {"TD105": 200},
    "RefreshedCredentialsExpired": {"TD304": 130, "TD306": 60, "TD401": 90},
    "MFARequired": {"TD209": 200},
    "RequestExpired": {"TD401": 30},
    "PresignedUrlExpired": {"TD401": 30},
    "SignatureDoesNotMatch": {"TD401": 20},
    "InvalidSignatureException": {"TD401": 20},
    "AuthFailure": {"TD401": 20},
    "InvalidIdentityToken": {"TD207": 150},
}


def _evidence(facts: ErrorFacts, code: str) -> dict[str, Any]:
    ev: dict[str, Any] = {"error": facts.code or facts.family}
    if facts.request_id:
        ev["request_id"] = facts.request_id
    if code in ("TD503", "TD401") and facts.skew_seconds is not None:
        ev["skew_seconds"] = facts.skew_seconds
        ev["request_time"] = facts.request_time
        ev["server_time"] = facts.server_time
    table = _NO_CREDS_CLUES if facts.category == "no-credentials" else _CLUE_BOOST
    clues = [c for c in facts.clues if code in table.get(c, {})]
    if clues:
        ev["clues"] = clues
    if facts.access_key_id and code in ("TD101", "TD504", "TD204", "TD104", "TD202"):
        ev["access_key_id"] = facts.access_key_id
    return ev


# The catalogue's titles describe what `check` measured on this machine; explain reads a message
# that may come from another machine, so a few titles are worded for that.
_TITLES = {
    "TD401": "The clock of the machine that signed the request is (or was) off",
    "TD503": "AWS rejected the request because of the signing machine's clock",
}


def _title(code: str) -> str:
    return _TITLES.get(code) or catalogue.get(code).title.replace(" (checked live)", "")


def rank(facts: ErrorFacts) -> list[RankedCause]:
    if facts.category is None:
        return []
    scores: dict[str, int] = dict(_BASE[facts.category])
    table = _NO_CREDS_CLUES if facts.category == "no-credentials" else _CLUE_BOOST
    boosts = [table.get(c, {}) for c in facts.clues]
    if facts.category != "clock":
        boosts.append(_FAMILY_BOOST.get(facts.family or "", {}))
    if facts.category != "clock" and facts.skew_seconds is not None:
        boosts.append({"TD503": 100, "TD401": 90, "TD402": 80})
    if "long-term-key" in facts.clues:  # AKIA keys carry no session: they cannot be the exported session
        boosts.append({"TD101": -100, "TD504": -100, "TD204": -100})
    for boost in boosts:
        for code, value in boost.items():
            scores[code] = scores.get(code, 0) + value
    ordered = sorted((c for c, s in scores.items() if s > 0), key=lambda c: (-scores[c], catalogue.get(c).priority, c))
    causes = []
    for code in ordered[:6]:
        entry = catalogue.get(code)
        causes.append(
            RankedCause(
                code=code,
                name=entry.name,
                severity=entry.severity,
                title=_title(code),
                why=entry.why,
                evidence=_evidence(facts, code),
                fix=entry.fix,
            )
        )
    return causes


# SDK names as `tokendoctor check --sdk` knows them.
_CHECK_SDK = {"python": "python", "cli": "cli-v2", "java-v1": "java-v1", "java-v2": "java-v2", "go-v2": "go-v2", "js-v3": "js-v3"}


def confirm_commands(facts: ErrorFacts) -> list[str]:
    """The ``tokendoctor check`` command(s) that confirm the explanation on the failing machine."""
    if facts.category is None:
        return []
    sdk = _CHECK_SDK.get(facts.sdk or "")
    flags: list[str] = []
    if facts.category in ("expired", "invalid", "clock"):
        flags.append("--live")
    if "instance-metadata" in facts.clues:
        flags.append("--imds")
    if facts.category == "clock":
        flags.append("--ntp-server time.aws.com")
    if sdk:
        flags.append(f"--sdk {sdk}")
    commands = [" ".join(["tokendoctor check", *flags])]
    if facts.category in ("expired", "invalid", "no-credentials"):
        commands.append(" ".join(["tokendoctor check --pid PID", *([f"--sdk {sdk}"] if sdk else [])]))
    return commands


def explain(text: str, *, fail_on: FailOn = "error") -> Explanation:
    """Explain one pasted error text.  Masks secrets first; never raises on odd input."""
    facts = parse(scrub(text[:MAX_INPUT_CHARS]))
    causes = rank(facts)
    severities = {c.severity for c in causes}
    status: ExplainStatus = "error" if "error" in severities else "warning" if severities else "unrecognised"
    return Explanation(
        error=facts,
        causes=tuple(causes),
        confirm=tuple(confirm_commands(facts)),
        status=status,
        exit_code=exit_code(causes, [], fail_on),
    )


__all__ = ["ErrorFacts", "Explanation", "MAX_INPUT_CHARS", "confirm_commands", "explain", "parse", "rank", "scrub"]
