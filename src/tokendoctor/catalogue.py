"""The catalogue of causes: stable codes and names, why each leads to ExpiredToken, and the fix.

Codes and names are a public contract (JSON output, ``--fail-on``, users' CI
scripts).  Never renumber, rename or reuse a retired code; add new ones in the
block of their family, leaving gaps:

* TD1xx  environment variables that shadow or break the credential chain
* TD2xx  the resolved credentials and the shared config/credentials files
* TD3xx  instance metadata, containers and web identity (issue 3)
* TD4xx  the clock (issue 4)
* TD5xx  the failing process and live verification (issue 5)
* TD9xx  tokendoctor itself

``priority`` orders causes of equal severity in the report: lower is closer to
the root of the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

from tokendoctor.models import Severity


@dataclass(frozen=True, kw_only=True)
class Cause:
    code: str
    check: str
    """The check that emits it (``checks/<check>.py``, tested in ``tests/test_check_<check>.py``);
    ``runner`` for the tool's own failures; ``inprocess`` for what only the in-process hook sees."""
    name: str
    severity: Severity
    title: str
    why: str
    fix: str
    priority: int = 50


_CAUSES: tuple[Cause, ...] = (
    Cause(
        code="TD101",
        check="credentials",
        name="static-temporary-env",
        severity="warning",
        priority=10,
        title="Temporary credentials are exported as environment variables",
        why=(
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN hold a session from "
            "`aws sts assume-role` (or a login tool). The SDK reads them once and has no way to "
            "renew them, so every call fails with ExpiredToken once the session's "
            "DurationSeconds (1 hour by default) has passed."
        ),
        fix=(
            "Stop exporting the session. Put the role in ~/.aws/config and let the SDK assume "
            "and refresh it:\n"
            "  [profile job]\n  role_arn = arn:aws:iam::ACCOUNT:role/ROLE\n"
            "  source_profile = default        # or: credential_source = Ec2InstanceMetadata\n"
            "then `unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN` and run the "
            "job with AWS_PROFILE=job."
        ),
    ),
    Cause(
        code="TD102",
        check="credentials",
        name="env-shadows-profile",
        severity="warning",
        priority=20,
        title="Environment credentials override the profile you selected",
        why=(
            "botocore reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY before any profile. Setting "
            "AWS_PROFILE does not change that; only an explicit profile (boto3.Session("
            "profile_name=...), --profile) drops the environment credentials. The profile's "
            "(possibly refreshable) credentials are never used."
        ),
        fix="Unset AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, or pass the profile explicitly.",
    ),
    Cause(
        code="TD103",
        check="credentials",
        name="env-shadows-instance-role",
        severity="warning",
        priority=15,
        title="Earlier credentials keep the instance or container role from being used",
        why=(
            "The instance profile and container role are the last places the default chain "
            "looks. Credentials found earlier (environment variables, ~/.aws/credentials) win, "
            "and unlike the role's credentials they are not rotated."
        ),
        fix="Remove the earlier credentials so the SDK falls through to the role it rotates for you.",
    ),
    Cause(
        code="TD104",
        check="credentials",
        name="partial-env-credentials",
        severity="error",
        priority=5,
        title="The credential environment variables are incomplete or contradict each other",
        why=(
            "A key without its secret makes botocore stop with PartialCredentialsError; a "
            "temporary (ASIA…) key without a session token, or a token from another session, is "
            "rejected by AWS. botocore reads AWS_SECURITY_TOKEN before AWS_SESSION_TOKEN, so a "
            "stale AWS_SECURITY_TOKEN silently wins over a fresh AWS_SESSION_TOKEN."
        ),
        fix="Export all three variables from the same session, or none of them; unset AWS_SECURITY_TOKEN.",
    ),
    Cause(
        code="TD105",
        check="credentials",
        name="profile-not-found",
        severity="error",
        priority=5,
        title="The selected profile does not exist",
        why=(
            "botocore raises ProfileNotFound for a profile named by --profile, AWS_PROFILE or "
            "AWS_DEFAULT_PROFILE that is in neither ~/.aws/config nor ~/.aws/credentials."
        ),
        fix="Fix the profile name, or add the profile to ~/.aws/config.",
    ),
    Cause(
        code="TD106",
        check="credentials",
        name="profile-variable-conflict",
        severity="warning",
        priority=25,
        title="AWS_DEFAULT_PROFILE and AWS_PROFILE name different profiles",
        why=(
            "botocore checks AWS_DEFAULT_PROFILE before AWS_PROFILE (the AWS CLI does the "
            "opposite), so a Python program may use a different profile than the one you expect."
        ),
        fix="Unset AWS_DEFAULT_PROFILE and use AWS_PROFILE only.",
    ),
    Cause(
        code="TD107",
        check="credentials",
        name="env-overrides-web-identity",
        severity="warning",
        priority=30,
        title="AWS_ROLE_ARN / AWS_WEB_IDENTITY_TOKEN_FILE override the profile's web identity settings",
        why=(
            "Unless a profile is passed explicitly, botocore takes role_arn and "
            "web_identity_token_file from the environment before the profile's own values."
        ),
        fix="Unset AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or make them agree with the profile.",
    ),
    Cause(
        code="TD108",
        check="credentials",
        name="config-path-missing",
        severity="warning",
        priority=30,
        title="AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE points to a file that does not exist",
        why="botocore silently treats a missing file as empty, so the profiles you expect are not seen.",
        fix="Point the variable at the real file, or unset it to use ~/.aws/config and ~/.aws/credentials.",
    ),
    Cause(
        code="TD120",
        check="keys",
        name="blank-env-credentials",
        severity="error",
        priority=4,
        title="A credential variable is blank or padded with whitespace, and botocore uses it as it is",
        why=(
            "botocore skips an EMPTY AWS_ACCESS_KEY_ID but takes any other value verbatim: a key or secret of "
            "spaces, or one with a trailing space or newline from a copy-paste, wins over every profile and role "
            "and AWS rejects each request (InvalidClientTokenId / SignatureDoesNotMatch)."
        ),
        fix="`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN`, or export them again without the "
        "surrounding whitespace.",
    ),
    Cause(
        code="TD121",
        check="keys",
        name="long-term-key-with-env-token",
        severity="error",
        priority=4,
        title="A long-term access key (AKIA...) is exported together with a session token",
        why=(
            "An IAM user's key (AKIA...) never has a session token; a token belongs to a temporary key (ASIA...). "
            "botocore sends whatever AWS_SESSION_TOKEN / AWS_SECURITY_TOKEN holds with the key, and AWS answers "
            "InvalidClientTokenId ('The security token included in the request is invalid'). Typical cause: a "
            "token left in the shell from an earlier `aws sts` session."
        ),
        fix="`unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN` (keep the long-term key), or export all three variables "
        "from the same session.",
    ),
    Cause(
        code="TD122",
        check="keys",
        name="global-sts-token-opt-in-region",
        severity="error",
        priority=4,
        title="A session token from STS's global endpoint (version 1) is used with an opt-in region",
        why=(
            "Tokens from sts.amazonaws.com are version 1 unless the account's GlobalEndpointTokenVersion is "
            "v2Token, and version 1 tokens are valid only in regions enabled by default. In an opt-in region "
            "(ap-east-1, me-south-1, af-south-1, ...) AWS answers InvalidClientTokenId / AuthFailure. Regional "
            "STS endpoints always issue version 2 tokens."
        ),
        fix=(
            "Get the session from the regional endpoint: `aws sts assume-role --region REGION --endpoint-url "
            "https://sts.REGION.amazonaws.com ...` (or AWS_STS_REGIONAL_ENDPOINTS=regional for the tool that "
            "requests it), or make the global endpoint issue version 2 tokens: `aws iam "
            "set-security-token-service-preferences --global-endpoint-token-version v2Token`."
        ),
    ),
    Cause(
        code="TD201",
        check="credentials",
        name="no-credentials",
        severity="error",
        priority=5,
        title="No credentials were found anywhere in the chain",
        why="botocore raises NoCredentialsError; nothing can sign requests.",
        fix=(
            "Configure a source the SDK can refresh: an instance/container role, or a profile "
            "with role_arn + source_profile, sso_session, or credential_process."
        ),
    ),
    Cause(
        code="TD202",
        check="credentials",
        name="credentials-expired",
        severity="error",
        priority=1,
        title="The credentials the program uses have expired",
        why="AWS rejects every request signed with them: ExpiredToken.",
        fix="Replace them with a source the SDK refreshes (see the other causes for where they came from).",
    ),
    Cause(
        code="TD203",
        check="credentials",
        name="credentials-near-expiry",
        severity="error",
        priority=2,
        title="The credentials expire soon and nothing will refresh them",
        why="Calls start failing with ExpiredToken at the expiry time; a long job will outlive them.",
        fix="Switch to a refreshing source before the job starts (see the other causes).",
    ),
    Cause(
        code="TD204",
        check="credentials",
        name="static-temporary-file",
        severity="warning",
        priority=10,
        title="Temporary session credentials are pasted into a credentials file",
        why=(
            "A profile with aws_session_token is a frozen copy of one session; the SDK cannot "
            "renew it and it dies with ExpiredToken when the session ends."
        ),
        fix=(
            "Replace the pasted keys with a profile the SDK refreshes: role_arn + source_profile, "
            "sso_session, or credential_process."
        ),
    ),
    Cause(
        code="TD205",
        check="credentials",
        name="config-unreadable",
        severity="error",
        priority=3,
        title="An AWS config or credentials file cannot be read or parsed",
        why="botocore raises on a malformed or unreadable file, so no credentials come from it.",
        fix="Fix the file at the line shown (INI sections `[profile name]`, `key = value`).",
    ),
    Cause(
        code="TD206",
        check="credentials",
        name="sso-session-expired",
        severity="error",
        priority=2,
        title="The IAM Identity Center (SSO) login has expired",
        why="The SSO provider needs a valid cached token to fetch role credentials; with it expired every refresh "
        "fails.",
        fix="Run `aws sso login --profile PROFILE` (use sso_session in the profile so the token can refresh itself).",
    ),
    Cause(
        code="TD207",
        check="credentials",
        name="web-identity-token-expired",
        severity="error",
        priority=2,
        title="The web identity token file holds an expired token",
        why="AssumeRoleWithWebIdentity rejects an expired token, so the SDK cannot get or renew credentials.",
        fix="Whatever writes the token file (kubelet projected token, CI OIDC step) stopped rotating it: restart it "
        "or the pod.",
    ),
    Cause(
        code="TD208",
        check="credentials",
        name="conflicting-file-tokens",
        severity="warning",
        priority=9,  # before TD204: the stale aws_security_token is why a freshly written session still fails
        title="A profile has both aws_security_token and aws_session_token, and they differ",
        why="botocore reads aws_security_token first; a stale value there wins over a fresh aws_session_token.",
        fix="Delete the aws_security_token line from the profile.",
    ),
    Cause(
        code="TD209",
        check="credentials",
        name="mfa-blocks-refresh",
        severity="warning",
        priority=20,
        title="The role needs an MFA code each time it is assumed",
        why="With mfa_serial the SDK must prompt for a code to refresh; an unattended job cannot, and dies when the "
        "session ends.",
        fix="For unattended jobs use a role without mfa_serial (e.g. credential_source = Ec2InstanceMetadata) or a "
        "longer DurationSeconds.",
    ),
    Cause(
        code="TD220",
        check="lifetime",
        name="credentials-do-not-last",
        severity="error",
        priority=2,
        title="The credentials will not last as long as the job (--for)",
        why=(
            "Some link between the program and AWS ends before the job does and nothing renews it without a "
            "person: a pasted or exported session, an MFA role, a legacy SSO token, a token file nothing rotates, "
            "or a role whose source is one of these. The first refresh after that instant fails and the job dies "
            "with ExpiredToken."
        ),
        fix=(
            "Replace the limiting link with one botocore renews: a role profile (role_arn + source_profile with "
            "long-term keys, or credential_source = Ec2InstanceMetadata / EcsContainer), an sso_session profile, "
            "or an instance/container role."
        ),
    ),
    Cause(
        code="TD221",
        check="lifetime",
        name="refresh-source-expired",
        severity="error",
        priority=1,
        title="The source the next refresh needs has already expired",
        why=(
            "botocore renews the role's session with its source (source_profile or credential_source). That "
            "source is already expired or no longer rotated, so every AssumeRole fails, whatever the current "
            "credentials say: the program dies at the next refresh."
        ),
        fix="Fix the source: give the source profile long-term keys or sso_session, or restore instance-role rotation.",
    ),
    Cause(
        code="TD222",
        check="lifetime",
        name="role-chaining-session-cap",
        severity="warning",
        priority=26,  # after TD505 (--live saw the chaining itself); as an error it ranks with the errors
        title="The role is assumed with another role's credentials (role chaining): sessions last at most 1 hour",
        why=(
            "STS caps a session at 3600 s when the caller is itself a role session (another role, an IAM "
            "Identity Center or web identity role). botocore re-assumes it every hour; a DurationSeconds above "
            "3600 is refused, and anything that copies the session out (exports, presigned URLs) gets at most 1 h."
        ),
        fix="Remove duration_seconds above 3600, or assume the role from long-term keys (source_profile) or ask "
        "for a longer MaxSessionDuration on a role assumed without chaining.",
    ),
    Cause(
        code="TD223",
        check="lifetime",
        name="role-duration-out-of-range",
        severity="error",
        priority=3,
        title="duration_seconds is outside what STS accepts (900 to 43200)",
        why="AssumeRole rejects DurationSeconds below 900 or above 43200 (ValidationError), so botocore cannot "
        "get or renew the role's credentials.",
        fix="Set duration_seconds between 900 and 43200 (and at most the role's MaxSessionDuration), or remove it "
        "for the 3600 s default.",
    ),
    Cause(
        code="TD224",
        check="lifetime",
        name="credential-process-failed",
        severity="error",
        priority=2,
        title="credential_process fails or returns expired credentials (--allow-process)",
        why="botocore raises the process's error to the program (CredentialRetrievalError), or refreshes, gets "
        "the same expired credentials and raises; no call can be signed.",
        fix="Run the credential_process command by hand, fix what it reports (often a login it needs), and make "
        "it print a fresh Expiration.",
    ),
    Cause(
        code="TD240",
        check="keys",
        name="long-term-key-with-file-token",
        severity="error",
        priority=4,
        title="A profile pairs a long-term access key (AKIA...) with a leftover session token",
        why=(
            "`aws configure` overwrites only the key, the secret, the region and the output format; an "
            "aws_session_token (or aws_security_token) from an earlier session stays in the profile. botocore "
            "sends it with the long-term key and AWS answers InvalidClientTokenId."
        ),
        fix="Delete the aws_session_token and aws_security_token lines from that profile in ~/.aws/credentials "
        "(or ~/.aws/config); keep the key and the secret.",
    ),
    Cause(
        code="TD241",
        check="keys",
        name="placeholder-credentials",
        severity="warning",
        priority=8,
        title="The credentials are a well-known placeholder that only a local emulator accepts",
        why=(
            "test/test (LocalStack), testing and FOOBARKEY (moto), AKIAIOSFODNN7EXAMPLE (AWS documentation) are "
            "accepted by emulators only. With no endpoint override (AWS_ENDPOINT_URL, endpoint_url) the requests "
            "go to AWS, which rejects them (InvalidClientTokenId)."
        ),
        fix="Point the program at the emulator (`export AWS_ENDPOINT_URL=http://localhost:4566` for LocalStack, "
        "`http://localhost:5000` for moto's server), or remove the placeholder keys to use real credentials.",
    ),
    Cause(
        code="TD242",
        check="credentials",
        name="sso-not-logged-in",
        severity="error",
        priority=2,
        title="The SSO profile was never logged in on this machine (no cached token)",
        why=(
            "The SSO provider reads a token that `aws sso login` writes to ~/.aws/sso/cache; there is none for "
            "this profile's sso_session / start URL, so botocore raises (the SSO session is not expired: it never "
            "started here)."
        ),
        fix="Run `aws sso login --profile PROFILE` on this machine (as the user the program runs as).",
    ),
    Cause(
        code="TD243",
        check="credentials",
        name="sso-cache-key-mismatch",
        severity="error",
        priority=2,
        title="An SSO token is cached, but under another spelling of the start URL or session",
        why=(
            "botocore finds the cached token by the SHA-1 of the sso_session name, or (legacy profiles) of the "
            "exact sso_start_url string. A login made with a trailing '/' or '#/', or through another profile "
            "format, is stored under another key, so this profile finds no token."
        ),
        fix="Make sso_start_url (or sso_session) exactly the one you logged in with, or run "
        "`aws sso login --profile PROFILE` with this profile.",
    ),
    Cause(
        code="TD244",
        check="credentials",
        name="login-needs-crt",
        severity="error",
        priority=3,
        title="The `aws login` profile needs botocore[crt], which is not installed",
        why=(
            "A profile with login_session uses the login credential provider, which signs with the AWS CRT; "
            "without it botocore raises MissingDependencyException and the program gets no credentials."
        ),
        fix='`pip install "botocore[crt]"` (or "boto3[crt]") in the environment the program runs in.',
    ),
    Cause(
        code="TD247",
        check="credentials",
        name="login-session-unusable",
        severity="error",
        priority=3,
        title="The `aws login` session is not in this machine's login cache, or botocore cannot read it",
        why=(
            "A login_session profile takes its credentials from the token `aws login` cached under "
            "~/.aws/login/cache (or AWS_LOGIN_CACHE_DIRECTORY). When that entry is missing, incomplete or not "
            "JSON, botocore raises LoginTokenLoadError (or fails reading it) and the program gets no credentials; "
            "nothing in the profile's settings is wrong."
        ),
        fix="Run `aws login --profile PROFILE` on this machine, as the user the program runs as.",
    ),
    Cause(
        code="TD245",
        check="credentials",
        name="credential-process-not-found",
        severity="error",
        priority=3,
        title="The credential_process command does not exist or is not executable",
        why=(
            "botocore runs credential_process without a shell; a command that is not on PATH or not executable "
            "makes every credential load fail (FileNotFoundError / PermissionError), so the profile never "
            "gets credentials."
        ),
        fix="Install the helper or give its absolute path in credential_process, and make it executable "
        "(`chmod +x PATH`).",
    ),
    Cause(
        code="TD246",
        check="kubeconfig",
        name="kubeconfig-profile-broken",
        severity="warning",
        priority=30,
        title="The AWS profile kubectl's exec plugin uses has broken or expired credentials",
        why=(
            "kubectl gets its EKS token by running `aws eks get-token` (or aws-iam-authenticator) with the "
            "profile named in the kubeconfig (`--profile`, or AWS_PROFILE in the exec env). When that profile "
            "cannot produce credentials, kubectl answers 'You must be logged in to the server (Unauthorized)' "
            "or 'getting credentials: exec: executable aws failed with exit code 255', even while this shell's "
            "own credentials work."
        ),
        fix="Fix that profile (`aws sso login --profile PROFILE` for SSO), or point the plugin at a working one: "
        "`aws eks update-kubeconfig --name CLUSTER --profile PROFILE`.",
    ),
    Cause(
        code="TD250",
        check="credentials",
        name="expiry-not-understood",
        severity="warning",
        priority=40,
        title="The credentials state an expiry that cannot be read",
        why=(
            "An expiry source (AWS_CREDENTIAL_EXPIRATION, an x_security_token_expires line, the AWS CLI or SSO "
            "cache, a web identity token's exp claim) holds a value that is no instant (1e20, inf, an offset of "
            "+99:99, year 9999). botocore may refuse the credentials, and when they expire is unknown."
        ),
        fix=(
            "Fix or remove the value: write ISO 8601 UTC (2026-06-18T12:00:00Z) or epoch seconds, or re-run the tool "
            "that wrote it (aws sso login, the login helper)."
        ),
    ),
    Cause(
        code="TD301",
        check="imds",
        name="imds-hop-limit",
        severity="warning",
        priority=4,
        title="The IMDSv2 token request times out while plain metadata requests work (hop limit)",
        why=(
            "The instance's PUT response hop limit is 1, so the token response dies one network hop "
            "short of a container. botocore waits out its timeout on every refresh, then falls back to "
            "IMDSv1; with IMDSv1 disabled (HttpTokens=required) or ec2_metadata_v1_disabled it gets no "
            "credentials at all, and a process holding old ones keeps using them until ExpiredToken."
        ),
        fix=(
            "aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID "
            "--http-put-response-hop-limit 2 --http-endpoint enabled"
        ),
    ),
    Cause(
        code="TD302",
        check="imds",
        name="imds-unreachable",
        severity="warning",
        priority=4,
        title="The instance metadata service does not answer",
        why=(
            "The instance role's credentials come only from IMDS. If it cannot be reached (metadata "
            "disabled on the instance, a firewall or proxy in the way, a network namespace without a "
            "route to 169.254.169.254) botocore finds no role credentials and cannot refresh old ones."
        ),
        fix=(
            "aws ec2 modify-instance-metadata-options --instance-id INSTANCE_ID --http-endpoint enabled "
            "--http-put-response-hop-limit 2; make sure no proxy or iptables rule catches 169.254.169.254 "
            "(NO_PROXY=169.254.169.254)."
        ),
    ),
    Cause(
        code="TD303",
        check="imds",
        name="imds-no-role",
        severity="warning",
        priority=4,
        title="The instance has no IAM role (no instance profile)",
        why=(
            "Instance metadata lists no role under iam/security-credentials/, so the last step of the "
            "chain finds nothing: whatever credentials the program had came from somewhere that does "
            "not rotate them."
        ),
        fix=(
            "aws ec2 associate-iam-instance-profile --instance-id INSTANCE_ID --iam-instance-profile Name=PROFILE_NAME"
        ),
    ),
    Cause(
        code="TD304",
        check="imds",
        name="imds-credentials-stale",
        severity="error",
        priority=1,
        title="Instance metadata serves role credentials that are expired or were not rotated in time",
        why=(
            "IMDS replaces role credentials at least five minutes before they expire. A document that "
            "is inside that window or already expired means rotation stopped. botocore hides this: it "
            "extends expired instance credentials by 15-25 minutes ('static stability') and keeps "
            "signing with them, so AWS answers ExpiredToken."
        ),
        fix=(
            "Re-attach the instance profile to restart rotation: aws ec2 replace-iam-instance-profile-association "
            "--association-id ASSOCIATION_ID --iam-instance-profile Name=PROFILE_NAME (find the id with "
            "aws ec2 describe-iam-instance-profile-associations --filters Name=instance-id,Values=INSTANCE_ID); "
            "check the instance clock too."
        ),
    ),
    Cause(
        code="TD305",
        check="imds",
        name="imds-disabled",
        severity="warning",
        priority=4,  # as TD301-TD303: with nothing else in the chain, TD201 no-credentials is its symptom
        title="Instance metadata is switched off for the SDK on an EC2 instance",
        why=(
            "AWS_EC2_METADATA_DISABLED=true (or metadata_service_num_attempts = 0) makes botocore skip "
            "the instance role entirely, so on EC2 the program can only use credentials that something "
            "else put in place, and those are not rotated."
        ),
        fix="`unset AWS_EC2_METADATA_DISABLED` (and remove metadata_service_num_attempts = 0 from ~/.aws/config).",
    ),
    Cause(
        code="TD306",
        check="container",
        name="container-credentials-failed",
        severity="error",
        priority=2,
        title="The container credentials endpoint (ECS task role / EKS Pod Identity) fails or serves stale credentials",
        why=(
            "With AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI set, botocore takes the role from "
            "that endpoint and raises if it fails, instead of falling back to another source; expired "
            "credentials from it are rejected with ExpiredToken."
        ),
        fix=(
            "Check the task role (ECS: taskRoleArn in the task definition) or the pod identity association "
            "(aws eks list-pod-identity-associations --cluster-name CLUSTER), and that the agent is running."
        ),
    ),
    Cause(
        code="TD307",
        check="imds",
        name="imds-bad-response",
        severity="warning",
        priority=4,
        title="Instance metadata returned an unusable credential document",
        why=(
            "botocore silently ignores a credential document that is not JSON, lacks a field, carries "
            "Code other than Success, or comes with an HTTP error, and moves on without credentials."
        ),
        fix=(
            "A Code other than Success usually means the role cannot be assumed by EC2: check the role's "
            "trust policy allows ec2.amazonaws.com. Otherwise look for a proxy or agent answering on "
            "169.254.169.254 (NO_PROXY=169.254.169.254)."
        ),
    ),
    Cause(
        code="TD330",
        check="credentials",
        name="role-source-unavailable",
        severity="error",
        priority=2,
        title="The role profile's credential_source has no credentials to assume the role with",
        why=(
            "With credential_source = Ec2InstanceMetadata (or EcsContainer) botocore takes the source "
            "credentials from instance metadata (or the container endpoint). When that has no role or fails, "
            "botocore raises CredentialRetrievalError instead of falling back, so the profile gets nothing."
        ),
        fix="Attach an instance profile to the instance (aws ec2 associate-iam-instance-profile --instance-id "
        "INSTANCE_ID --iam-instance-profile Name=PROFILE_NAME), or give the role profile a source_profile instead.",
    ),
    Cause(
        code="TD331",
        check="container",
        name="container-auth-token-unusable",
        severity="error",
        priority=2,
        title="The container authorization token file is missing, unreadable or expired",
        why=(
            "botocore reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE on every credential fetch and sends it to the "
            "agent (EKS Pod Identity); a missing file makes it raise, an expired token is refused by the agent."
        ),
        fix="Check the pod spec mounts the eks-pod-identity token (volume `eks-pod-identity-token`) at that path, "
        "and restart the pod if the token stopped rotating.",
    ),
    Cause(
        code="TD332",
        check="container",
        name="container-uri-refused",
        severity="error",
        priority=2,
        title="botocore refuses the container credentials URI (Unsupported host)",
        why=(
            "botocore fetches AWS_CONTAINER_CREDENTIALS_FULL_URI over plain http only from a loopback address or "
            "the ECS/EKS agent addresses; any other host raises ValueError('Unsupported host ...') and the "
            "container role is never used."
        ),
        fix="Use https, a loopback address, or the agent address (169.254.170.2 for ECS, 169.254.170.23 for EKS "
        "Pod Identity) in AWS_CONTAINER_CREDENTIALS_FULL_URI.",
    ),
    Cause(
        code="TD333",
        check="credentials",
        name="web-identity-token-file-missing",
        severity="error",
        priority=2,
        title="The web identity token file does not exist or cannot be read",
        why=(
            "botocore reads AWS_WEB_IDENTITY_TOKEN_FILE / web_identity_token_file for each AssumeRoleWithWebIdentity "
            "call; a missing or unreadable file fails every credential refresh (the token is not expired: there "
            "is none)."
        ),
        fix="Fix the path (EKS IRSA mounts /var/run/secrets/eks.amazonaws.com/serviceaccount/token when the "
        "service account has the eks.amazonaws.com/role-arn annotation), or write the token before the job starts.",
    ),
    Cause(
        code="TD401",
        check="clock",
        name="clock-skew",
        severity="error",
        priority=3,
        title="The local clock is off by more than --max-skew",
        why=(
            "The SDK decides whether credentials are still good with the local clock; AWS decides with "
            "its own. botocore refreshes 15 minutes before expiry by the local clock, so a clock more than "
            "about 10-15 minutes slow keeps using tokens AWS already rejects (ExpiredToken); a clock off "
            "by more than 5 minutes gets every request rejected as skewed (RequestTimeTooSkewed, "
            "'Signature expired'). botocore never corrects skew."
        ),
        fix=(
            "Synchronize the clock: install chrony; on EC2 add "
            "`server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4` to /etc/chrony/chrony.conf; "
            "`sudo systemctl enable --now chronyd`; `sudo chronyc makestep`; check with `chronyc tracking`."
        ),
    ),
    Cause(
        code="TD402",
        check="clock",
        name="clock-unsynchronized",
        severity="warning",
        priority=20,
        title="Nothing is keeping the clock synchronized",
        why=(
            "With no sync daemon (or the kernel / chrony / systemd reporting 'not synchronized') the clock "
            "drifts; once it is minutes off, credentials look valid to the SDK after AWS has expired them."
        ),
        fix=(
            "`sudo systemctl enable --now chronyd` (Debian/Ubuntu: chrony) or `sudo timedatectl set-ntp true`; "
            "check with `chronyc tracking` or `timedatectl show`."
        ),
    ),
    Cause(
        code="TD403",
        check="clock",
        name="time-source-unreachable",
        severity="warning",
        priority=40,
        title="No NTP server answered usably, so the clock could not be measured",
        why=(
            "Not a cause by itself: without a reference tokendoctor cannot rule clock skew out, and a "
            "machine that cannot reach its time server will drift."
        ),
        fix=(
            "Allow outbound UDP 123 to the server, or on EC2 use Amazon Time Sync (169.254.169.123, no "
            "internet needed); or pass a reachable one with --ntp-server HOST[:PORT]."
        ),
    ),
    Cause(
        code="TD501",
        check="live",
        name="token-rejected-expired",
        severity="error",
        priority=5,
        title="STS rejected the credentials as expired (checked live)",
        why=(
            "GetCallerIdentity with the credentials the SDK resolved returned ExpiredToken or "
            "RequestExpired: this is the very error the program sees, confirmed on this machine now."
        ),
        fix=(
            "Replace the expired session with a refreshable source (a role profile in ~/.aws/config, "
            "the instance or container role, SSO) and unset the exported/pasted session."
        ),
    ),
    Cause(
        code="TD502",
        check="live",
        name="token-invalid",
        severity="error",
        priority=6,
        title="STS does not recognise the credentials (checked live)",
        why=(
            "InvalidClientTokenId: the key is wrong or deleted, the key and the session token come from "
            "different sources, or a token from the global STS endpoint is used in an opt-in region. "
            "Some SDKs report this in the same breath as ExpiredToken."
        ),
        fix=(
            "Make the key, secret and token come from one source (unset the stale variable), and use "
            "regional STS endpoints (AWS_STS_REGIONAL_ENDPOINTS=regional) for opt-in regions."
        ),
    ),
    Cause(
        code="TD503",
        check="live",
        name="request-time-skewed",
        severity="error",
        priority=4,
        title="AWS rejected the request because of this machine's clock (checked live)",
        why=(
            "RequestTimeTooSkewed or SignatureDoesNotMatch with a time message: the signed request's "
            "timestamp is too far from AWS's, so valid credentials look expired or invalid."
        ),
        fix="Synchronise the clock (chrony against Amazon Time Sync on EC2, or any NTP server) and retry.",
    ),
    Cause(
        code="TD504",
        check="process",
        name="process-outlived-credentials",
        severity="error",
        priority=0,  # before TD202: same expiry, plus the process's timeline and the need to restart it
        title="The process has run longer than its static temporary credentials can live",
        why=(
            "The process was started with temporary credentials in its environment. Nothing refreshes "
            "environment credentials, so once their session ended every call it makes fails with "
            "ExpiredToken, however the shell looks now."
        ),
        fix=(
            "Start the job with a refreshable source instead of exported keys: a role profile "
            "(role_arn + source_profile/credential_source) in ~/.aws/config, or the instance/container "
            "role; or request a session at least as long as the job (DurationSeconds, up to the role's "
            "MaxSessionDuration)."
        ),
    ),
    Cause(
        code="TD505",
        check="live",
        name="role-chaining-cap",
        severity="warning",
        priority=25,
        title="Role chaining caps the session at one hour",
        why=(
            "Credentials from an assumed role were used to assume another role. AWS limits chained "
            "role sessions to 1 hour whatever DurationSeconds or MaxSessionDuration say."
        ),
        fix=(
            "Assume the target role directly from long-term or instance/container credentials "
            "(source_profile with user keys, or credential_source), or let the SDK re-assume it "
            "(a role profile refreshes automatically)."
        ),
    ),
    Cause(
        code="TD506",
        check="sdk",
        name="sdk-uses-other-source",
        severity="warning",
        priority=12,
        title="This SDK uses different credentials than the AWS CLI / boto3 would",
        why=(
            "Each AWS SDK walks its own documented chain: Java 2.x reads -Daws.* system properties first, "
            "JavaScript v3 skips environment keys when AWS_PROFILE is set, Go v2 only lets a profile given in "
            "code beat environment keys. The credentials you checked with the CLI (`aws sts get-caller-identity`, "
            "`aws configure list`) are then not the ones the failing program uses, and their expiry tells you nothing."
        ),
        fix="Inspect and fix the source this SDK uses (see the SDK chain table), or remove it so the SDK reaches the "
        "refreshable one.",
    ),
    Cause(
        code="TD507",
        check="sdk",
        name="java-system-property-credentials",
        severity="warning",
        priority=11,
        title="Credentials are passed as Java system properties (-Daws.accessKeyId ...)",
        why=(
            "The Java SDKs read aws.accessKeyId / aws.secretKey (1.x) or aws.secretAccessKey (2.x) and "
            "aws.sessionToken from the JVM's system properties: first of all sources in 2.x, right after the "
            "environment in 1.x. They are fixed when the JVM starts; a session passed this way expires and is never "
            "refreshed, and it hides every profile and role."
        ),
        fix="Remove the -Daws.* credential properties from the java command line (and JAVA_TOOL_OPTIONS); use a role "
        "profile or the instance/container role.",
    ),
    Cause(
        code="TD508",
        check="sdk",
        name="sdk-reads-other-profile",
        severity="warning",
        priority=11,  # before TD506: reading another profile is why this SDK ends up with other credentials
        title="This SDK selects a different profile than the AWS CLI / boto3",
        why=(
            "botocore prefers AWS_DEFAULT_PROFILE over AWS_PROFILE; the Java SDKs and JavaScript v3 do not read "
            "AWS_DEFAULT_PROFILE at all, Go v2 prefers AWS_PROFILE, and Java also reads -Daws.profile. With both "
            "variables set (or a system property), the program and the CLI use different profiles."
        ),
        fix="Set only AWS_PROFILE (`unset AWS_DEFAULT_PROFILE`) and drop -Daws.profile, so every SDK selects the same "
        "profile.",
    ),
    Cause(
        code="TD509",
        check="sdk",
        name="sdk-env-variable-aliases",
        severity="warning",
        priority=22,
        title="This SDK reads environment credentials from variables the AWS CLI ignores",
        why=(
            "Java 1.x and Go v2 also accept AWS_ACCESS_KEY / AWS_SECRET_KEY (Java 1.x even prefers AWS_SECRET_KEY "
            "over AWS_SECRET_ACCESS_KEY); botocore prefers AWS_SECURITY_TOKEN over AWS_SESSION_TOKEN, which no "
            "other SDK reads. Stale copies in those names give the program a different (expired) key, secret or "
            "token than the one the CLI shows."
        ),
        fix="Unset AWS_ACCESS_KEY, AWS_SECRET_KEY and AWS_SECURITY_TOKEN; export one consistent set of "
        "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or none.",
    ),
    Cause(
        code="TD510",
        check="live",
        name="sts-unreachable",
        severity="warning",
        priority=60,
        title="STS did not answer the live check",
        why=(
            "GetCallerIdentity got no answer (connection refused, timeout, TLS or proxy error), so the "
            "credentials could not be verified. A program that cannot reach STS cannot assume or refresh "
            "a role either, and its calls fail as soon as the current session ends."
        ),
        fix=(
            "Check the endpoint settings (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, endpoint_url, "
            "AWS_STS_REGIONAL_ENDPOINTS, the region), the proxy (HTTPS_PROXY/NO_PROXY) and outbound HTTPS."
        ),
    ),
    Cause(
        code="TD511",
        check="inprocess",
        name="static-session-in-code",
        severity="error",
        priority=0,  # before TD202/TD501: the expired session is this frozen copy, and why it never renews
        title="The program built its own static copy of a temporary session, and nothing refreshes it",
        why=(
            "The program passed an AssumeRole (or login tool) session's keys and token to boto3.Session() or "
            "client() itself (Airflow hooks, dbt adapters, s3fs, wrapper scripts do this). botocore wraps them "
            "in a plain Credentials object that never refreshes, so every call fails with ExpiredToken once the "
            "session ends, while `tokendoctor check` sees a healthy profile outside the process. Seen by the "
            "in-process hook (tokendoctor run, tokendoctor.hook.install())."
        ),
        fix=(
            "Let botocore build and refresh the session instead of copying its keys once:\n"
            "  # ~/.aws/config\n"
            "  [profile job]\n"
            "  role_arn = arn:aws:iam::ACCOUNT:role/ROLE\n"
            "  source_profile = default        # or: credential_source = Ec2InstanceMetadata\n"
            "  # in the program, instead of handing the session's keys and token to boto3.Session(...):\n"
            '  session = boto3.Session(profile_name="job")\n'
            "or, when the program must call AssumeRole itself, give botocore a refresher:\n"
            "  from botocore.credentials import DeferredRefreshableCredentials\n"
            "  from botocore.session import get_session\n"
            "  def refresh():\n"
            '      c = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="job")["Credentials"]\n'
            '      return {"access_key": c["AccessKeyId"], "secret_key": c["SecretAccessKey"],\n'
            '              "token": c["SessionToken"], "expiry_time": c["Expiration"].isoformat()}\n'
            "  core = get_session()\n"
            '  core._credentials = DeferredRefreshableCredentials(refresh_using=refresh, method="sts-assume-role")\n'
            "  session = boto3.Session(botocore_session=core)"
        ),
    ),
    Cause(
        code="TD901",
        check="runner",
        name="check-crashed",
        severity="warning",
        priority=90,
        title="A tokendoctor check failed unexpectedly",
        why="Part of the diagnosis is missing; the rest of the report still stands.",
        fix="Re-run with --debug and report the output (secrets are masked).",
    ),
    Cause(
        code="TD902",
        check="runner",
        name="check-timed-out",
        severity="warning",
        priority=90,
        title="A check did not finish within the deadline",
        why="Part of the diagnosis is missing; a probe hung or the network is slow.",
        fix="Re-run with a larger --timeout, or with --offline.",
    ),
    Cause(
        code="TD903",
        check="runner",
        name="credential-checks-unfinished",
        severity="warning",
        priority=5,
        title="The credential chain could not be analysed within the deadline",
        why=(
            "There is no diagnosis of the credentials: botocore's chain did not finish within --timeout (a huge "
            "config, a slow file system, a file that blocks). The exit code is 3, never 0."
        ),
        fix="Re-run with a larger --timeout; if it still does not finish, look for a huge or blocking AWS config file.",
    ),
    # ---- explain-only causes (issue 11): read from pasted error text; no check emits them
    Cause(
        code="TD520",
        check="explain",
        name="eks-exec-credentials-failed",
        severity="error",
        priority=20,
        title="kubectl's exec plugin (aws eks get-token) could not get AWS credentials",
        why=(
            "The kubeconfig's users[].user.exec runs `aws eks get-token` (or aws-iam-authenticator) for a "
            "token; that command failed (exit code 255 is the AWS CLI's 'could not get credentials'), so "
            "kubectl sends no token at all. The cause is in the AWS credentials of the profile the exec "
            "entry uses (its env AWS_PROFILE, or --profile in its args), not in Kubernetes."
        ),
        fix=(
            "Run the exec command by hand to see its error: `aws eks get-token --cluster-name CLUSTER "
            "--profile PROFILE` (PROFILE from `kubectl config view --minify -o "
            "jsonpath='{.users[0].user.exec.env}'`), then `AWS_PROFILE=PROFILE tokendoctor check` and fix what "
            "it reports (often `aws sso login --profile PROFILE`)."
        ),
    ),
    Cause(
        code="TD521",
        check="explain",
        name="eks-unauthorized",
        severity="error",
        priority=21,
        title="The EKS cluster rejected the token kubectl sent (Unauthorized)",
        why=(
            "kubectl got a token, but the cluster did not accept it: the IAM principal that signed it has "
            "no access entry (or aws-auth mapping) in this cluster, it is another principal than you think "
            "(a different profile or role), or the token expired (15 minutes) or was signed with a clock "
            "that is off."
        ),
        fix=(
            "See which principal signs the token: `aws sts get-caller-identity --profile PROFILE` (the "
            "exec entry's profile); grant it access: `aws eks create-access-entry --cluster-name CLUSTER "
            "--principal-arn ARN` and `aws eks associate-access-policy ...` (or map it in the aws-auth "
            "ConfigMap); check the clock with `tokendoctor check`."
        ),
    ),
    Cause(
        code="TD522",
        check="explain",
        name="duration-exceeds-max-session",
        severity="error",
        priority=22,
        title="The requested session is longer than the role's MaxSessionDuration",
        why=(
            "AssumeRole (and AssumeRoleWithSAML/WebIdentity) fails with ValidationError when "
            "DurationSeconds is above the role's MaxSessionDuration (1 hour unless raised, at most 12 "
            "hours), so no credentials are issued at all."
        ),
        fix=(
            "Ask for at most the role's maximum (`duration_seconds = 3600` in the profile, or the tool's "
            "duration flag), or raise it: `aws iam update-role --role-name ROLE --max-session-duration "
            "43200` (see it with `aws iam get-role --role-name ROLE --query Role.MaxSessionDuration`)."
        ),
    ),
    Cause(
        code="TD523",
        check="explain",
        name="presigned-url-expired",
        severity="error",
        priority=23,
        title="The presigned URL's own lifetime (X-Amz-Expires) has passed",
        why=(
            "A presigned URL is valid from X-Amz-Date for X-Amz-Expires seconds; S3 answers AccessDenied "
            "'Request has expired' after that, whatever the credentials that signed it."
        ),
        fix=(
            "Generate a new URL when it is needed (not ahead of time), or sign it with a longer lifetime "
            "(`aws s3 presign s3://BUCKET/KEY --expires-in SECONDS`, at most 7 days, and never longer "
            "than the signing credentials live)."
        ),
    ),
    Cause(
        code="TD524",
        check="explain",
        name="presigned-url-outlived-session",
        severity="error",
        priority=24,
        title="The presigned URL was signed with a temporary session that ended before the URL did",
        why=(
            "A presigned URL is only as good as the credentials that signed it: S3 answers ExpiredToken "
            "once the session behind X-Amz-Security-Token ends, even if X-Amz-Expires has not passed "
            "(a URL signed by a role, SSO or instance session lives at most as long as that session)."
        ),
        fix=(
            "Sign URLs that must live long with credentials that outlive them: long-term keys of a "
            "dedicated IAM user allowed only s3:GetObject on that bucket, or a role session at least as "
            "long as X-Amz-Expires (DurationSeconds up to the role's MaxSessionDuration); or give the URL "
            "a lifetime shorter than the session's remaining time."
        ),
    ),
    Cause(
        code="TD525",
        check="explain",
        name="sso-cache-unreadable-format",
        severity="error",
        priority=25,
        title="The SSO token cache was written in a format this SDK cannot read",
        why=(
            "~/.aws/sso/cache/*.json is shared by every tool; one that wrote expiresAt as "
            "'2021-12-11T07:18:18UTC' (old AWS CLI v2 builds) or with a local offset makes SDKs that "
            "demand RFC 3339 UTC (Go, Rust, Terraform's provider) fail to load the token, although "
            "`aws` itself still works."
        ),
        fix=(
            "Update the AWS CLI v2 and log in again so the cache is rewritten in RFC 3339: "
            "`aws sso login --profile PROFILE` (or delete the stale ~/.aws/sso/cache/*.json first)."
        ),
    ),
)
CAUSES: dict[str, Cause] = {c.code: c for c in _CAUSES}
BY_NAME: dict[str, Cause] = {c.name: c for c in _CAUSES}


def get(code: str) -> Cause:
    return CAUSES[code]
