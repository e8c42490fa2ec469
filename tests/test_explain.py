"""`tokendoctor explain`: a corpus of real-looking error texts per SDK, the CLI (argv and stdin),
the JSON schema, and secrets pasted into the text never coming out."""

from __future__ import annotations

import io
import json
import shlex
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from tokendoctor.cli import cli, main
from tokendoctor.explain import MAX_INPUT_CHARS, READ_MARGIN_CHARS, explain, scrub
from tokendoctor.timefmt import parse_time

CORPUS = Path(__file__).parent / "corpus" / "explain"
SCHEMA = json.loads(files("tokendoctor").joinpath("resources/explain.schema.json").read_text())

# file: family, service, operation, sdk, request id, http status, skew seconds, first cause
EXPECTED: dict[str, tuple] = {
    "java-v1-s3-expired-token.txt": (
        "ExpiredToken",
        "s3",
        "PutObject",
        "java-v1",
        "C043EEA5A00B5DF8",
        400,
        None,
        "TD202",
    ),
    "java-v1-imds-expired-token.txt": (
        "ExpiredToken",
        "sqs",
        "ReceiveMessage",
        "java-v1",
        "6f1c2b0e-8d4a-5b7e-9c3f-2a1d0e4b6c88",
        403,
        None,
        "TD304",
    ),
    "java-v1-dynamodb-unrecognized-client.txt": (
        "UnrecognizedClientException",
        "dynamodb",
        "GetItem",
        "java-v1",
        "R8L5B1LS2V3TFM0QH4VK7PA3PNVV4KQNSO5AEMVJF66Q9ASUAAJG",
        400,
        None,
        "TD104",
    ),
    "java-v1-no-credentials.txt": ("NoCredentials", "s3", "ListBuckets", "java-v1", None, None, None, "TD201"),
    "java-v2-sts-expired-token.txt": (
        "ExpiredToken",
        "sts",
        "GetCallerIdentity",
        "java-v2",
        "69d599e0-7b94-4cf4-a564-fc698225471f",
        403,
        None,
        "TD202",
    ),
    "java-v2-no-credentials.txt": ("NoCredentials", None, None, "java-v2", None, None, None, "TD201"),
    "python-s3-expired-token.txt": ("ExpiredToken", None, "PutObject", "python", None, None, None, "TD202"),
    "python-signature-expired.txt": (
        "InvalidSignatureException",
        None,
        "CompareFaces",
        "python",
        None,
        None,
        -200813,
        "TD503",
    ),
    "python-no-credentials.txt": ("NoCredentials", None, None, "python", None, None, None, "TD201"),
    "python-sso-token-expired.txt": ("SSOTokenExpired", None, None, "python", None, None, None, "TD206"),
    "python-refreshed-still-expired.txt": (
        "RefreshedCredentialsExpired",
        None,
        None,
        "python",
        None,
        None,
        None,
        "TD304",
    ),
    "python-mfa-refresh.txt": ("MFARequired", None, None, "python", None, None, None, "TD209"),
    "python-web-identity-expired.txt": (
        "WebIdentityTokenExpired",  # the message names the web identity token (issue 11); code ExpiredTokenException
        None,
        "AssumeRoleWithWebIdentity",
        "python",
        None,
        None,
        None,
        "TD207",
    ),
    "cli-s3-expired-token.txt": ("ExpiredToken", "s3", "ListObjectsV2", "cli", None, None, None, "TD202"),
    "cli-sts-invalid-client-token.txt": (
        "InvalidClientTokenId",
        "sts",
        "GetCallerIdentity",
        "cli",
        None,
        None,
        None,
        "TD104",
    ),
    "go-v2-sts-expired-token.txt": (
        "ExpiredToken",
        "sts",
        "GetCallerIdentity",
        "go-v2",
        "87fecadb-d8fc-43ac-8147-a6f49179ce6d",
        403,
        None,
        "TD202",
    ),
    "go-v2-imds-no-role.txt": ("NoCredentials", "ec2imds", "GetMetadata", "go-v2", None, 404, None, "TD303"),
    "go-v2-imds-timeout-eks.txt": (
        "NoCredentials",
        "elbv2",
        "DescribeLoadBalancers",
        "go-v2",
        None,
        None,
        None,
        "TD301",
    ),
    "go-v1-sqs-expired-token.txt": (
        "ExpiredToken",
        None,
        None,
        "go-v1",
        "0b1f3c8e-2d4a-5e6f-8a9b-7c6d5e4f3a2b",
        403,
        None,
        "TD202",
    ),
    "go-v1-kinesis-signature-expired.txt": (
        "InvalidSignatureException",
        None,
        None,
        "go-v1",
        "9a2bed25-8fc4-11e5-b0cc-6bf2f0e1ff85",
        400,
        -931,
        "TD503",
    ),
    "go-v1-ec2-request-expired.txt": (
        "RequestExpired",
        None,
        None,
        "go-v1",
        "334f1126-6632-4a95-afbe-987edcc34246",
        400,
        None,
        "TD401",  # RequestExpired with no sign of expired credentials: the clock first (issue 11)
    ),
    "js-v3-sqs-expired-token.txt": (
        "ExpiredToken",
        "sqs",
        None,
        "js-v3",
        "5b9f0c1e-3a5d-5c9e-9d0e-0f2b7a6c1d44",
        403,
        None,
        "TD202",
    ),
    "js-v3-credentials-provider.txt": ("NoCredentials", "dynamodb", None, "js-v3", None, None, None, "TD201"),
    "js-v2-signature-expired.txt": ("InvalidSignatureException", None, None, "js-v2", None, 400, -1078, "TD503"),
    "serverless-signature-not-yet-current.txt": ("SignatureNotYetCurrent", None, None, None, None, None, 314, "TD503"),
    "php-s3-request-time-too-skewed.txt": (
        "RequestTimeTooSkewed",
        "s3",
        "PutObject",
        "php",
        "9E09E2E8D09D863C",
        403,
        3583,
        "TD503",
    ),
    "s3-xml-request-time-too-skewed.txt": (
        "RequestTimeTooSkewed",
        None,
        None,
        None,
        "2J8ZFVZVVRA4T7CF",
        None,
        -172802,
        "TD503",
    ),
    "s3-xml-presigned-url-expired.txt": (
        "PresignedUrlExpired",
        None,
        None,
        None,
        "7QF1B9X3K2M8P4RS",
        None,
        None,
        "TD523",
    ),
    "s3-raw-http-expired-token-with-secrets.txt": (
        "PresignedUrlSessionExpired",  # ExpiredToken on a presigned GET signed by a session (issue 11)
        "s3",
        None,
        None,
        "4B3F9C2A1D7E6F50",
        400,
        None,
        "TD524",
    ),
    "unrecognised-connection-refused.txt": (None, None, None, "python", None, None, None, None),
    # issue 11: real texts from public bug reports (SOURCES.md cites each)
    "java-v2-web-identity-token-expired.txt": (
        "WebIdentityTokenExpired",
        "sts",
        None,
        "java-v2",
        "22679931-6a1d-4db3-abd0-a189de181809",
        400,
        None,
        "TD207",
    ),
    "python-web-identity-token-expired-orbit.txt": (
        "WebIdentityTokenExpired",
        None,
        "AssumeRoleWithWebIdentity",
        "python",
        None,
        None,
        None,
        "TD207",
    ),
    "eks-exec-aws-exit-255.txt": ("EKSExecCredentialsFailed", None, None, None, None, None, None, "TD520"),
    "eks-kubectl-unauthorized.txt": ("EKSUnauthorized", None, None, None, None, None, None, "TD521"),
    "cli-role-chaining-duration.txt": (
        "RoleChainingSessionLimit",
        None,
        "AssumeRole",
        "cli",
        None,
        None,
        None,
        "TD505",
    ),
    "go-v1-max-session-duration.txt": (
        "MaxSessionDurationExceeded",
        None,
        None,
        "go-v1",
        "3ff3d68f-6d61-11e8-83f8-014ef402c6d5",
        400,
        None,
        "TD522",
    ),
    "dotnet-retrieved-credentials-expired.txt": (
        "RetrievedCredentialsExpired",
        None,
        None,
        "dotnet",
        None,
        None,
        None,
        "TD304",
    ),
    "rust-sso-cache-rfc3339.txt": ("SSOCacheUnreadable", None, None, None, None, None, None, "TD525"),
    "php-s3-presigned-request-has-expired.txt": (
        "PresignedUrlExpired",
        None,
        None,
        None,
        "E4952EE21FC53CD9",
        None,
        None,
        "TD523",
    ),
    # tools built on the SDKs (Serverless, Pulumi, Terraform, Airflow, Athena JDBC, luigi)
    "serverless-recoverable-expired-token.txt": ("ExpiredToken", None, None, None, None, None, None, "TD202"),
    "pulumi-s3-backend-expired-token.txt": (
        "ExpiredToken",
        None,
        None,
        "go-v1",
        "Y45095KT8PN4FZ82",
        400,
        None,
        "TD202",
    ),
    "terraform-eks-wait-expired-token.txt": (
        "ExpiredTokenException",
        None,
        None,
        None,
        "a16bb54f-d47d-4283-b431-70f06fb0112f",
        403,
        None,
        "TD202",
    ),
    "terraform-provider-sts-expired-token.txt": (
        "ExpiredToken",
        "sts",
        "GetCallerIdentity",
        "go-v2",
        "965f3755-14db-4dd7-b50c-c51ae59aa85b",
        403,
        None,
        "TD202",
    ),
    "airflow-sqs-invalid-client-token.txt": (
        "InvalidClientTokenId",
        "sqs",
        None,
        None,
        "3016929b-9c59-56ca-9e92-dc14d7be036f",
        None,
        None,
        "TD104",
    ),
    "athena-jdbc-expired-token.txt": ("ExpiredToken", None, None, None, None, None, None, "TD202"),
    "luigi-assume-role-expired-token.txt": ("ExpiredToken", None, "AssumeRole", "python", None, None, None, "TD202"),
}

