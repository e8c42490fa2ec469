"""The default credential chains of the AWS SDKs, as plain data.

Each table says, in the SDK's own order, where it looks for credentials, which
environment variables / Java system properties / files / endpoints it reads,
whether that source refreshes, and how early the SDK refreshes expiring
credentials.  Every entry links to the SDK file it was read from (``source_url``)
and names the commit that was read (``read_at``).  What could not be confirmed
from the source is listed in ``unconfirmed`` instead of being guessed.

Nothing here does I/O; :mod:`tokendoctor.checks.sdk` evaluates these tables
against a machine state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_GH = "https://github.com"
BOTOCORE_CREDENTIALS = f"{_GH}/boto/botocore/blob/develop/botocore/credentials.py"
JAVA_V1_CHAIN = f"{_GH}/aws/aws-sdk-java/blob/master/aws-java-sdk-core/src/main/java/com/amazonaws/auth/DefaultAWSCredentialsProviderChain.java"
JAVA_V1_ENV = f"{_GH}/aws/aws-sdk-java/blob/master/aws-java-sdk-core/src/main/java/com/amazonaws/auth/EnvironmentVariableCredentialsProvider.java"
JAVA_V1_SYSPROPS = f"{_GH}/aws/aws-sdk-java/blob/master/aws-java-sdk-core/src/main/java/com/amazonaws/auth/SystemPropertiesCredentialsProvider.java"
JAVA_V1_PROFILE_NAME = f"{_GH}/aws/aws-sdk-java/blob/master/aws-java-sdk-core/src/main/java/com/amazonaws/auth/profile/internal/AwsProfileNameLoader.java"
JAVA_V1_PROFILE_FILE = f"{_GH}/aws/aws-sdk-java/blob/master/aws-java-sdk-core/src/main/java/com/amazonaws/profile/path/AwsProfileFileLocationProvider.java"
CLI_V2_CONFIG = f"{_GH}/aws/aws-cli/blob/v2/awscli/botocore/configprovider.py"
JAVA_V1_FETCHER = (
    f"{_GH}/aws/aws-sdk-java/blob/master/aws-java-sdk-core/src/main/java/com/amazonaws/auth/BaseCredentialsFetcher.java"
)
JAVA_V2_CHAIN = f"{_GH}/aws/aws-sdk-java-v2/blob/master/core/auth/src/main/java/software/amazon/awssdk/auth/credentials/DefaultCredentialsProvider.java"
JAVA_V2_SYSPROPS = f"{_GH}/aws/aws-sdk-java-v2/blob/master/core/auth/src/main/java/software/amazon/awssdk/auth/credentials/SystemPropertyCredentialsProvider.java"
JAVA_V2_SETTINGS = f"{_GH}/aws/aws-sdk-java-v2/blob/master/core/sdk-core/src/main/java/software/amazon/awssdk/core/SdkSystemSetting.java"
JAVA_V2_PROFILE_SETTING = f"{_GH}/aws/aws-sdk-java-v2/blob/master/core/profiles/src/main/java/software/amazon/awssdk/profiles/ProfileFileSystemSetting.java"
JAVA_V2_STS = f"{_GH}/aws/aws-sdk-java-v2/blob/master/services/sts/src/main/java/software/amazon/awssdk/services/sts/auth/StsCredentialsProvider.java"
GO_V2_CHAIN = f"{_GH}/aws/aws-sdk-go-v2/blob/main/config/resolve_credentials.go"
GO_V2_ENV = f"{_GH}/aws/aws-sdk-go-v2/blob/main/config/env_config.go"
GO_V2_CACHE = f"{_GH}/aws/aws-sdk-go-v2/blob/main/aws/credential_cache.go"
JS_V3_CHAIN = f"{_GH}/aws/aws-sdk-js-v3/blob/main/packages/credential-provider-node/src/defaultProvider.ts"
JS_V3_REMOTE = f"{_GH}/aws/aws-sdk-js-v3/blob/main/packages/credential-provider-node/src/remoteProvider.ts"
JS_V3_ENV = f"{_GH}/aws/aws-sdk-js-v3/blob/main/packages/credential-provider-env/src/fromEnv.ts"


@dataclass(frozen=True, kw_only=True)
class Source:
    """One link of a chain."""

    id: str
    """Stable id used in the JSON report (``env``, ``system-properties``, ``profile``, ...)."""
    reads: tuple[str, ...]
    """Environment variables, system properties, files or endpoints it reads."""
    refreshes: bool | None
    """Whether credentials from this source are renewed by the SDK (None: depends on the profile)."""
    source_url: str
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class RefreshWindow:
    summary: str
    advisory_seconds: int | None
    """Refresh is attempted this long before expiry (None: not applicable / not confirmed)."""
    mandatory_seconds: int | None
    """Credentials this close to expiry are not used without a successful refresh."""
    source_url: str


@dataclass(frozen=True, kw_only=True)
class SdkChain:
    name: str
    title: str
    source_url: str
    read_at: str
    """``owner/repo@commit`` of the file the order was read from."""
    sources: tuple[Source, ...]
    access_key_vars: tuple[str, ...]
    secret_key_vars: tuple[str, ...]
    token_vars: tuple[str, ...]
    profile_vars: tuple[str, ...]
    """Environment variables naming the profile, first wins."""
    profile_property: str | None
    """Java system property naming the profile."""
    profile_property_first: bool
    """The system property beats the environment variable (Java v2), or comes after it (Java v1)."""
    system_properties: tuple[str, str, str] | None
    """(access key, secret key, session token) Java system properties, or None."""
    profile_var_drops_env: bool
    """Setting the profile variable makes the SDK skip environment credentials (JS v3)."""
    explicit_profile_drops_env: bool
    """A profile passed in code makes the SDK skip environment credentials."""
    refresh_window: RefreshWindow
    uses_botocore: bool = False
    notes: tuple[str, ...] = ()
    unconfirmed: tuple[str, ...] = field(default_factory=tuple)


_BOTOCORE_WINDOW = RefreshWindow(
    summary="advisory refresh 15 min before expiry, mandatory 10 min before (RefreshableCredentials)",
    advisory_seconds=15 * 60,
    mandatory_seconds=10 * 60,
    source_url=BOTOCORE_CREDENTIALS,
)

PYTHON = SdkChain(
    name="python",
    title="boto3 / botocore",
    source_url=BOTOCORE_CREDENTIALS,
    read_at="installed botocore (create_credential_resolver)",
    sources=(),  # taken from the installed botocore at run time (checks/credentials.py)
    access_key_vars=("AWS_ACCESS_KEY_ID",),
    secret_key_vars=("AWS_SECRET_ACCESS_KEY",),
    token_vars=("AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"),
    profile_vars=("AWS_DEFAULT_PROFILE", "AWS_PROFILE"),
    profile_property=None,
    profile_property_first=False,
    system_properties=None,
    profile_var_drops_env=False,
    explicit_profile_drops_env=True,
    refresh_window=_BOTOCORE_WINDOW,
    uses_botocore=True,
    notes=("The chain is the installed botocore's own provider list, analysed statically by the credentials check.",),
)

CLI_V2 = SdkChain(
    name="cli-v2",
    title="AWS CLI v2",
    source_url=BOTOCORE_CREDENTIALS,
    read_at="installed botocore's provider order; profile variables from "
    "aws/aws-cli@1298edf51ea34538e2ffa59d49b921056ae0f1a6",
    sources=(),
    access_key_vars=PYTHON.access_key_vars,
    secret_key_vars=PYTHON.secret_key_vars,
    token_vars=PYTHON.token_vars,
    profile_vars=("AWS_PROFILE", "AWS_DEFAULT_PROFILE"),
    profile_property=None,
    profile_property_first=False,
    system_properties=None,
    profile_var_drops_env=False,
    explicit_profile_drops_env=True,
    refresh_window=_BOTOCORE_WINDOW,
    uses_botocore=True,
    notes=(
        "The AWS CLI v2 resolves credentials with its bundled copy of botocore, so the provider order is botocore's.",
        (
            "Difference: the bundled copy reads AWS_PROFILE before AWS_DEFAULT_PROFILE "
            "(awscli/botocore/configprovider.py); "
            "boto3's botocore reads AWS_DEFAULT_PROFILE first."
        ),
        (
            "Difference: the CLI caches assume-role and SSO role credentials as JSON in ~/.aws/cli/cache, "
            "so `aws` commands can keep working (or keep failing) from that cache while a program re-assumes the role."
        ),
    ),
    unconfirmed=(
        "that the bundled botocore's provider order equals the installed botocore's (it is taken from the installed "
        "one)",
    ),
)

JAVA_V1 = SdkChain(
    name="java-v1",
    title="AWS SDK for Java 1.x (DefaultAWSCredentialsProviderChain)",
    source_url=JAVA_V1_CHAIN,
    read_at="aws/aws-sdk-java@1322472c350d07fa2355c110bc023afda6a4cc3b",
    sources=(
        Source(
            id="env",
            reads=(
                "AWS_ACCESS_KEY_ID",
                "AWS_ACCESS_KEY",
                "AWS_SECRET_KEY",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ),
            refreshes=False,
            source_url=JAVA_V1_ENV,
            note="AWS_ACCESS_KEY and AWS_SECRET_ACCESS_KEY are read only when AWS_ACCESS_KEY_ID / AWS_SECRET_KEY are "
            "unset",
        ),
        Source(
            id="system-properties",
            reads=("-Daws.accessKeyId", "-Daws.secretKey", "-Daws.sessionToken"),
            refreshes=False,
            source_url=JAVA_V1_SYSPROPS,
        ),
        Source(
            id="web-identity",
            reads=("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME"),
            refreshes=True,
            source_url=JAVA_V1_CHAIN,
            note="the code lists it before the profile (the class comment lists it last)",
        ),
        Source(
            id="profile",
            reads=(
                "AWS_CREDENTIAL_PROFILES_FILE",
                "~/.aws/credentials",
                "~/.aws/config (only when there is no credentials file)",
                "AWS_PROFILE",
                "-Daws.profile",
            ),
            refreshes=None,
            source_url=JAVA_V1_PROFILE_FILE,
            note="one file: AWS_CREDENTIAL_PROFILES_FILE, else ~/.aws/credentials, else the legacy ~/.aws/config; "
            "AWS_SHARED_CREDENTIALS_FILE is not read",
        ),
        Source(
            id="container",
            reads=("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            refreshes=True,
            source_url=JAVA_V1_CHAIN,
            note="EC2ContainerCredentialsProviderWrapper: the container endpoint when configured, else instance "
            "metadata",
        ),
        Source(
            id="instance-metadata",
            reads=("http://169.254.169.254/latest/meta-data/iam/security-credentials/",),
            refreshes=True,
            source_url=JAVA_V1_CHAIN,
        ),
    ),
    access_key_vars=("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"),
    secret_key_vars=("AWS_SECRET_KEY", "AWS_SECRET_ACCESS_KEY"),
    token_vars=("AWS_SESSION_TOKEN",),
    profile_vars=("AWS_PROFILE",),
    profile_property="aws.profile",
    profile_property_first=False,
    system_properties=("aws.accessKeyId", "aws.secretKey", "aws.sessionToken"),
    profile_var_drops_env=False,
    explicit_profile_drops_env=False,
    refresh_window=RefreshWindow(
        summary=(
            "instance/container credentials: re-fetched when less than 15 min remain, or 60 min after the last fetch "
            "(BaseCredentialsFetcher); assume-role window not confirmed"
        ),
        advisory_seconds=15 * 60,
        mandatory_seconds=None,
        source_url=JAVA_V1_FETCHER,
    ),
    notes=(
        "AWS_DEFAULT_PROFILE is not read; the profile name is AWS_PROFILE, then -Daws.profile, then 'default' "
        "(AwsProfileNameLoader).",
        "AWS_SECURITY_TOKEN is not read.",
    ),
    unconfirmed=(
        (
            "which profile settings ProfileCredentialsProvider supports (sso_*, credential_process) and how it names "
            "sections of the legacy ~/.aws/config fallback ('profile NAME' is read as NAME here)"
        ),
        "refresh window of STSAssumeRoleSessionCredentialsProvider",
    ),
)

JAVA_V2 = SdkChain(
    name="java-v2",
    title="AWS SDK for Java 2.x (DefaultCredentialsProvider)",
    source_url=JAVA_V2_CHAIN,
    read_at="aws/aws-sdk-java-v2@0131c0820111ab5900467a87777b6f8b573a0a55",
    sources=(
        Source(
            id="system-properties",
            reads=("-Daws.accessKeyId", "-Daws.secretAccessKey", "-Daws.sessionToken"),
            refreshes=False,
            source_url=JAVA_V2_SYSPROPS,
            note="only the system properties; aws.secretKey (the 1.x name) is not read",
        ),
        Source(
            id="env",
            reads=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"),
            refreshes=False,
            source_url=JAVA_V2_SETTINGS,
        ),
        Source(
            id="web-identity",
            reads=(
                "AWS_WEB_IDENTITY_TOKEN_FILE",
                "AWS_ROLE_ARN",
                "AWS_ROLE_SESSION_NAME",
                "-Daws.webIdentityTokenFile",
                "-Daws.roleArn",
            ),
            refreshes=True,
            source_url=JAVA_V2_CHAIN,
        ),
        Source(
            id="profile",
            reads=("~/.aws/config", "~/.aws/credentials", "-Daws.profile", "AWS_PROFILE"),
            refreshes=None,
            source_url=JAVA_V2_CHAIN,
        ),
        Source(
            id="container",
            reads=("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            refreshes=True,
            source_url=JAVA_V2_CHAIN,
        ),
        Source(
            id="instance-metadata",
            reads=("http://169.254.169.254/latest/meta-data/iam/security-credentials/",),
            refreshes=True,
            source_url=JAVA_V2_CHAIN,
        ),
    ),
    access_key_vars=("AWS_ACCESS_KEY_ID",),
    secret_key_vars=("AWS_SECRET_ACCESS_KEY",),
    token_vars=("AWS_SESSION_TOKEN",),
    profile_vars=("AWS_PROFILE",),
    profile_property="aws.profile",
    profile_property_first=True,
    system_properties=("aws.accessKeyId", "aws.secretAccessKey", "aws.sessionToken"),
    profile_var_drops_env=False,
    explicit_profile_drops_env=False,
    refresh_window=RefreshWindow(
        summary="STS-based providers (assume role, web identity): prefetch 5 min before expiry, stale (blocking) 1 "
        "min before",
        advisory_seconds=5 * 60,
        mandatory_seconds=60,
        source_url=JAVA_V2_STS,
    ),
    notes=(
        "System properties come first: -Daws.accessKeyId on the java command line beats every other source.",
        "The profile name is -Daws.profile, then AWS_PROFILE, then 'default' (ProfileFileSystemSetting); "
        "AWS_DEFAULT_PROFILE is not read.",
        "AWS_SECURITY_TOKEN is not read.",
    ),
    unconfirmed=("refresh window of the instance-profile and container providers",),
)

GO_V2 = SdkChain(
    name="go-v2",
    title="AWS SDK for Go v2 (config.LoadDefaultConfig)",
    source_url=GO_V2_CHAIN,
    read_at="aws/aws-sdk-go-v2@02d654c48dab8e895cf89d05a4c4c6162e845b91",
    sources=(
        Source(
            id="explicit-profile",
            reads=("config.WithSharedConfigProfile(...)",),
            refreshes=None,
            source_url=GO_V2_CHAIN,
            note="only a profile given in code; AWS_PROFILE does not take this branch",
        ),
        Source(
            id="env",
            reads=(
                "AWS_ACCESS_KEY_ID",
                "AWS_ACCESS_KEY",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SECRET_KEY",
                "AWS_SESSION_TOKEN",
            ),
            refreshes=False,
            source_url=GO_V2_ENV,
            note="AWS_ACCESS_KEY / AWS_SECRET_KEY are read only when the first name is unset",
        ),
        Source(
            id="web-identity",
            reads=("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME"),
            refreshes=True,
            source_url=GO_V2_CHAIN,
        ),
        Source(
            id="profile",
            reads=("~/.aws/config", "~/.aws/credentials", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"),
            refreshes=None,
            source_url=GO_V2_CHAIN,
            note="in the profile: source_profile, static keys, credential_source, web_identity_token_file, sso, "
            "credential_process",
        ),
        Source(
            id="container",
            reads=("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
            refreshes=True,
            source_url=GO_V2_CHAIN,
        ),
        Source(
            id="instance-metadata",
            reads=("http://169.254.169.254/latest/meta-data/iam/security-credentials/",),
            refreshes=True,
            source_url=GO_V2_CHAIN,
        ),
    ),
    access_key_vars=("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"),
    secret_key_vars=("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"),
    token_vars=("AWS_SESSION_TOKEN",),
    profile_vars=("AWS_PROFILE", "AWS_DEFAULT_PROFILE"),
    profile_property=None,
    profile_property_first=False,
    system_properties=None,
    profile_var_drops_env=False,
    explicit_profile_drops_env=True,
    refresh_window=RefreshWindow(
        summary=(
            "aws.CredentialsCache: ExpiryWindow option (default 0 = none); the container endpoint provider is "
            "given a 5 min window; recent releases pick an advisory window from the credentials' lifetime "
            "(<=20 min: 5 min, <90 min: 15 min, else 60 min) and a mandatory 1 min"
        ),
        advisory_seconds=5 * 60,
        mandatory_seconds=60,
        source_url=GO_V2_CACHE,
    ),
    notes=(
        "Not a chain but a switch: the first branch that applies is taken, and its errors are returned (no "
        "fall-through).",
        "A profile given in code beats environment keys; AWS_PROFILE does not (environment keys still win).",
        "The profile name is AWS_PROFILE, then AWS_DEFAULT_PROFILE (env_config.go).",
    ),
    unconfirmed=(
        "the release in which the lifetime-based advisory window of aws.CredentialsCache shipped",
        (
            "the order inside a profile: the commit read (02d654c4) also contains debug prints, so it may be a branch; "
            "an older commit (ae853705) has no SSO branch and puts credential_process before credential_source"
        ),
    ),
)

JS_V3 = SdkChain(
    name="js-v3",
    title="AWS SDK for JavaScript v3 (defaultProvider / fromNodeProviderChain)",
    source_url=JS_V3_CHAIN,
    read_at="aws/aws-sdk-js-v3@e583141a5e3c7c721fb6d0a29dbc66e026c8447d",
    sources=(
        Source(
            id="env",
            reads=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION"),
            refreshes=False,
            source_url=JS_V3_ENV,
            note="skipped entirely when AWS_PROFILE is set or a profile is passed in code",
        ),
        Source(
            id="sso",
            reads=("sso_session", "sso_start_url", "sso_account_id", "sso_role_name"),
            refreshes=True,
            source_url=JS_V3_CHAIN,
        ),
        Source(
            id="ini",
            reads=("~/.aws/config", "~/.aws/credentials", "AWS_PROFILE"),
            refreshes=None,
            source_url=JS_V3_CHAIN,
            note="static keys, role_arn with source_profile/credential_source, web_identity_token_file in the profile",
        ),
        Source(id="process", reads=("credential_process",), refreshes=True, source_url=JS_V3_CHAIN),
        Source(
            id="web-identity",
            reads=("AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME"),
            refreshes=True,
            source_url=JS_V3_CHAIN,
        ),
        Source(
            id="container",
            reads=("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"),
            refreshes=True,
            source_url=JS_V3_REMOTE,
            note="remoteProvider: the container endpoint when configured, else instance metadata",
        ),
        Source(
            id="instance-metadata",
            reads=("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "AWS_EC2_METADATA_DISABLED"),
            refreshes=True,
            source_url=JS_V3_REMOTE,
        ),
    ),
    access_key_vars=("AWS_ACCESS_KEY_ID",),
    secret_key_vars=("AWS_SECRET_ACCESS_KEY",),
    token_vars=("AWS_SESSION_TOKEN",),
    profile_vars=("AWS_PROFILE",),
    profile_property=None,
    profile_property_first=False,
    system_properties=None,
    profile_var_drops_env=True,
    explicit_profile_drops_env=True,
    refresh_window=RefreshWindow(
        summary="memoize: credentials with an expiration are refreshed when less than 5 min remain",
        advisory_seconds=5 * 60,
        mandatory_seconds=None,
        source_url=JS_V3_CHAIN,
    ),
    notes=(
        "Profile before environment: with AWS_PROFILE set, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are ignored.",
        "AWS_DEFAULT_PROFILE and AWS_SECURITY_TOKEN are not read.",
    ),
)

SDKS: dict[str, SdkChain] = {c.name: c for c in (PYTHON, JAVA_V1, JAVA_V2, GO_V2, JS_V3, CLI_V2)}
NAMES: tuple[str, ...] = tuple(SDKS)


def get(name: str) -> SdkChain:
    return SDKS[name]


def source_url(chain: SdkChain, source_id: str) -> str:
    for source in chain.sources:
        if source.id == source_id:
            return source.source_url
    return chain.source_url


def markdown() -> str:
    """The tables as Markdown (the generated part of docs/sdks.md; a test keeps the two equal)."""
    lines: list[str] = []
    for chain in SDKS.values():
        lines += [
            f"### `{chain.name}`: {chain.title}",
            "",
            f"Order from [{chain.source_url.rsplit('/', 1)[-1]}]({chain.source_url}); read at: {chain.read_at}.",
            "",
        ]
        if chain.sources:
            lines += ["| # | source | reads | refreshes | notes |", "|---|---|---|---|---|"]
            for i, s in enumerate(chain.sources, 1):
                refresh = {True: "yes", False: "no", None: "depends on the profile"}[s.refreshes]
                reads = ", ".join(f"`{r}`" for r in s.reads)
                lines.append(f"| {i} | [{s.id}]({s.source_url}) | {reads} | {refresh} | {s.note} |")
        else:
            lines.append("The providers of the installed botocore, in its order (`tokendoctor check` prints them).")
        lines += [
            "",
            (
                f"- Environment credentials: key {', '.join(f'`{v}`' for v in chain.access_key_vars)}; "
                f"secret {', '.join(f'`{v}`' for v in chain.secret_key_vars)}; "
                f"token {', '.join(f'`{v}`' for v in chain.token_vars)} (first set name wins)."
            ),
            f"- Profile: {', '.join(f'`{v}`' for v in chain.profile_vars)}"
            + (
                f", `-D{chain.profile_property}` ({'before' if chain.profile_property_first else 'after'} the variable)"
                if chain.profile_property
                else ""
            )
            + ", else `default`."
            + (" Setting it skips environment credentials." if chain.profile_var_drops_env else ""),
            f"- Refresh window: {chain.refresh_window.summary} ([source]({chain.refresh_window.source_url})).",
        ]
        lines += [f"- {note}" for note in chain.notes]
        lines += [f"- Not confirmed: {item}." for item in chain.unconfirmed]
        lines.append("")
    return "\n".join(lines)
