"""Read the facts (family, code, service, operation, SDK, request id, times, clues) out of masked error text."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from tokendoctor.explain import presigned
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
    # issue 11: texts from public bug reports (tests/corpus/explain/SOURCES.md cites each)
    (
        r"Token expired: current date/time \d{1,20} must be before the expiration date/time ?\d{1,20}|"
        r"web identity token that was passed is expired",
        "WebIdentityTokenExpired",
        "expired",
    ),
    (r"The retrieved credentials have already expired", "RetrievedCredentialsExpired", "expired"),
    (
        r"exceeds the 1 hour session limit for roles assumed by role chaining",
        "RoleChainingSessionLimit",
        "other",
    ),
    (r"DurationSeconds exceeds the MaxSessionDuration set for this role", "MaxSessionDurationExceeded", "other"),
    (
        r"getting credentials: exec: executable [\w./-]{1,200} failed|aws eks get-token[^\n]{0,200}(?:error|failed)",
        "EKSExecCredentialsFailed",
        "other",
    ),
    (r"You must be logged in to the server \((?:Unauthorized|the server has asked)", "EKSUnauthorized", "other"),
    (
        r"expiresAt[^\n]{0,200}(?:invalid RFC-?3339|as \"2006-01-02T15:04:05Z07:00\"|cannot parse)",
        "SSOCacheUnreadable",
        "other",
    ),
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
    (r"Error loading SSO Token|SSOTokenLoadError|The SSO session [^\n]{0,200}? has expired", "SSOTokenExpired", "sso"),
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
    (r"The config profile \([^)\n]{0,256}\) could not be found|ProfileNotFound", "ProfileNotFound", "no-credentials"),
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
# Families whose message says more than the code printed with it (``ExpiredTokenException: Token expired:
# current date/time ...`` is the web identity token, not the session).
_MESSAGE_WINS = frozenset(
    {
        "WebIdentityTokenExpired",
        "RetrievedCredentialsExpired",
        "RoleChainingSessionLimit",
        "MaxSessionDurationExceeded",
        "EKSExecCredentialsFailed",
        "EKSUnauthorized",
        "SSOCacheUnreadable",
    }
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
            r"operation error [^:,\n]{1,100}: \w|aws-sdk-go-v2|failed to refresh cached credentials|get identity: get "
            r"credentials",
        ),
        ("go-v1", r"^[ \t]*status code: \d{3}, request id|aws-sdk-go/|NoCredentialProviders: no valid providers"),
        ("js-v3", r"\$metadata|@aws-sdk/|@smithy/|CredentialsProviderError|throwDefaultError|de_\w+CommandError"),
        ("js-v2", r"aws-sdk/lib/|Request\.extractError|\"retryable\"\s*:|retryable: (?:true|false)"),
        ("python", r"botocore|boto3|Traceback \(most recent call last\)|ClientError: An error occurred"),
        (
            "cli",
            r"^[ \t]*(?:\$[ \t]+)?aws[ \t]+[a-z0-9-]+[ \t]+[a-z0-9-]|^aws: \[?ERROR\]?|"
            r"^[ \t]*An error occurred \(\w+\) when calling the \w+ operation",
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
_GO2 = re.compile(r"operation error (?P<svc>[^:,\n]{1,100}): (?P<op>\w{1,100})")
_GO2_API = re.compile(r"api error (?P<code>[\w.]{1,100}): (?P<msg>[^\n]{0,1000})")
# One bounded run of non-``<`` between the tags (stripped afterwards): ``\s*([^<]*?)\s*`` backtracks
# cubically on ``<Code>`` + spaces.
_XML = {
    tag: re.compile(rf"<{tag}>([^<]{{0,2000}})</{tag}>")
    for tag in ("Code", "Message", "RequestId", "RequestTime", "ServerTime", "MaxAllowedSkewMilliseconds", "Expires")
}


def _xml(tag: str, text: str) -> str | None:
    """The (stripped) text of the first ``<tag>...</tag>`` element, or ``None``."""
    match = _XML[tag].search(text)
    return match[1].strip() if match else None


_CODE_AT_LINE = re.compile(
    rf"(?:^|[\s:\]'\"(])(?:[\w.]{{1,200}}\.)?(?P<code>{_CODE_ALT})(?::| \(client\))\s{{1,64}}(?P<msg>[^\n]{{0,1000}})",
    re.MULTILINE,
)
# ``code: "ns.sts#ExpiredTokenException"``: the value is taken whole (bounded), then the code is the last
# known code that starts it or follows a ``#``/``.`` in it; ``(?:[\w.:/#]*[#.])?CODE`` was quadratic.
_CODE_FIELD = re.compile(
    r"""(?i)\b(?:code|name|__type|x-amzn-ErrorType)['"]?\s{0,16}[:=]\s{0,16}['"]?(?P<val>[\w.:/#]{1,200})"""
)
_CODE_IN_VALUE = re.compile(rf"(?i)(?:^|(?<=[#.]))(?P<code>{_CODE_ALT})(?!\w)")