# An ExpiredToken answer to a presigned URL signed by a temporary session (built from the SigV4
# query-auth parameters S3 documents; no public report pastes the URL and the answer together).
PRESIGNED_SESSION_ENDED = (
    "curl 'https://bucket.s3.amazonaws.com/report.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=ASIAEXAMPLE00000WXYZ%2F20240301%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20240301T100000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host"
    "&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE0123456789abcdefABCDEF0123456789abcdef"
    "&X-Amz-Signature=" + "ab12" * 16 + "'\n"
    "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message>"
    "<RequestId>7QF1B9X3K2M8P4RT</RequestId></Error>"
)

#: Explain-only causes (catalogue ``check="explain"``): each ranks first in `explain --json` for a
#: realistic text (test_ranking.py's coverage test accepts these codes).
EXPLAIN_RANKING: dict[str, str] = {
    "TD520": "eks-exec-aws-exit-255.txt",
    "TD521": "eks-kubectl-unauthorized.txt",
    "TD522": "go-v1-max-session-duration.txt",
    "TD523": "php-s3-presigned-request-has-expired.txt",
    "TD524": "<PRESIGNED_SESSION_ENDED>",
    "TD525": "rust-sso-cache-rfc3339.txt",
}
SECRET_MARKERS = (
    "ASIATDMARKER0000WXYZ",
    "IQoJb3JpZ2luX2VjEXAMPLEtdMarker",
    "tdMarkerSESSION",
    "tdMarkerUrlToken0002",
    "tdMarkerSecret0003",
    "tdMarkerEnvToken0004",
    "tdMarkerJavaSecret0005",
)


