"""CI platform detection from each platform's per-job variables, and the platform-specific fixes.

The variable sets below are what each platform's documentation lists as set in every job
(names from the docs; values are harmless placeholders, token values are markers that must
never be printed).  They were written from the documentation, not captured from live jobs.
"""

from __future__ import annotations

import datetime as dt
import json
from importlib.resources import files
from typing import Any

import jsonschema
import pytest

from tests.conftest import Machine
from tests.test_ranking import jwt
from tokendoctor.cli import main
from tokendoctor.probes import ci
from tokendoctor.probes.platform import detect

SCHEMA = json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text(encoding="utf-8"))
OIDC_MARKERS = {
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "ghREQUESTtokenMARKER01",
    "CIRCLE_OIDC_TOKEN": "circleOIDCtokenMARKER02",
    "CIRCLE_OIDC_TOKEN_V2": "circleOIDCv2tokenMARKER03",
    "BITBUCKET_STEP_OIDC_TOKEN": "bitbucketOIDCtokenMARKER04",
    "BUILDKITE_AGENT_ACCESS_TOKEN": "buildkiteAGENTtokenMARKER05",
}

ENVIRONMENTS: dict[str, dict[str, str]] = {
    # docs.github.com: "Store information in variables" (default environment variables)
    "github-actions": {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_WORKFLOW": "deploy",
        "GITHUB_RUN_ID": "1658821493",
        "GITHUB_REPOSITORY": "octo-org/octo-repo",
        "RUNNER_OS": "Linux",
        "RUNNER_ENVIRONMENT": "github-hosted",
        # present when the job has `permissions: id-token: write`
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://pipelines.actions.githubusercontent.invalid/abc/idtoken?api-version=2.0",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": OIDC_MARKERS["ACTIONS_ID_TOKEN_REQUEST_TOKEN"],
    },
    # docs.gitlab.com: "Predefined CI/CD variables reference"
    "gitlab-ci": {
        "CI": "true",
        "GITLAB_CI": "true",
        "CI_JOB_ID": "50",
        "CI_PIPELINE_ID": "1000",
        "CI_SERVER_URL": "https://gitlab.example.com",
        "CI_PROJECT_PATH": "group/project",
        "CI_RUNNER_ID": "10",
    },
    # circleci.com/docs: "Project values and variables" (built-in environment variables) and "OpenID Connect tokens"
    "circleci": {
        "CI": "true",
        "CIRCLECI": "true",
        "CIRCLE_BUILD_NUM": "123",
        "CIRCLE_JOB": "deploy",
        "CIRCLE_PROJECT_REPONAME": "app",
        "CIRCLE_OIDC_TOKEN": OIDC_MARKERS["CIRCLE_OIDC_TOKEN"],
        "CIRCLE_OIDC_TOKEN_V2": OIDC_MARKERS["CIRCLE_OIDC_TOKEN_V2"],
    },
    # support.atlassian.com: "Variables and secrets" (default variables) and "Integrate Pipelines ... using OIDC"
    "bitbucket-pipelines": {
        "CI": "true",
        "BITBUCKET_BUILD_NUMBER": "42",
        "BITBUCKET_REPO_SLUG": "app",
        "BITBUCKET_WORKSPACE": "team",
        "BITBUCKET_PIPELINE_UUID": "{0f3c1d2e-0000-4000-8000-000000000000}",
        "BITBUCKET_STEP_OIDC_TOKEN": OIDC_MARKERS["BITBUCKET_STEP_OIDC_TOKEN"],
    },
    # docs.aws.amazon.com/codebuild: "Environment variables in build environments"
    "codebuild": {
        "CODEBUILD_BUILD_ID": "app-build:8f3d5c1e-0000-4000-8000-000000000000",
        "CODEBUILD_BUILD_NUMBER": "7",
        "CODEBUILD_SRC_DIR": "/codebuild/output/src123/src",
        "AWS_REGION": "eu-west-1",
    },
    # buildkite.com/docs: "Environment variables"
    "buildkite": {
        "CI": "true",
        "BUILDKITE": "true",
        "BUILDKITE_BUILD_NUMBER": "1514",
        "BUILDKITE_JOB_ID": "e44f9784-0000-4000-8000-000000000000",
        "BUILDKITE_PIPELINE_SLUG": "app",
        "BUILDKITE_AGENT_ACCESS_TOKEN": OIDC_MARKERS["BUILDKITE_AGENT_ACCESS_TOKEN"],
    },
    # jenkins.io: "Using environment variables" (env-vars.html)
    "jenkins": {
        "JENKINS_URL": "https://jenkins.example.com/",
        "BUILD_ID": "311",
        "BUILD_NUMBER": "311",
        "JOB_NAME": "deploy",
        "JENKINS_HOME": "/var/jenkins_home",
        "NODE_NAME": "built-in",
    },
}
OIDC = {
    "github-actions": True,
    "gitlab-ci": None,
    "circleci": True,
    "bitbucket-pipelines": True,
    "codebuild": None,
    "buildkite": None,
    "jenkins": None,
}


