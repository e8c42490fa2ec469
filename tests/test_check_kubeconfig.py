"""The kubeconfig check through the real CLI: which AWS profile kubectl's exec plugin uses, and that
profile's credentials diagnosed (nothing is run)."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pytest

from tests.conftest import Machine
from tokendoctor.cli import main

CLUSTER = "arn:aws:eks:eu-west-1:123456789012:cluster/prod"
GOOD_DEFAULT = "[default]\naws_access_key_id = AKIAGOODGOODGOODGOOD\naws_secret_access_key = kube-secret-MARKER-9e1\n"
SSO_EKS = (
    "[profile eks]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
    "sso_account_id = 123456789012\nsso_role_name = Dev\n"
)


def kubeconfig(exec_lines: str, user: str = CLUSTER) -> str:
    """What `aws eks update-kubeconfig` writes (block style), with the given exec section."""
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- cluster:\n    server: https://ABC.gr7.eu-west-1.eks.amazonaws.com\n  name: {CLUSTER}\n"
        f"contexts:\n- context:\n    cluster: {CLUSTER}\n    user: {user}\n  name: {CLUSTER}\n"
        f"current-context: {CLUSTER}\n"
        f"users:\n- name: {user}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
        + exec_lines
    )


AWS_EKS_ENV = (
    "      command: aws\n      args:\n      - --region\n      - eu-west-1\n      - eks\n      - get-token\n"
    "      - --cluster-name\n      - prod\n      - --output\n      - json\n"
    "      env:\n      - name: AWS_PROFILE\n        value: eks\n"
)


def run_cli(machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    for name, value in machine.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(machine.root))
    rc = main(["check", "--json", "--offline"])
    out = capsys.readouterr()
    assert "kube-secret-MARKER-9e1" not in out.out + out.err
    doc: dict[str, Any] = json.loads(out.out)
    assert doc["exit_code"] == rc
    return doc


def write_kube(machine: Machine, text: str) -> None:
    path = machine.home / ".kube" / "config"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def codes(doc: dict[str, Any]) -> list[str]:
    return [c["code"] for c in doc["causes"]]


def test_exec_env_profile_never_logged_in(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.config(GOOD_DEFAULT + SSO_EKS)
    write_kube(machine, kubeconfig(AWS_EKS_ENV))
    doc = run_cli(machine, monkeypatch, capsys)
    assert codes(doc) == ["TD246"]
    td246 = doc["causes"][0]
    assert td246["evidence"]["profile"] == "eks" and td246["evidence"]["profile_source"] == "exec.env AWS_PROFILE"
    assert td246["evidence"]["chain_winner"] == "sso" and td246["evidence"]["current_context"] is True
    assert "`aws sso login --profile eks`" in td246["fix"]
    assert "aws eks update-kubeconfig --name prod" in td246["fix"]
    diagnosed = doc["kubeconfig"]["diagnosed"][0]
    assert diagnosed["method"] == "sso" and "never logged in" in diagnosed["problem"]


def test_profile_argument_with_expired_pasted_session(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    expired = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    machine.config(GOOD_DEFAULT)
    machine.credentials(
        "[ops]\naws_access_key_id = ASIAOPSOPSOPSOPSOPS1\naws_secret_access_key = kube-secret-MARKER-9e1\n"
        f"aws_session_token = tok\nx_security_token_expires = {expired}\n"
    )
    write_kube(
        machine,
        kubeconfig(
            "      command: aws\n      args: [eks, get-token, --cluster-name, prod, --profile, ops, "
            "--role-arn, 'arn:aws:iam::123456789012:role/k8s-admin']\n"
        ),
    )
    doc = run_cli(machine, monkeypatch, capsys)
    td246 = next(c for c in doc["causes"] if c["code"] == "TD246")
    assert td246["evidence"]["profile"] == "ops" and td246["evidence"]["profile_source"] == "--profile"
    assert td246["evidence"]["role_arn"] == "arn:aws:iam::123456789012:role/k8s-admin"
    assert "expired" in td246["evidence"]["problem"]


def test_aws_iam_authenticator_with_working_profile_is_quiet(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.config(GOOD_DEFAULT + "[profile k8s]\nrole_arn = arn:aws:iam::1:role/k8s\nsource_profile = default\n")
    write_kube(
        machine,
        kubeconfig(
            "      command: aws-iam-authenticator\n      args: [token, -i, prod, -r, 'arn:aws:iam::1:role/x']\n"
            "      env:\n      - name: AWS_PROFILE\n        value: k8s\n"
        ),
    )
    doc = run_cli(machine, monkeypatch, capsys)
    assert "TD246" not in codes(doc)
    row = doc["kubeconfig"]["diagnosed"][0]
    assert row["profile"] == "k8s" and row["method"] == "assume-role" and row["problem"] is None
    assert doc["kubeconfig"]["exec_users"][0]["cluster"] == "prod"
    assert doc["kubeconfig"]["exec_users"][0]["role_arn"] == "arn:aws:iam::1:role/x"


def test_same_credentials_as_this_shell_are_left_to_the_credentials_check(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.config(SSO_EKS.replace("[profile eks]", "[default]"))
    write_kube(machine, kubeconfig("      command: aws\n      args: [eks, get-token, --cluster-name, prod]\n"))
    doc = run_cli(machine, monkeypatch, capsys)
    assert "TD246" not in codes(doc) and "TD242" in codes(doc)
    assert doc["kubeconfig"]["diagnosed"][0]["same_as_this_shell"] is True


def test_kubeconfig_variable_merges_files_and_ignores_other_plugins(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.config(GOOD_DEFAULT + SSO_EKS)
    other = machine.base / "gke.yaml"
    other.write_text(
        "users:\n- name: gke\n  user:\n    exec:\n      command: gke-gcloud-auth-plugin\n"
        "- name: plain\n  user:\n    token: abc\n"
    )
    eks = machine.base / "eks.yaml"
    eks.write_text(kubeconfig(AWS_EKS_ENV))
    machine.env["KUBECONFIG"] = os.pathsep.join([str(other), str(machine.base / "absent.yaml"), str(eks)])
    doc = run_cli(machine, monkeypatch, capsys)
    assert [u["name"] for u in doc["kubeconfig"]["exec_users"]] == [CLUSTER]
    assert codes(doc) == ["TD246"]


@pytest.mark.parametrize(
    "content",
    ["users: [unclosed\n", "- just\n- a list\n", "users:\n- name: x\n  user:\n    exec: 5\n", "\x00\x01binary"],
)
def test_hostile_kubeconfig_is_a_problem_not_a_crash(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    machine.credentials(GOOD_DEFAULT)
    write_kube(machine, content)
    doc = run_cli(machine, monkeypatch, capsys)
    kube = next(c for c in doc["checks"] if c["name"] == "kubeconfig")
    assert kube["status"] == "skipped" and "TD901" not in codes(doc)


def test_kubeconfig_that_is_a_fifo_is_not_opened(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = machine.base / "kubefifo"
    os.mkfifo(fifo)
    machine.env["KUBECONFIG"] = str(fifo)
    doc = run_cli(machine, monkeypatch, capsys)  # would block forever if opened
    assert doc["kubeconfig"]["problems"] == [f"{fifo} is not a regular file"]