def _code_field(text: str) -> str | None:
    for field in _CODE_FIELD.finditer(text):
        last = None
        for last in _CODE_IN_VALUE.finditer(field["val"]):  # noqa: B007 - the last one is wanted
            pass
        if last is not None:
            return last["code"]
    return None


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
_JS_OP = re.compile(
    r"\b(?:de_|deserializeAws_\w{1,64}?)(?P<op>[A-Z]\w{1,64}?)Command(?:Error)?\b|\b(?P<op2>[A-Z]\w{1,64}?)Command\b"
)
_JAVA_OP = re.compile(
    r"\b(?P<cls>Amazon\w{0,64}Client|AWS\w{0,64}Client|Default\w{1,64}Client|\w{1,64}AsyncClient)"
    r"\.(?P<op>[a-z]\w{0,100})\("
)
_JAVA_SKIP = {"invoke", "doInvoke", "execute", "beforeClientExecution", "doExecute", "lambda", "init", "access"}
# ``aws [--opt [value]]... SERVICE OPERATION`` on a line of its own, read token by token (a regex with a
# repeated optional option group backtracks exponentially).
_CLI_LINE = re.compile(r"(?m)^[ \t]{0,64}(?:[$#>][ \t]{1,8})?aws[ \t]+(?P<rest>[^\n]{1,2000})")
_CLI_OPTION = re.compile(r"--[\w-]+(?:=[^\s-]\S*)?")
_CLI_VALUE = re.compile(r"[^\s-]\S*")
_CLI_WORD = re.compile(r"[a-z][a-z0-9-]+")
_CLI_MAX_TOKENS = 40
_PHP_OP = re.compile(r'Error executing "(?P<op>\w+)" on "(?P<url>[^"]+)"')
_HOST_SUFFIX = ".amazonaws.com"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_HOST_MAX = 253
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
    "queue": "sqs",  # SQS's legacy endpoint, queue.amazonaws.com
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


def _cli_command(text: str) -> tuple[str, str] | None:
    """``(service, operation)`` of the first ``aws SERVICE OPERATION`` command line in ``text``."""
    for line in _CLI_LINE.finditer(text):
        found = _cli_tokens(line["rest"].split()[:_CLI_MAX_TOKENS])
        if found:
            return found
    return None


def _cli_tokens(tokens: list[str]) -> tuple[str, str] | None:
    """Options (each maybe with a value) then SERVICE OPERATION; an option's value is tried first, as
    the former regex did.  Memoised per position, so linear in the number of tokens."""
    seen: set[int] = set()

    def at(i: int) -> tuple[str, str] | None:
        if i >= len(tokens) or i in seen:
            return None
        seen.add(i)
        token = tokens[i]
        if _CLI_OPTION.fullmatch(token):
            if "=" not in token and i + 1 < len(tokens) and _CLI_VALUE.fullmatch(tokens[i + 1]):
                found = at(i + 2)
                if found:
                    return found
            found = at(i + 1)
            if found:
                return found
        op = _CLI_WORD.match(tokens[i + 1]) if i + 1 < len(tokens) else None
        if op and _CLI_WORD.fullmatch(token):
            return token, op[0]
        return None

    return at(0)


