"""Which CI system runs this job, and how it hands AWS credentials to it (environment variables only).

Entry point: :func:`detect` (pure: a mapping in, a :class:`CiPlatform` out).  Each platform is
recognised by the variable its documentation promises in every job; OIDC availability by the
variable that carries the token (or the token request URL).  Token *values* are never read:
only whether the variable is set.  The fix texts cite the option that controls the session
length in each platform's usual AWS integration (docs/ci.md lists the sources).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

CredentialMode = Literal["exported-session", "web-identity-file", "other", "none"]


@dataclass(frozen=True)
class _Spec:
    kind: str
    marker: str
    """The variable (and value, after ``=``) the platform sets in every job."""
    oidc: tuple[str, ...] = ()
    """Variables whose presence means an OIDC token is available to this job."""


#: Documented per-job variables.  Order matters only for machines that set several.
_SPECS: tuple[_Spec, ...] = (
    _Spec("github-actions", "GITHUB_ACTIONS=true", ("ACTIONS_ID_TOKEN_REQUEST_URL",)),
    _Spec("gitlab-ci", "GITLAB_CI=true"),
    _Spec("circleci", "CIRCLECI=true", ("CIRCLE_OIDC_TOKEN_V2", "CIRCLE_OIDC_TOKEN")),
    _Spec("bitbucket-pipelines", "BITBUCKET_BUILD_NUMBER", ("BITBUCKET_STEP_OIDC_TOKEN",)),
    _Spec("codebuild", "CODEBUILD_BUILD_ID"),
    _Spec("buildkite", "BUILDKITE=true"),
    _Spec("jenkins", "JENKINS_URL"),
)
KINDS: tuple[str, ...] = tuple(s.kind for s in _SPECS)


@dataclass(frozen=True)
class CiPlatform:
    kind: str
    evidence: list[str] = field(default_factory=list)
    oidc: bool | None = None
    """An OIDC token is offered to this job (``None``: cannot be told from variable names,
    e.g. GitLab ``id_tokens`` are named by the user, Buildkite tokens come from ``buildkite-agent``)."""
    credentials: CredentialMode = "none"
    """How AWS credentials reach this job: a session exported as variables, a web identity token
    file the SDK re-reads, something else (profile, container role), or nothing yet."""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "evidence": list(self.evidence), "oidc": self.oidc, "credentials": self.credentials}


def _matches(env: Mapping[str, str], marker: str) -> bool:
    name, _, value = marker.partition("=")
    return bool(env.get(name)) and (not value or env.get(name, "").lower() == value)


def credential_mode(env: Mapping[str, str]) -> CredentialMode:
    if env.get("AWS_ACCESS_KEY_ID") and (env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN")):
        return "exported-session"
    if env.get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        return "web-identity-file"
    if any(
        env.get(v)
        for v in (
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        )
    ):
        return "other"
    return "none"


def detect(env: Mapping[str, str]) -> CiPlatform | None:
    for spec in _SPECS:
        if not _matches(env, spec.marker):
            continue
        evidence = [f"{spec.marker} is set" if "=" not in spec.marker else spec.marker]
        oidc: bool | None = None
        if spec.oidc:
            offered = [v for v in spec.oidc if env.get(v)]
            oidc = bool(offered)
            evidence += [f"{v} is set" for v in offered]
        mode = credential_mode(env)
        if mode != "none":
            evidence.append(f"credentials: {mode}")
        return CiPlatform(spec.kind, evidence, oidc, mode)
    return None


# ----------------------------------------------------------------- fixes

_WEB_IDENTITY_FILE = (
    "or let the SDK refresh: write the OIDC token to a file and export AWS_ROLE_ARN and "
    "AWS_WEB_IDENTITY_TOKEN_FILE (botocore re-reads the file on every refresh, so the file must hold a valid "
    "token then)."
)

_SESSION_FIXES: dict[str, str] = {
    "github-actions": (
        "GitHub Actions: aws-actions/configure-aws-credentials exported this session; it lasts `role-duration-seconds` "
        "(default 3600 = 1 hour; 900 to 43200, never more than the role's MaxSessionDuration, and at most 1 hour when "
        "the role is assumed from another role's session, e.g. `role-chaining: true`). For a longer job:\n"
        "  - uses: aws-actions/configure-aws-credentials@v4\n"
        "    with:\n"
        "      role-to-assume: arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME\n"
        "      aws-region: REGION\n"
        "      role-duration-seconds: 7200\n"
        "and raise the role's limit if needed: "
        "`aws iam update-role --role-name ROLE_NAME --max-session-duration 7200`. "
        "Or run the action again right before the step that needs it (the job needs `permissions: id-token: write`). "
        "A `web-identity-token-file` setup only helps if something rewrites the file: GitHub's ID token is short-lived."
    ),
    "gitlab-ci": (
        "GitLab CI: the session came from `aws sts assume-role-with-web-identity --web-identity-token $ID_TOKEN` "
        "(an `id_tokens:` token with `aud: sts.amazonaws.com`). Pass `--duration-seconds` longer than the job "
        "(up to the role's MaxSessionDuration), "
        + _WEB_IDENTITY_FILE
        + " A GitLab ID token is valid for the job's timeout."
    ),
    "circleci": (
        "CircleCI: the aws-cli orb's `assume_role_with_web_identity` exported this session for `session_duration` "
        'seconds (default "3600"). Set `session_duration` longer than the job (up to the role\'s MaxSessionDuration), '
        + _WEB_IDENTITY_FILE.replace("the OIDC token", "$CIRCLE_OIDC_TOKEN_V2")
    ),
    "bitbucket-pipelines": (
        "Bitbucket Pipelines: with `oidc: true` on the step, pass `--duration-seconds` longer than the step to "
        '`aws sts assume-role-with-web-identity --web-identity-token "$BITBUCKET_STEP_OIDC_TOKEN"`, '
        + _WEB_IDENTITY_FILE.replace("the OIDC token", "$BITBUCKET_STEP_OIDC_TOKEN")
    ),
    "buildkite": (
        "Buildkite: the aws-assume-role-with-web-identity plugin exported this session; set its "
        "`role-session-duration` longer than the job (up to the role's MaxSessionDuration), or run the step on "
        "agents with an instance profile so the SDK refreshes on its own."
    ),
    "codebuild": (
        "CodeBuild: the project's service role is already served to the build through the container credentials "
        "endpoint, and the SDK refreshes it. Do not export an assumed session in the buildspec: put the target role "
        "in a profile (`role_arn = ...` with `credential_source = EcsContainer`) and use AWS_PROFILE."
    ),
    "jenkins": (
        "Jenkins: a `withCredentials`/`withAWS` block exported a fixed session for its duration. Run the agent with "
        "an instance profile (or IRSA on Kubernetes) and a role profile (`role_arn = ...` with "
        "`credential_source = Ec2InstanceMetadata`), so the SDK assumes and refreshes the role itself."
    ),
}


def session_fix(ci: CiPlatform | None) -> str:
    """The platform's own remedy for an exported session that outlives its job ('' when none)."""
    return _SESSION_FIXES.get(ci.kind, "") if ci else ""


def token_file_fix(ci: CiPlatform | None) -> str:
    """What to change when a CI job's web identity token file goes stale ('' outside CI)."""
    if ci is None:
        return ""
    if ci.kind == "github-actions":
        return (
            " GitHub Actions: the ID token behind ACTIONS_ID_TOKEN_REQUEST_URL is short-lived; a file written once "
            "is stale before a long job ends. Re-fetch it before it expires, or use "
            "aws-actions/configure-aws-credentials with `role-duration-seconds` longer than the job."
        )
    if ci.kind == "gitlab-ci":
        return (
            " GitLab CI: an `id_tokens:` token is valid for the job's timeout; raise the job's `timeout:` "
            "or re-run the job."
        )
    return (
        f" {ci.kind}: write a fresh token into the file before the old one expires, "
        "or request a session longer than the job."
    )