def _text(name: str) -> str:
    return (CORPUS / name).read_text()


def test_corpus_and_table_agree():
    assert sorted(p.name for p in CORPUS.glob("*.txt")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus(name):
    family, service, operation, sdk, request_id, status, skew, first = EXPECTED[name]
    result = explain(_text(name))
    err = result.error
    assert (err.family, err.service, err.operation, err.sdk, err.request_id, err.http_status, err.skew_seconds) == (
        family,
        service,
        operation,
        sdk,
        request_id,
        status,
        skew,
    )
    assert (result.causes[0].code if result.causes else None) == first
    if family is None:
        assert (result.status, result.exit_code, result.confirm) == ("unrecognised", 0, ())
    else:
        assert result.exit_code == 1 and result.status == "error"
        assert result.confirm and all(c.startswith("tokendoctor check") for c in result.confirm)
        assert len({c.code for c in result.causes}) == len(result.causes)


def test_skew_direction_and_tolerance_come_from_the_message():
    ahead = explain(_text("php-s3-request-time-too-skewed.txt")).error
    assert (ahead.skew_direction, ahead.max_skew_seconds) == ("ahead", 900)
    assert (ahead.request_time, ahead.server_time) == ("2015-06-04T23:25:59Z", "2015-06-04T22:26:16Z")
    behind = explain(_text("js-v2-signature-expired.txt")).error
    assert (behind.skew_direction, behind.max_skew_seconds, behind.category) == ("behind", 900, "clock")
    future = explain(_text("serverless-signature-not-yet-current.txt")).error
    assert (future.skew_direction, future.max_skew_seconds, future.server_time) == (
        "ahead",
        300,
        "2018-11-20T21:10:29Z",
    )


def test_presigned_url_expiry_is_read():
    err = explain(_text("s3-xml-presigned-url-expired.txt")).error
    assert (err.code, err.expires_at, err.server_time, err.skew_seconds) == (
        "AccessDenied",
        "2024-03-01T11:00:00Z",
        "2024-03-01T12:10:05Z",
        None,
    )


def test_time_formats():
    assert parse_time("20240101T000500Z").isoformat() == "2024-01-01T00:05:00+00:00"
    assert parse_time("2024-01-01T00:05:00.123Z").isoformat() == "2024-01-01T00:05:00.123000+00:00"
    assert parse_time("Mon, 01 Jan 2024 00:05:00 GMT").isoformat() == "2024-01-01T00:05:00+00:00"
    assert parse_time("yesterday") is None


def test_context_clues_reorder_the_causes():
    plain = "An error occurred (ExpiredToken) when calling the GetObject operation: The provided token has expired."
    assert explain(plain).causes[0].code == "TD202"
    on_ec2 = plain + "\nbotocore.credentials Found credentials from IAM Role: app-role (InstanceMetadataProvider)"
    assert explain(on_ec2).causes[0].code == "TD304"
    in_ecs = (
        plain
        + "\nbotocore.credentials Found credentials in container provider (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)"
    )
    assert explain(in_ecs).causes[0].code == "TD306"
    chained = plain + "\n$ aws sts assume-role --role-arn arn:aws:iam::111122223333:role/deploy"
    codes = [c.code for c in explain(chained).causes]
    assert "TD505" in codes and codes.index("TD505") < codes.index("TD204")
    # an AKIA key is long-term: it cannot be an exported session
    akia = plain + " key AKIAIOSFODNN7EXAMPLE"
    assert "TD101" not in [c.code for c in explain(akia).causes]


def test_confirm_commands_match_the_sdk_and_are_valid_check_invocations():
    result = explain(_text("java-v2-sts-expired-token.txt"))
    assert result.confirm == ("tokendoctor check --live --sdk java-v2", "tokendoctor check --pid PID --sdk java-v2")
    clock = explain(_text("python-signature-expired.txt"))
    assert clock.confirm == ("tokendoctor check --live --ntp-server time.aws.com --sdk python",)
    imds = explain(_text("java-v1-imds-expired-token.txt"))
    assert imds.confirm[0] == "tokendoctor check --live --imds --sdk java-v1"
    check = cli.commands["check"]
    for name in EXPECTED:
        for command in explain(_text(name)).confirm:
            args = shlex.split(command.replace("PID", "4242"))[2:]
            ctx = check.make_context("check", list(args))  # raises on an unknown flag or a bad --sdk value
            assert ctx.params["live"] == ("--live" in args)


def test_scrub_masks_every_credential_shape():
    text = _text("s3-raw-http-expired-token-with-secrets.txt")
    masked = scrub(text)
    for marker in SECRET_MARKERS:
        assert marker in text and marker not in masked
    assert "ASIA…WXYZ" in masked
    assert "<Token-0>****</Token-0>" in masked
    assert "4B3F9C2A1D7E6F50" in masked  # request ids survive


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--format", "json", "-v"], ["-v"]])
def test_secrets_never_come_out(fmt, capsys):
    text = _text("s3-raw-http-expired-token-with-secrets.txt")
    assert main(["explain", *fmt, text]) == 1
    out, err = capsys.readouterr()
    for marker in SECRET_MARKERS:
        assert marker not in out and marker not in err
    if fmt and "json" in " ".join(fmt):
        assert json.loads(out)["error"]["access_key_id"] == "ASIA…WXYZ"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_json_output_validates(name, capsys):
    rc = main(["explain", "--json", _text(name)])
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["exit_code"] == rc and doc["kind"] == "explain" and doc["schema_version"] == 1
    assert doc["error"]["family"] == EXPECTED[name][0]


def _stdin(monkeypatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))


