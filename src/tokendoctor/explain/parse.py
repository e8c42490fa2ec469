"""Read the facts (family, code, service, operation, SDK, request id, times, clues) out of masked error text."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from tokendoctor.explain.model import Category, ErrorFacts
from tokendoctor.timefmt import iso, parse_time, sigv4_time_message

# The shapes recognised come from real messages (docs/explain.md lists them with their sources):
#
# * botocore / the AWS CLI: ``An error occurred (CODE) when calling the OP operation: MSG``
# * Java v1: ``...AmazonS3Exception: MSG (Service: Amazon S3; Status Code: 400; Error Code: CODE; Request ID: ID)``
# * Java v2: ``...sts.model.StsException: MSG (Service: Sts, Status Code: 403, Request ID: ID)``
# * Go v2: ``operation error S3: GetObject, https response error StatusCode: 400, RequestID: ID, HostID: H,
#   api error CODE: MSG``
# * Go v1: ``CODE: MSG\n\tstatus code: 403, request id: ID``
# * JavaScript v3: ``CODE: MSG`` followed by ``$metadata: { httpStatusCode: 403, requestId: 'ID' ... }``
# * JavaScript v2: ``CODE: MSG at Request.extractError (.../aws-sdk/lib/...)``
#   or ``{"code": "CODE", "statusCode": 400}``
# * S3's XML error body (``<Code>``, ``<RequestTime>``, ``<ServerTime>``, ``<RequestId>``)
# * the signature time messages: ``Signature expired: T1 is now earlier than T2 (T3 - 5 min.)`` and
#   ``Signature not yet current: T1 is still later than T2 (T3 + 5 min.)``
# * credential-provider failures of each SDK (botocore ``NoCredentialsError``, Java "Unable to load
#   (AWS) credentials from any (of the) provider(s) in the chain", Go "failed to refresh cached
#   credentials", JS ``CredentialsProviderError``, SSO "Token has expired and refresh failed", ...).


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
_MESSAGE_FAMILY_PATTERNS: tuple[tuple[str, str, Category], ...] = (
    (r"Signature expired: \d{8}T\d{6}Z is now earlier than", "SignatureExpired", "clock"),
    (r"Signature not yet current: \d{8}T\d{6}Z is still later than", "SignatureNotYetCurrent", "clock"),
    (
        r"difference between the request time and the (?:current|server'?s) time is too large",
        "RequestTimeTooSkewed",
        "clock",
    ),
    (r"Token has expired and refresh failed", "SSOTokenExpired", "sso"),
    (
        r"SSO session associated with this profile (?:has expired|is invalid)|UnauthorizedSSOTokenError",
        "SSOTokenExpired",
        "sso",
    ),
    (r"Error loading SSO Token|SSOTokenLoadError|The SSO session .*? has expired", "SSOTokenExpired", "sso"),
    (
        r"Credentials were refreshed, but the refreshed credentials are still expired",
        "RefreshedCredentialsExpired",
        "expired",
    ),
    (r"Cannot refresh credentials: MFA token required", "MFARequired", "expired"),
    (
        r"The security token included in the request is expired|The provided token has expired",
        "ExpiredToken",
        "expired",
    ),
    (r"\bRequest has expired\b", "RequestExpired", "expired"),
    (
        r"The security token included in the request is invalid|The provided token is malformed",
        "InvalidClientTokenId",
        "invalid",
    ),
    (r"AWS Access Key Id you provided does not exist", "InvalidAccessKeyId", "invalid"),
    (r"AWS was not able to validate the provided access credentials", "AuthFailure", "invalid"),
    (r"request signature we calculated does not match the signature you provided", "SignatureDoesNotMatch", "invalid"),
    (r"Partial credentials found in|PartialCredentialsError", "PartialCredentials", "no-credentials"),
    (r"The config profile \([^)]*\) could not be found|ProfileNotFound", "ProfileNotFound", "no-credentials"),
    (r"Unable to locate credentials|NoCredentialsError", "NoCredentials", "no-credentials"),
    (
        r"Unable to load (?:AWS )?credentials from any (?:of the )?providers? in the chain",
        "NoCredentials",
        "no-credentials",
    ),
    (
        r"failed to refresh cached credentials|NoCredentialProviders|no valid providers in chain",
        "NoCredentials",
        "no-credentials",
    ),
    (r"Could not load credentials from any providers|CredentialsProviderError", "NoCredentials", "no-credentials"),
    (r"Missing credentials in config|CredentialsError: Missing credentials", "NoCredentials", "no-credentials"),
    (r"Error when retrieving credentials from", "CredentialRetrievalError", "no-credentials"),
)
_MESSAGE_FAMILIES: tuple[tuple[re.Pattern[str], str, Category], ...] = tuple(
    (re.compile(p, re.IGNORECASE), fam, cat) for p, fam, cat in _MESSAGE_FAMILY_PATTERNS
)

# Clues in the text that point at where the credentials came from.
_CLUES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(p.removeprefix("(?-i)"), 0 if p.startswith("(?-i)") else re.IGNORECASE))
    for name, p in (
        (
            "instance-metadata",
            (
                r"InstanceProfileCredentials|InstanceMetadata|ec2[ _-]?metadata|\bimds\b|ec2imds|"
                r"EC2RoleProvider|EC2CredentialsFetcher|169\.254\.169\.254|fromInstanceMetadata|iam/security-credentials"
            ),
        ),
        (
            "container",
            (
                r"ContainerCredentials|169\.254\.170\.2|AWS_CONTAINER_CREDENTIALS|fromContainerMetadata|"
                r"EC2ContainerCredentialsProviderWrapper|ECSCredentials|EcsContainer|pod identity"
            ),
        ),
        ("web-identity", r"WebIdentity|AWS_WEB_IDENTITY_TOKEN_FILE|fromTokenFile|AssumeRoleWithWebIdentity|IRSA"),
        (
            "sso",
            r"\bsso\b|SSOCredentials|SsoCredentials|fromSSO|sso_session|sso_start_url|IAM Identity "
            r"Center|oidc\.[a-z0-9-]+\.amazonaws",
        ),
        (
            "assume-role",
            (
                r"assume-role|AssumeRole(?!WithWebIdentity)|STSAssumeRoleSession|StsAssumeRole|AssumeRoleProvider|"
                r"fromTemporaryCredentials|role_arn|source_profile|role chaining"
            ),
        ),
        (
            "environment",
            (
                r"EnvironmentVariableCredentials|EnvProvider|fromEnv\b|AWS_SESSION_TOKEN|AWS_SECURITY_TOKEN|"
                r"environment variables?"
            ),
        ),
        (
            "profile-file",
            r"(?-i)\bProfileCredentialsProvider|SharedCredentials|aws_session_token|~/\.aws/credentials|fromIni",
        ),
        ("metadata-disabled", r"AWS_EC2_METADATA_DISABLED"),
        ("mfa", r"mfa_serial|MFA token"),
        (
            "unreachable",
            (
                r"Failed to connect to service endpoint|Unable to connect to|connection refused|No route to host|"
                r"request send failed|connect: network is unreachable"
            ),
        ),
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
    (sdk, re.compile(p, re.MULTILINE))
    for sdk, p in (
        ("java-v2", r"software\.amazon\.awssdk\.|\(Service: [^,;()]+, Status Code: \d{3}, Request ID"),
        ("java-v1", r"com\.amazonaws\.|\(Service: [^;()]+; Status Code: \d{3}; Error Code"),
        (
            "go-v2",
            r"operation error [^:,]+: \w+|aws-sdk-go-v2|failed to refresh cached credentials|get identity: get "
            r"credentials",
        ),
        ("go-v1", r"^\s*status code: \d{3}, request id|aws-sdk-go/|NoCredentialProviders: no valid providers"),
        ("js-v3", r"\$metadata|@aws-sdk/|@smithy/|CredentialsProviderError|throwDefaultError|de_\w+CommandError"),
        ("js-v2", r"aws-sdk/lib/|Request\.extractError|\"retryable\"\s*:|retryable: (?:true|false)"),
        ("python", r"botocore|boto3|Traceback \(most recent call last\)|ClientError: An error occurred"),
        (
            "cli",
            r"^\s*(?:\$\s+)?aws\s+[a-z0-9-]+\s+[a-z0-9-]+|^aws: \[?ERROR\]?|^\s*An error occurred \(\w+\) when "
            r"calling the \w+ operation",
        ),
        ("php", r"Aws\\[A-Za-z0-9]+\\Exception|Error executing \"\w+\" on \""),
        ("dotnet", r"Amazon\.Runtime\.|Amazon\.[A-Za-z0-9]+\.Model\.|AmazonServiceException"),
    )
)

_BOTO_OP = re.compile(
    r"An error occurred \((?P<code>[\w.]+)\) when calling the (?P<op>\w+) operation(?: \(reached max retries: "
    r"\d+\))?: ?(?P<msg>[^\n]*)"
)
_JAVA1 = re.compile(
    r"\(Service: (?P<svc>[^;()]+); Status Code: (?P<status>\d{3}); Error Code: (?P<code>[\w.]+); Request ID: "
    r"(?P<rid>[^;()\s]+)"
)
_JAVA2 = re.compile(r"\(Service: (?P<svc>[^,;()]+), Status Code: (?P<status>\d{3}), Request ID: (?P<rid>[^,;()\s]+)")
_JAVA_EXC = re.compile(r"(?:com\.amazonaws|software\.amazon\.awssdk)\.services\.(?P<svc>\w+)\.model\.(?P<cls>\w+)")
_JAVA_PKG = re.compile(r"(?:com\.amazonaws|software\.amazon\.awssdk)\.services\.(?P<svc>\w+)\.")
_GO2 = re.compile(r"operation error (?P<svc>[^:,\n]+): (?P<op>\w+)")
_GO2_API = re.compile(r"api error (?P<code>[\w.]+): (?P<msg>[^\n]*)")
_XML = {
    tag: re.compile(rf"<{tag}>\s*([^<]*?)\s*</{tag}>")
    for tag in ("Code", "Message", "RequestId", "RequestTime", "ServerTime", "MaxAllowedSkewMilliseconds", "Expires")
}
_CODE_AT_LINE = re.compile(
    rf"(?:^|[\s:\]'\"(])(?:[\w.]+\.)?(?P<code>{_CODE_ALT})(?::| \(client\))\s+(?P<msg>[^\n]*)", re.MULTILINE
)
_CODE_FIELD = re.compile(
    rf"""(?i)\b(?:code|Code|name|__type|x-amzn-ErrorType)['"]?\s*[:=]\s*['"]?(?:[\w.:/#]*[#.])?(?P<code>{_CODE_ALT})\b"""
)
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
    re.compile(p, re.IGNORECASE)
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
_CLI_CMD = re.compile(
    r"(?m)^\s*(?:\$\s+|#\s+|>\s+)?aws\s+(?:--[\w-]+(?:[ "
    r"=][^\s-][^\s]*)?\s+)*(?P<svc>[a-z][a-z0-9-]+)\s+(?P<op>[a-z][a-z0-9-]+)"
)
_PHP_OP = re.compile(r'Error executing "(?P<op>\w+)" on "(?P<url>[^"]+)"')
_HOST = re.compile(r"\b([a-z0-9][a-z0-9.-]*)\.amazonaws\.com(?:\.cn)?\b", re.IGNORECASE)
_ACCESS_KEY_MASKED = re.compile(r"\b(?:AKIA|ASIA)…[A-Z0-9]{4}\b")  # as scrub() leaves a key id
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
    name = re.sub(r"^(?:Amazon|AWS)\s*", "", raw.strip(), flags=re.IGNORECASE)
    key = re.sub(r"[^a-z0-9]", "", name.lower())
    if not key:
        return None
    return _SERVICE_ALIASES.get(key, key)


def _service_from_host(text: str) -> str | None:
    for match in _HOST.finditer(text):
        labels = [
            x for x in match[1].lower().split(".") if x and not _REGION.match(x) and x not in ("dualstack", "fips")
        ]
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


__all__ = ["parse"]