@pytest.mark.parametrize("kind", sorted(ENVIRONMENTS))
def test_each_platform_from_its_documented_variables(machine: Machine, kind: str) -> None:
    machine.env.update(ENVIRONMENTS[kind])
    plat = detect(machine.context())
    assert plat.kind == kind
    assert plat.ci is not None and plat.ci.kind == kind
    assert plat.ci.oidc is OIDC[kind]
    assert plat.ci.credentials == "none"
    assert not plat.on_ec2
    data = plat.to_dict()
    assert data["ci"]["kind"] == kind and all(m not in json.dumps(data) for m in OIDC_MARKERS.values())


def test_no_ci_outside_ci(machine: Machine) -> None:
    machine.env.update(CI="true")  # generic, set by many tools: not enough on its own
    plat = detect(machine.context())
    assert plat.kind == "none" and plat.ci is None and "ci" not in plat.to_dict()


def test_github_without_id_token_permission_has_no_oidc(machine: Machine) -> None:
    env = {k: v for k, v in ENVIRONMENTS["github-actions"].items() if not k.startswith("ACTIONS_ID_TOKEN")}
    assert ci.detect(env) == ci.CiPlatform("github-actions", ["GITHUB_ACTIONS=true"], False, "none")


@pytest.mark.parametrize(
    ("env", "mode"),
    [
        ({"AWS_ACCESS_KEY_ID": "ASIAX", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}, "exported-session"),
        ({"AWS_WEB_IDENTITY_TOKEN_FILE": "/tmp/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/r"}, "web-identity-file"),
        ({"AWS_PROFILE": "ci"}, "other"),
        ({"AWS_ACCESS_KEY_ID": "AKIAX", "AWS_SECRET_ACCESS_KEY": "s"}, "other"),
        ({}, "none"),
    ],
)
def test_exported_session_versus_token_file(env: dict[str, str], mode: str) -> None:
    assert ci.credential_mode(env) == mode


def test_the_runner_location_wins_the_kind_but_ci_is_still_reported(machine: Machine) -> None:
    # A GitLab runner pod on EKS with IRSA: credentials come from the pod's token file.
    machine.env.update(
        ENVIRONMENTS["gitlab-ci"],
        KUBERNETES_SERVICE_HOST="10.0.0.1",
        AWS_WEB_IDENTITY_TOKEN_FILE="/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
    )
    plat = detect(machine.context())
    assert plat.kind == "eks-irsa" and plat.ci is not None and plat.ci.kind == "gitlab-ci"
    assert plat.ci.credentials == "web-identity-file"


def test_self_hosted_jenkins_on_ec2(machine: Machine) -> None:
    machine.file("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2\n")
    machine.env.update(ENVIRONMENTS["jenkins"])
    plat = detect(machine.context())
    assert (plat.kind, plat.on_ec2) == ("jenkins", True)
    assert any("sys_vendor" in e for e in plat.evidence)


# ------------------------------------------------------------------ through the CLI


def _check(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any], str]:
    for name, value in machine.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(machine.root))
    outputs = []
    for fmt in (["--format", "github"], ["--format", "junit"], ["--format", "text", "-v"], ["--json"]):
        rc = main(["check", "--offline", *args, *fmt])
        out = capsys.readouterr()
        outputs.append(out.out + out.err)
    text = "\n".join(outputs)
    for marker in (*OIDC_MARKERS.values(), "ci-secret-MARKER-7a1e", "ci-token-MARKER-0c3f"):
        assert marker not in text
    doc = json.loads(outputs[-1])
    jsonschema.validate(doc, SCHEMA)
    return rc, doc, text


