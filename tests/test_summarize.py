"""``tokendoctor summarize``: files, folders and S3 (moto's server on loopback), through the real CLI."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.fleet_reports import dumps, report
from tests.servers.moto import moto_server
from tokendoctor.cli import main
from tokendoctor.summarize.fleet import Fleet, host_name, parse_report

SUMMARY_SCHEMA = json.loads(files("tokendoctor").joinpath("resources/summary.schema.json").read_text(encoding="utf-8"))
REPORT_SCHEMA = json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text(encoding="utf-8"))


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(["summarize", *argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    return rc, out.out, out.err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    rc, out, _ = _run(capsys, "--json", *argv)
    doc = json.loads(out)
    jsonschema.validate(doc, SUMMARY_SCHEMA)
    assert doc["exit_code"] == rc
    return rc, doc


def test_generated_reports_are_real_check_documents() -> None:
    for i in (0, 97, 131, 500):
        jsonschema.validate(report(i), REPORT_SCHEMA)


def test_a_real_check_report_is_summarised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIASUMMARIZESESWXYZ")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "summarize-secret-MARKER")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "summarize-token-MARKER")
    main(["check", "--offline", "--json"])
    real = capsys.readouterr().out
    (tmp_path / "real.json").write_text(real)
    rc, doc = _json(capsys, str(tmp_path))
    assert rc == 0 and doc["reports"] == 1
    assert doc["causes"][0]["code"] == "TD101" and doc["methods"] == {"env": 1}
    assert doc["causes"][0]["sample_hosts"] == [json.loads(real)["host"]["hostname"] or "real"]
    assert "summarize-secret-MARKER" not in json.dumps(doc)


def test_folder_with_good_bad_and_hostile_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = tmp_path / "fleet"
    (fleet / "nested" / "deeper").mkdir(parents=True)
    for i in range(40):
        (fleet / ("nested" if i % 2 else "") / f"r{i}.json").write_bytes(dumps(report(i)))
    (fleet / "nested" / "deeper" / "stdout").write_bytes(
        b"Collecting tokendoctor\nInstalling...\n" + dumps(report(1000))
    )
    (fleet / "garbage.json").write_text("{not json")
    (fleet / "other.json").write_text('{"hello": 1}')
    (fleet / "future.json").write_text('{"schema_version": 2, "causes": []}')
    (fleet / "huge.json").write_bytes(b" " * (4 * 1024 * 1024 + 1))
    (fleet / "ignored.txt").write_text("not a report name")
    (fleet / "link.json").symlink_to(fleet / "r0.json")  # never followed
    os.mkfifo(fleet / "pipe.json")  # would block a naive reader
    rc, doc = _json(capsys, str(fleet), str(tmp_path / "missing"))
    assert doc["reports"] == 41
    reasons = {Path(u["name"]).name: u["reason"] for u in doc["unreadable"]["named"]}
    assert reasons == {
        "garbage.json": "not JSON",
        "other.json": "not a tokendoctor check report",
        "future.json": "unsupported schema_version 2",
        "huge.json": "larger than 4194304 bytes",
        "pipe.json": "not a regular file",
        "link.json": "symbolic link: not followed",
        "missing": "No such file or directory",
    }
    assert doc["unreadable"]["count"] == 7 and not doc["unreadable"]["truncated"]
    expected = Fleet()
    for i in [*range(40), 1000]:
        expected.add(report(i), f"r{i}.json")
    assert doc["failing"] == expected.failing and rc == (1 if expected.failing else 0)
    assert [(c["code"], c["hosts"]) for c in doc["causes"]] == [(c, r.hosts) for c, r in expected.ranked_causes()]
    assert sum(b["hosts"] for b in doc["clock_offsets"]["buckets"]) + doc["clock_offsets"]["unknown"] == 41
    assert sum(doc["methods"].values()) == 41
    assert {c["name"] for c in doc["checks"]} == {"imds", "clock"}  # r0 and r1000 hit the timeout/crash rows


def test_causes_worst_first_with_sample_hosts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for i in range(300):
        (tmp_path / f"{i}.json").write_bytes(dumps(report(i)))
    _rc, out, _ = _run(capsys, str(tmp_path))
    lines = out.splitlines()
    start = lines.index("Causes, worst first (hosts)")
    rows = lines[start + 1 : lines.index("", start)]
    severities = [row.split()[2] for row in rows]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert "(+" in rows[0] and "ip-10-0-" in rows[0]
    assert "Clock offset, absolute (hosts)" in out and "Credential chains" in out


def test_host_name_from_report_else_from_the_path() -> None:
    doc = report(5)
    assert host_name(doc, "x.json") == "ip-10-0-0-5 (i-00000000000000005)"
    bare = report(5, host=False)
    assert (
        host_name(bare, "s3://b/runs/cmd-1/i-0123456789abcdef0/awsrunShellScript/tokendoctor/stdout")
        == "i-0123456789abcdef0"
    )
    assert host_name(bare, "/reports/web-3.json") == "web-3"
    hostile = {**bare, "host": {"hostname": "\x1b[31mred\x1b[0m\n" + "x" * 1000}}
    assert "\x1b" not in host_name(hostile, "x") and len(host_name(hostile, "x")) == 255


def test_parse_report_takes_the_document_after_installer_output() -> None:
    doc, problem = parse_report(b"pip output\nmore {not json}\n" + dumps(report(3)))
    assert doc is not None and doc["host"]["hostname"] == "ip-10-0-0-3" and problem == ""


def test_nothing_readable_is_exit_3_and_no_arguments_is_usage(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "bad.json").write_text("[]")
    rc, doc = _json(capsys, str(tmp_path))
    assert rc == 3 and doc["reports"] == 0 and doc["unreadable"]["count"] == 1
    rc, _, err = _run(capsys)
    assert rc == 2 and err.startswith("tokendoctor: error:")


def test_unreadable_names_are_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    fleet = Fleet()
    for i in range(1500):
        fleet.add_unreadable(f"r{i}", "not JSON")
    from tokendoctor.render.summary import document

    doc = document(fleet)
    assert (
        doc["unreadable"]["count"] == 1500
        and len(doc["unreadable"]["named"]) == 1000
        and doc["unreadable"]["truncated"]
    )
    jsonschema.validate(doc, SUMMARY_SCHEMA)


# ------------------------------------------------------------------ S3 (moto's server on loopback)


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def s3(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASUMMARIZETEST123")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "summarize-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_url)
    client = boto3.session.Session().client("s3", endpoint_url=moto_url, region_name="us-east-1")
    for bucket in ("fleet-reports",):
        client.create_bucket(Bucket=bucket)
    yield client
    for page in client.get_paginator("list_objects_v2").paginate(Bucket="fleet-reports"):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket="fleet-reports", Key=obj["Key"])
    client.delete_bucket(Bucket="fleet-reports")


def test_s3_run_command_output_layout(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Run Command's S3 output: PREFIX/COMMAND_ID/INSTANCE_ID/awsrunShellScript/STEP/stdout (and stderr)
    for i in range(1, 26):
        base = f"runs/0b6e-cmd/i-{i:017x}/awsrunShellScript/tokendoctor"
        s3.put_object(Bucket="fleet-reports", Key=f"{base}/stdout", Body=dumps(report(i, host=i % 5 != 0)))
        s3.put_object(Bucket="fleet-reports", Key=f"{base}/stderr", Body=b"pip: warning")
    s3.put_object(
        Bucket="fleet-reports",
        Key="runs/0b6e-cmd/i-00000000000000099/awsrunShellScript/tokendoctor/stdout",
        Body=b"tokendoctor: command not found\n",
    )
    s3.put_object(Bucket="fleet-reports", Key="runs/big.json", Body=b"{" + b" " * (4 * 1024 * 1024 + 10))
    rc, doc = _json(capsys, "s3://fleet-reports/runs/", "s3://no-such-bucket/x")
    assert doc["reports"] == 25
    named = {u["name"]: u["reason"] for u in doc["unreadable"]["named"]}
    assert (
        named["s3://fleet-reports/runs/0b6e-cmd/i-00000000000000099/awsrunShellScript/tokendoctor/stdout"] == "not JSON"
    )
    assert named["s3://fleet-reports/runs/big.json"] == "larger than 4194304 bytes"
    assert named["s3://no-such-bucket/x"].startswith("NoSuchBucket")
    assert doc["unreadable"]["count"] == 3
    # hosts without a host section are named by the instance id in the key
    fleet = Fleet()
    for i in range(1, 26):
        fleet.add(
            report(i, host=i % 5 != 0),
            f"s3://fleet-reports/runs/0b6e-cmd/i-{i:017x}/awsrunShellScript/tokendoctor/stdout",
        )
    assert [(c["code"], c["hosts"], c["sample_hosts"]) for c in doc["causes"]] == [
        (c, r.hosts, r.sample) for c, r in fleet.ranked_causes()
    ]
    assert rc == (1 if fleet.failing else 0)


def test_s3_many_objects_across_pages(
    s3: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tokendoctor.summarize import sources

    monkeypatch.setattr(sources, "S3_PAGE_SIZE", 7)  # 60 keys: 9 pages, as 10,000 keys would be 10
    for i in range(60):
        s3.put_object(Bucket="fleet-reports", Key=f"many/{i:05d}.json", Body=dumps(report(i)))
    pages = list(
        s3.get_paginator("list_objects_v2").paginate(
            Bucket="fleet-reports", Prefix="many/", PaginationConfig={"PageSize": 7}
        )
    )
    assert len(pages) == 9  # the server really pages
    _, doc = _json(capsys, "s3://fleet-reports/many/")
    assert doc["reports"] == 60 and doc["unreadable"]["count"] == 0
    assert sum(c["hosts"] for c in doc["causes"]) == sum(
        len({c["code"] for c in report(i)["causes"]}) for i in range(60)
    )


def test_s3_refuses_a_non_loopback_endpoint_under_the_test_guard(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASUMMARIZETEST123")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "summarize-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    rc, doc = _json(capsys, "s3://some-real-bucket/prefix/")
    assert rc == 3 and "not loopback" in doc["unreadable"]["named"][0]["reason"]


class Ticks:
    """A clock that advances one second per reading: the deadline falls at a known step."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_s3_listing_stops_at_the_deadline(s3: Any) -> None:
    from tokendoctor.summarize import summarize

    for i in range(5):
        s3.put_object(Bucket="fleet-reports", Key=f"late/{i}.json", Body=dumps(report(i)))
    # readings: start 1 (deadline 4.5), location 2, key 0 at 3, key 1 at 4, key 2 at 5: stop there
    fleet = summarize(["s3://fleet-reports/late/", "s3://fleet-reports/never/"], deadline=3.5, clock=Ticks())
    assert fleet.reports == 2
    late = "not read, nor anything listed after it: the --timeout deadline passed"
    assert fleet.unreadable_named == [("s3://fleet-reports/late/2.json", late), ("s3://fleet-reports/never/", late)]


def test_local_reading_stops_at_the_deadline(tmp_path: Path) -> None:
    from tokendoctor.summarize import summarize

    for i in range(5):
        (tmp_path / f"{i}.json").write_bytes(dumps(report(i)))
    # readings: start 1 (deadline 3.5), location 2, after file 0: 3, after file 1: 4 -> stop
    fleet = summarize([str(tmp_path), str(tmp_path / "4.json")], deadline=2.5, clock=Ticks())
    assert fleet.reports == 2
    late = "not read, nor anything listed after it: the --timeout deadline passed"
    assert fleet.unreadable_named == [
        (f"{tmp_path} (after {tmp_path / '1.json'})", late),
        (str(tmp_path / "4.json"), late),
    ]