def _word_at(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def _hosts(text: str) -> Iterable[str]:
    """Every ``*.amazonaws.com`` host name in ``text``, read back from each suffix (a regex starting
    at every letter of a long dotted run is quadratic)."""
    lower = text.lower()
    pos = lower.find(_HOST_SUFFIX)
    while pos != -1:
        end = pos + len(_HOST_SUFFIX)
        after_ok = not _word_at(lower, end) or (lower.startswith(".cn", end) and not _word_at(lower, end + 3))
        start = pos
        floor = max(0, pos - _HOST_MAX)
        while start > floor and lower[start - 1] in _HOST_CHARS:
            start -= 1
        while start < pos and not lower[start].isalnum():
            start += 1
        if after_ok and start < pos and not _word_at(lower, start - 1):
            yield lower[start:pos]
        pos = lower.find(_HOST_SUFFIX, pos + 1)


def _service_from_host(text: str) -> str | None:
    for host in _hosts(text):
        labels = [x for x in host.split(".") if x and not _REGION.match(x) and x not in ("dualstack", "fips")]
        if not labels:
            continue
        label = labels[-1]
        if label.startswith("s3-") or label == "s3":
            return "s3"
        return _SERVICE_ALIASES.get(label, label)
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
    req = _xml("RequestTime", text)
    srv = _xml("ServerTime", text)
    if srv:
        out.server = parse_time(srv)
    if req:
        out.request = parse_time(req)
    max_ms = _xml("MaxAllowedSkewMilliseconds", text)
    if max_ms and max_ms.isdigit() and len(max_ms) < 12:
        out.max_skew = int(max_ms) // 1000
    expires = _xml("Expires", text)
    if expires:
        out.expires = parse_time(expires)
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


def _never() -> bool:
    return False


def parse(text: str, stop: Callable[[], bool] = _never) -> ErrorFacts:
    """Read the facts out of an (already masked) error text.  ``stop()`` is asked between steps: when it
    says yes, the facts found so far are returned (each step is linear in the text)."""
    code = operation = service = message = sdk = None
    request_id = http_status = None
    family: str | None = None
    category: Category | None = None
    times = _Times()
    skew = None
    direction: Literal["ahead", "behind"] | None = None
    clues: tuple[str, ...] = ()
    key: re.Match[str] | None = None
    url: presigned.PresignedUrl | None = None

    def facts() -> ErrorFacts:
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
            expires_at=iso(times.expires or (url.expires_at if url else None)),
            clues=clues,
            presigned=url.to_dict() if url else None,
        )

    if stop():
        return facts()
    sdk = next((name for name, rule in _SDK_RULES if rule.search(text)), None)
    if stop():
        return facts()

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
    xml_code = _xml("Code", text)
    if not code and xml_code is not None:
        code = xml_code
        message = _xml("Message", text) or message
    if not code:
        line = _CODE_AT_LINE.search(text)
        if line:
            code, message = line["code"], message or line["msg"]
    if not code:
        code = _code_field(text)
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
    if stop():
        return facts()

    # family: the code when it is one we know, else the first message pattern that matches.
    if code in _FAMILIES:
        family, category = _FAMILIES[code]
    by_message = next(((fam, cat) for pattern, fam, cat in _MESSAGE_FAMILIES if pattern.search(text)), None)
    if by_message and (family is None or by_message[0] in _MESSAGE_WINS):
        family, category = by_message
    elif by_message and by_message[1] == "clock":
        # a time message ("Signature expired: ...") makes SignatureDoesNotMatch, InvalidSignatureException
        # or RequestExpired a clock error; the family stays AWS's code
        category = "clock"
    if code == "AccessDenied" and re.search(r"Request has expired", text):
        family, category = "PresignedUrlExpired", "expired"
    url = presigned.read(text)
    if url is not None and family in ("ExpiredToken", "PresignedUrlExpired") and url.temporary is not False:
        # ExpiredToken on a presigned URL: the session that signed it ended before the URL's own expiry
        family = "PresignedUrlSessionExpired" if family == "ExpiredToken" else family
    elif url is not None and family is None and url.expires_at is not None:
        # a presigned URL pasted alone: what can end it, and when
        family, category = "PresignedUrl", "other"
    if stop():
        return facts()

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
    cli = _cli_command(text)
    if cli:
        service = service or _service_id(cli[0])
        if not operation and cli[0] not in ("s3",):  # `aws s3 cp` is a high-level command, not an API operation
            operation = _pascal(cli[1])
    if not service:
        js_client = _JS3_CLIENT.search(text)
        service = _service_id(js_client[1]) if js_client else None
    service = service or _service_from_host(text)
    if stop():
        return facts()

    request_id = request_id or _first(_REQUEST_ID, text)
    if http_status is None:
        status = _first(_HTTP_STATUS, text)
        http_status = int(status) if status else None
    key = _ACCESS_KEY_MASKED.search(text)

    times = _times(text)
    if times.request and times.server:
        skew = int((times.request - times.server).total_seconds())
        direction = "ahead" if skew > 0 else "behind" if skew < 0 else None
    if family is None and skew is not None and times.max_skew:
        family, category = "RequestTimeTooSkewed", "clock"
    if stop():
        return facts()

    clues = tuple(name for name, rule in _CLUES if rule.search(text))
    if key and key[0].startswith("ASIA"):
        clues += ("temporary-key",)
    elif key and key[0].startswith("AKIA"):
        clues += ("long-term-key",)
    return facts()


__all__ = ["parse"]