SESSION = {
    "AWS_ACCESS_KEY_ID": "ASIACIPLATFORMSSWXYZ",
    "AWS_SECRET_ACCESS_KEY": "ci-secret-MARKER-7a1e",
    "AWS_SESSION_TOKEN": "ci-token-MARKER-0c3f",
}


@pytest.mark.parametrize(
    ("kind", "option"),
    [
        ("github-actions", "role-duration-seconds: 7200"),
        ("gitlab-ci", "--duration-seconds"),
        ("circleci", "`session_duration`"),
        ("bitbucket-pipelines", "--duration-seconds"),
        ("buildkite", "`role-session-duration`"),
        ("codebuild", "credential_source = EcsContainer"),
        ("jenkins", "credential_source = Ec2InstanceMetadata"),
    ],
)
def test_exported_session_gets_the_platforms_own_fix(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], kind: str, option: str
) -> None:
    machine.env.update({**ENVIRONMENTS[kind], **SESSION})
    rc, doc, _ = _check(machine, monkeypatch, capsys)
    top = doc["causes"][0]
    assert top["code"] == "TD101" and top["evidence"]["ci"] == kind
    assert option in top["fix"]
    assert doc["platform"]["kind"] == kind
    assert doc["platform"]["ci"]["credentials"] == "exported-session"
    assert rc == 0  # TD101 is a warning: the exit-code contract is unchanged


def test_outside_ci_the_generic_fix_stays(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(SESSION)
    _, doc, _ = _check(machine, monkeypatch, capsys)
    assert doc["causes"][0]["code"] == "TD101" and "ci" not in doc["causes"][0]["evidence"]
    assert doc["causes"][0]["fix"].startswith("These are a copy of one STS session")


def test_gitlab_token_file_expired_gets_the_id_tokens_advice(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    token = machine.base / "gitlab-id-token"
    exp = int((dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)).timestamp())
    token.write_text(jwt({"exp": exp, "iss": "https://gitlab.example.com", "aud": "sts.amazonaws.com"}))
    machine.env.update(
        ENVIRONMENTS["gitlab-ci"],
        AWS_WEB_IDENTITY_TOKEN_FILE=str(token),
        AWS_ROLE_ARN="arn:aws:iam::123456789012:role/ci",
    )
    rc, doc, _ = _check(machine, monkeypatch, capsys)
    td207 = next(c for c in doc["causes"] if c["code"] == "TD207")
    assert "GitLab CI: an `id_tokens:` token is valid for the job's timeout" in td207["fix"]
    assert doc["platform"]["ci"] == {
        "kind": "gitlab-ci",
        "evidence": ["GITLAB_CI=true", "credentials: web-identity-file"],
        "oidc": False,  # no id_tokens variable in the environment (the token came from a file)
        "credentials": "web-identity-file",
        "id_tokens": [],
    }
    assert rc == 1


def test_gitlab_id_tokens_recognised_by_issuer_and_never_shown(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    signature = "gitlabIDTOKENsignatureMARKER"
    token = jwt({"iss": "https://gitlab.example.com", "aud": "sts.amazonaws.com", "exp": 4102444800})
    token = token.rsplit(".", 1)[0] + "." + signature
    other = jwt({"iss": "https://someone-else.example", "aud": "x"})  # not this GitLab's: ignored
    machine.env.update(ENVIRONMENTS["gitlab-ci"], AWS_ID_TOKEN=token, VAULT_ID_TOKEN=other)
    _, doc, text = _check(machine, monkeypatch, capsys)
    ci_doc = doc["platform"]["ci"]
    assert ci_doc["oidc"] is True
    assert ci_doc["id_tokens"] == [{"variable": "AWS_ID_TOKEN", "aud": "sts.amazonaws.com"}]
    assert "id_tokens: AWS_ID_TOKEN (aud sts.amazonaws.com)" in ci_doc["evidence"]
    assert signature not in text and token not in text


def test_gitlab_without_id_tokens_has_no_oidc(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(ENVIRONMENTS["gitlab-ci"])
    _, doc, _ = _check(machine, monkeypatch, capsys)
    assert doc["platform"]["ci"]["oidc"] is False and doc["platform"]["ci"]["id_tokens"] == []