def test_reads_stdin_with_dash_or_no_argument(monkeypatch, capsys):
    data = _text("go-v2-sts-expired-token.txt").encode()
    _stdin(monkeypatch, data)
    assert main(["explain", "-", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["error"]["service"] == "sts"
    _stdin(monkeypatch, data)
    assert main(["explain"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("ExpiredToken (expired) from sts GetCallerIdentity, go-v2 SDK")
    assert "tokendoctor check --live --sdk go-v2" in out


def test_text_report(capsys):
    assert main(["explain", _text("php-s3-request-time-too-skewed.txt")]) == 1
    out = capsys.readouterr().out
    assert "RequestTimeTooSkewed (clock) from s3 PutObject, php SDK" in out
    assert "was 59 min 43 s ahead of AWS (skew +3583 s, AWS allows 900 s)" in out
    assert "1. ERROR TD503 request-time-skewed" in out
    assert "(checked live)" not in out


def test_non_utf8_stdin_is_replaced_not_fatal(monkeypatch, capsys):
    _stdin(
        monkeypatch,
        b"\xff\xfe An error occurred (RequestExpired) when calling the DescribeInstances operation: Request has "
        b"expired.\n",
    )
    assert main(["explain", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert (doc["error"]["family"], doc["error"]["operation"]) == ("RequestExpired", "DescribeInstances")


@pytest.mark.parametrize("filler", [MAX_INPUT_CHARS, MAX_INPUT_CHARS + READ_MARGIN_CHARS])
def test_only_the_first_mebibyte_is_explained(monkeypatch, capsys, filler):
    """Masked first, then cut to a MiB: an error past the first MiB of (masked) text is not read."""
    late = b"x " * (filler // 2) + b"\nAn error occurred (ExpiredToken) when calling the GetObject operation: expired"
    _stdin(monkeypatch, late)
    assert main(["explain", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "unrecognised"


@pytest.mark.parametrize("data", [b"", b"  \n\t\n"])
def test_empty_input_is_a_usage_error(monkeypatch, capsys, data):
    _stdin(monkeypatch, data)
    assert main(["explain"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "tokendoctor: error: no error text: the input is empty\n"
    assert main(["explain", "   "]) == 2


def test_unrecognised_text_exits_0(capsys):
    assert main(["explain", _text("unrecognised-connection-refused.txt")]) == 0
    assert capsys.readouterr().out.startswith("Not recognised:")


@pytest.mark.parametrize("code", sorted(EXPLAIN_RANKING))
def test_explain_only_cause_ranks_first(code, capsys):
    source = EXPLAIN_RANKING[code]
    text = PRESIGNED_SESSION_ENDED if source == "<PRESIGNED_SESSION_ENDED>" else _text(source)
    assert main(["explain", "--json", text]) == 1
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["causes"][0]["code"] == code


def test_presigned_url_says_what_ended_first_and_when():
    ended = explain(PRESIGNED_SESSION_ENDED)
    assert ended.error.family == "PresignedUrlSessionExpired"
    assert ended.error.presigned == {
        "signed_at": "2024-03-01T10:00:00Z",
        "lifetime_seconds": 604800,
        "expires_at": "2024-03-08T10:00:00Z",
        "signed_with": "temporary-session",
    }
    evidence = ended.causes[0].evidence
    assert evidence["url_expires_at"] == "2024-03-08T10:00:00Z" and evidence["signed_with"] == "temporary-session"
    assert "IQoJ" not in json.dumps(ended.error.to_dict())
    own = explain(_text("php-s3-presigned-request-has-expired.txt"))
    assert (own.error.expires_at, own.error.server_time) == ("2017-07-20T04:18:45Z", "2017-07-20T04:18:55Z")
    assert own.error.presigned == {
        "signed_at": None,
        "lifetime_seconds": 300,
        "expires_at": None,
        "signed_with": None,
    }


def test_request_expired_ranks_credentials_first_when_the_text_shows_them():
    text = (
        "An error occurred (RequestExpired) when calling the DescribeInstances operation: Request has expired.\n"
        "botocore.credentials Found credentials from IAM Role: app-role (InstanceMetadataProvider)"
    )
    assert explain(text).causes[0].code != "TD401"
    assert explain(_text("go-v1-ec2-request-expired.txt")).causes[0].code == "TD401"


def test_corpus_sources_are_cited():
    sources = (CORPUS / "SOURCES.md").read_text()
    for name in EXPECTED:
        assert f"`{name}`" in sources, name


def test_a_presigned_url_pasted_alone_says_what_ends_it_and_when():
    url = PRESIGNED_SESSION_ENDED.split("\n", 1)[0].removeprefix("curl '").rstrip("'")
    alone = explain(url)
    assert (alone.error.family, alone.error.category) == ("PresignedUrl", "other")
    assert [c.code for c in alone.causes][:2] == ["TD524", "TD523"]
    assert alone.causes[0].evidence["url_expires_at"] == "2024-03-08T10:00:00Z"
    long_term = explain(url.replace("ASIAEXAMPLE00000WXYZ", "AKIAEXAMPLE00000WXYZ").split("&X-Amz-Security-Token")[0])
    assert [c.code for c in long_term.causes][:1] == ["TD523"] and "TD524" not in [c.code for c in long_term.causes]
