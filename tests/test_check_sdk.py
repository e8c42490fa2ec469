"""--sdk: each SDK's chain over table-driven machine states, disagreements, Java system
properties, the derive step that keeps botocore-only findings from misleading, the
JSON schema, and secrets never printed."""

from __future__ import annotations

import dataclasses
import json
from importlib.resources import files
from typing import Any

import pytest

from tests.conftest import Machine
from tests.test_chain_differential import _botocore_says
from tokendoctor.checks import credentials, sdk
from tokendoctor.context import Context, ProcessInfo
from tokendoctor.pipeline import derive, rank
from tokendoctor.render import get_renderer
from tokendoctor.sdk_chains import tables as sdks
from tokendoctor.sdk_chains.java import java_properties, jvm_options

ROLE_DEV = "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = default\n"
STATIC_DEFAULT = (
    "[default]\naws_access_key_id = AKIADEFAULTDEFAULT12\naws_secret_access_key = defaultsecretdefaultsecret\n"
)
SESSION_ENV = {
    "AWS_ACCESS_KEY_ID": "ASIAENVENVENVENV1234",
    "AWS_SECRET_ACCESS_KEY": "envsecretenvsecretenvsecret",
    "AWS_SESSION_TOKEN": "envtokenenvtokenenvtoken",
}
PROP_KEY = "ASIAPROPPROPPROP5678"
PROP_SECRET = "SYSPROPSECRETMARKER0001"
PROP_TOKEN = "SYSPROPTOKENMARKER0002"
JAVA_CMDLINE = (
    "/usr/bin/java",
    "-Xmx512m",
    f"-Daws.accessKeyId={PROP_KEY}",
    f"-Daws.secretKey={PROP_SECRET}",
    f"-Daws.secretAccessKey={PROP_SECRET}",
    f"-Daws.sessionToken={PROP_TOKEN}",
    "-cp",
    "/opt/app/lib/*",
    "com.example.Job",
    "-Daws.accessKeyId=APPARGUMENTNOTAPROPERTY",
)


def _ctx(
    machine: Machine, *, sdk_name: str = "python", cmdline: tuple[str, ...] | None = None, profile: str | None = None
) -> Context:
    ctx = machine.context(sdk=sdk_name, profile=profile)
    if cmdline is not None:
        ctx = dataclasses.replace(ctx, process=ProcessInfo(pid=4242, source="pid", cmdline=cmdline))
    return ctx


# Each state: env, config, credentials, --profile, JVM cmdline -> expected winner per SDK.
STATES: dict[str, dict[str, Any]] = {
    "exported-session-with-AWS_PROFILE": {
        "env": {**SESSION_ENV, "AWS_PROFILE": "dev"},
        "config": ROLE_DEV,
        "creds": STATIC_DEFAULT,
        "expect": {
            "python": "env",
            "cli-v2": "env",
            "java-v1": "env",
            "java-v2": "env",
            "go-v2": "env",
            "js-v3": "ini",
        },
    },
    "java-properties-and-env": {
        "env": dict(SESSION_ENV),
        "cmdline": JAVA_CMDLINE,
        "expect": {"python": "env", "java-v1": "env", "java-v2": "system-properties", "go-v2": "env", "js-v3": "env"},
    },
    "java-properties-only": {
        "env": {},
        "creds": None,
        "cmdline": JAVA_CMDLINE,
        "expect": {
            "python": None,
            "java-v1": "system-properties",
            "java-v2": "system-properties",
            "go-v2": None,
            "js-v3": None,
        },
    },
    "profile-given-in-code": {
        "env": dict(SESSION_ENV),
        "config": ROLE_DEV,
        "creds": STATIC_DEFAULT,
        "profile": "dev",
        "expect": {
            "python": "assume-role",
            "java-v1": "env",
            "java-v2": "env",
            "go-v2": "explicit-profile",
            "js-v3": "ini",
        },
    },
    "env-web-identity-and-static-default": {
        "env": {
            "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/token",
            "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/web",
        },
        "creds": STATIC_DEFAULT,
        "expect": {
            "python": "assume-role-with-web-identity",
            "java-v1": "web-identity",
            "java-v2": "web-identity",
            "go-v2": "web-identity",
            "js-v3": "ini",
        },
    },
    "AWS_DEFAULT_PROFILE-vs-AWS_PROFILE": {
        "env": {"AWS_DEFAULT_PROFILE": "other", "AWS_PROFILE": "dev"},
        "config": ROLE_DEV
        + "[profile other]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = othersecretothersecret\n",
        "creds": STATIC_DEFAULT,
        # the AWS CLI v2 reads AWS_PROFILE first; Java 1.x reads only ~/.aws/credentials, which has no [dev]
        "expect": {
            "python": "config-file",
            "cli-v2": "assume-role",
            "java-v1": None,
            "java-v2": "profile",
            "go-v2": "profile",
            "js-v3": "ini",
        },
    },
    "java-and-go-env-aliases": {
        "env": {"AWS_ACCESS_KEY": "AKIAALIASALIASALIAS1", "AWS_SECRET_KEY": "aliassecretaliassecret"},
        "creds": None,
        "expect": {"python": None, "java-v1": "env", "java-v2": None, "go-v2": "env", "js-v3": None},
    },
    "sso-profile-selected-by-AWS_PROFILE": {
        "env": {"AWS_PROFILE": "sso"},
        "config": (
            "[profile sso]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
            "sso_account_id = 123456789012\nsso_role_name = Dev\n"
        ),
        "expect": {"python": "sso", "java-v1": "profile", "java-v2": "profile", "go-v2": "profile", "js-v3": "sso"},
    },
}


def _build(machine: Machine, state: dict[str, Any]) -> None:
    machine.env.update(state.get("env", {}))
    if state.get("config"):
        machine.config(state["config"])
    if state.get("creds"):
        machine.credentials(state["creds"])


@pytest.mark.parametrize("name", sorted(STATES))
def test_winner_per_sdk(machine: Machine, name: str) -> None:
    state = STATES[name]
    _build(machine, state)
    for sdk_name, expected in state["expect"].items():
        result = sdk.check(_ctx(machine, sdk_name=sdk_name, cmdline=state.get("cmdline"), profile=state.get("profile")))
        assert result.data["winner"] == expected, (name, sdk_name, result.data["chain"])
        statuses = [row["status"] for row in result.data["chain"]]
        assert statuses.count("used") == (0 if expected is None else 1)
        for row in result.data["chain"]:
            assert row["source_url"].startswith("https://github.com/")


@pytest.mark.parametrize(
    "name",
    [
        "exported-session-with-AWS_PROFILE",
        "profile-given-in-code",
        "env-web-identity-and-static-default",
        "AWS_DEFAULT_PROFILE-vs-AWS_PROFILE",
    ],
)
def test_python_winner_is_botocores_own(machine: Machine, name: str) -> None:
    """Differential: for python the answer is what real botocore resolves on the same state."""
    state = STATES[name]
    _build(machine, state)
    if state["env"].get("AWS_WEB_IDENTITY_TOKEN_FILE"):
        token = machine.base / "token.jwt"
        token.write_text("eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDAsImlzcyI6Imh0dHBzOi8vZXhhbXBsZSJ9.c2ln")
        machine.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = str(token)
    expected = _botocore_says(machine.env, state.get("profile"))
    got = sdk.check(_ctx(machine, sdk_name="python", profile=state.get("profile"))).data["winner"]
    assert got == expected == state["expect"]["python"]
    # the CLI v2's bundled botocore reads AWS_PROFILE before AWS_DEFAULT_PROFILE:
    # botocore with only AWS_PROFILE is its oracle
    cli_env = {
        k: v for k, v in machine.env.items() if not (k == "AWS_DEFAULT_PROFILE" and machine.env.get("AWS_PROFILE"))
    }
    cli_expected = _botocore_says(cli_env, state.get("profile"))
    got = sdk.check(_ctx(machine, sdk_name="cli-v2", profile=state.get("profile"))).data["winner"]
    assert got == cli_expected == state["expect"].get("cli-v2", state["expect"]["python"])


def test_js_v3_profile_before_env_is_a_disagreement(machine: Machine) -> None:
    _build(machine, STATES["exported-session-with-AWS_PROFILE"])
    result = sdk.check(_ctx(machine, sdk_name="js-v3"))
    data = result.data
    assert data["winner_source"] == "profile:dev"
    assert data["botocore_source"] == "env"
    env_row = data["chain"][0]
    assert env_row == {**env_row, "provider": "env", "status": "absent"}
    assert "AWS_PROFILE=dev" in env_row["detail"]
    assert {d["sdk"] for d in data["disagreements"]} == {"python", "cli-v2", "java-v1", "java-v2", "go-v2"}
    td506 = next(f for f in result.findings if f.code == "TD506")
    assert td506.evidence["sdk_source"] == "profile:dev" and td506.evidence["botocore_source"] == "env"
    assert "unset AWS_PROFILE" in td506.fix
    # python itself reports no SDK findings and lists JS v3 as the one that differs
    py = sdk.check(_ctx(machine, sdk_name="python"))
    assert py.findings == ()
    assert [d["sdk"] for d in py.data["disagreements"]] == ["js-v3"]


def test_go_v2_AWS_PROFILE_does_not_beat_env_but_code_profile_does(machine: Machine) -> None:
    _build(machine, STATES["exported-session-with-AWS_PROFILE"])
    plain = sdk.check(_ctx(machine, sdk_name="go-v2")).data
    assert plain["winner"] == "env"
    assert [r["status"] for r in plain["chain"]][:4] == ["absent", "used", "absent", "shadowed"]
    coded = sdk.check(_ctx(machine, sdk_name="go-v2", profile="dev")).data
    assert coded["winner"] == "explicit-profile"
    assert coded["chain"][1]["detail"].startswith("skipped")


def test_java_v2_system_properties_shadow_everything_TD507(machine: Machine) -> None:
    _build(machine, {"env": dict(SESSION_ENV), "config": ROLE_DEV, "creds": STATIC_DEFAULT})
    result = sdk.check(_ctx(machine, sdk_name="java-v2", cmdline=JAVA_CMDLINE))
    rows = {r["provider"]: r["status"] for r in result.data["chain"]}
    assert rows == {
        "system-properties": "used",
        "env": "shadowed",
        "web-identity": "absent",
        "profile": "shadowed",
        "container": "absent",
        "instance-metadata": "not-checked",
    }
    td507 = next(f for f in result.findings if f.code == "TD507")
    assert td507.severity == "error"  # a session token: static temporary credentials in front of everything
    assert td507.evidence["properties"] == ["-Daws.accessKeyId", "-Daws.secretAccessKey", "-Daws.sessionToken"]
    assert td507.evidence["origin"] == ["command line of PID 4242"]
    assert td507.evidence["access_key_id"] == "ASIA…5678"
    # Java 1.x reads the same properties after the environment: shadowed, still reported (warning)
    v1 = sdk.check(_ctx(machine, sdk_name="java-v1", cmdline=JAVA_CMDLINE))
    assert v1.data["winner"] == "env"
    assert next(r for r in v1.data["chain"] if r["provider"] == "system-properties")["status"] == "shadowed"
    assert next(f for f in v1.findings if f.code == "TD507").severity is None


def test_java_v2_ignores_the_1x_secret_property_name(machine: Machine) -> None:
    cmdline = ("java", f"-Daws.accessKeyId={PROP_KEY}", f"-Daws.secretKey={PROP_SECRET}", "-jar", "app.jar")
    v2 = sdk.check(_ctx(machine, sdk_name="java-v2", cmdline=cmdline)).data
    row = v2["chain"][0]
    assert row["status"] == "absent" and "reads -Daws.secretAccessKey" in row["detail"]
    v1 = sdk.check(_ctx(machine, sdk_name="java-v1", cmdline=cmdline)).data
    assert v1["winner"] == "system-properties"


def test_without_pid_the_jvm_properties_are_not_checked_unless_in_JAVA_TOOL_OPTIONS(machine: Machine) -> None:
    row = sdk.check(_ctx(machine, sdk_name="java-v2")).data["chain"][0]
    assert row["status"] == "not-checked" and "--pid" in row["detail"]
    machine.env["JAVA_TOOL_OPTIONS"] = f"-Xss2m -Daws.accessKeyId={PROP_KEY} '-Daws.secretAccessKey={PROP_SECRET}'"
    data = sdk.check(_ctx(machine, sdk_name="java-v2")).data
    assert data["winner"] == "system-properties"
    assert "JAVA_TOOL_OPTIONS" in data["chain"][0]["detail"]


def test_java_properties_parsed_from_a_proc_cmdline_blob() -> None:
    """/proc/PID/cmdline is NUL-separated with a trailing NUL; only JVM options count."""
    blob = b"\0".join(a.encode() for a in JAVA_CMDLINE) + b"\0"
    cmdline = tuple(part.decode() for part in blob.split(b"\0")[:-1])
    props = java_properties(cmdline, {}, pid=7)
    assert props.known
    # the -Daws.accessKeyId after the main class is an application argument, not a property
    assert props.values == {
        "aws.accessKeyId": PROP_KEY,
        "aws.secretKey": PROP_SECRET,
        "aws.secretAccessKey": PROP_SECRET,
        "aws.sessionToken": PROP_TOKEN,
    }
    assert props.origin["aws.sessionToken"] == "command line of PID 7"
    # the value of -cp is not an option, and nothing after -jar FILE is
    assert jvm_options(("java", "-cp", "-Daws.x=classpath", "-Daws.a=b", "-jar", "x.jar", "-Daws.c=d")) == [
        "-cp",
        "-Daws.a=b",
    ]
    # the command line beats JAVA_TOOL_OPTIONS
    both = java_properties(
        ("java", "-Daws.accessKeyId=CMDLINE", "Main"), {"JAVA_TOOL_OPTIONS": "-Daws.accessKeyId=TOOLOPTS"}
    )
    assert both.values["aws.accessKeyId"] == "CMDLINE"


def test_TD508_profile_variables_each_sdk_reads(machine: Machine) -> None:
    _build(machine, STATES["AWS_DEFAULT_PROFILE-vs-AWS_PROFILE"])
    for sdk_name in ("java-v1", "java-v2", "go-v2", "js-v3"):
        result = sdk.check(_ctx(machine, sdk_name=sdk_name))
        td508 = next(f for f in result.findings if f.code == "TD508")
        assert td508.evidence["sdk_profile"] == "dev" and td508.evidence["sdk_selected_by"] == "AWS_PROFILE"
        assert (
            td508.evidence["botocore_profile"] == "other"
            and td508.evidence["botocore_selected_by"] == "AWS_DEFAULT_PROFILE"
        )
    # -Daws.profile: Java 2.x lets the property beat AWS_PROFILE, Java 1.x the other way round
    cmdline = ("java", "-Daws.profile=other", "Main")
    assert sdk.check(_ctx(machine, sdk_name="java-v2", cmdline=cmdline)).data["profile_selected_by"] == "-Daws.profile"
    assert sdk.check(_ctx(machine, sdk_name="java-v1", cmdline=cmdline)).data["profile"] == "dev"


def test_TD509_alias_variables_and_differing_secret(machine: Machine) -> None:
    _build(machine, STATES["java-and-go-env-aliases"])
    result = sdk.check(_ctx(machine, sdk_name="java-v1"))
    td509 = next(f for f in result.findings if f.code == "TD509")
    assert td509.evidence["variables"] == ["AWS_ACCESS_KEY", "AWS_SECRET_KEY"]
    assert "unset AWS_ACCESS_KEY AWS_SECRET_KEY" in td509.fix
    # Java 1.x prefers AWS_SECRET_KEY over AWS_SECRET_ACCESS_KEY: a stale copy gives it another secret
    machine.env.update({"AWS_ACCESS_KEY_ID": "AKIAENVENVENVENV1234", "AWS_SECRET_ACCESS_KEY": "freshsecretfreshsecret"})
    problems = next(f for f in sdk.check(_ctx(machine, sdk_name="java-v1")).findings if f.code == "TD509").evidence[
        "problems"
    ]
    assert any("AWS_SECRET_KEY and AWS_SECRET_ACCESS_KEY differ" in p for p in problems)
    # Go v2 prefers AWS_SECRET_ACCESS_KEY: same secret as botocore, no TD509
    assert "TD509" not in [f.code for f in sdk.check(_ctx(machine, sdk_name="go-v2")).findings]


def test_refresh_window_reported_per_sdk(machine: Machine) -> None:
    expected = {
        "python": (900, 600),
        "cli-v2": (900, 600),
        "java-v1": (900, None),
        "java-v2": (300, 60),
        "go-v2": (300, 60),
        "js-v3": (300, None),
    }
    for sdk_name, (advisory, mandatory) in expected.items():
        window = sdk.check(_ctx(machine, sdk_name=sdk_name)).data["refresh_window"]
        assert (window["advisory_seconds"], window["mandatory_seconds"]) == (advisory, mandatory)
        assert window["source_url"].startswith("https://github.com/")
    import botocore.credentials

    assert (
        botocore.credentials.RefreshableCredentials._advisory_refresh_timeout,
        botocore.credentials.RefreshableCredentials._mandatory_refresh_timeout,
    ) == expected["python"]


def test_tables_cite_their_sources() -> None:
    for chain in sdks.SDKS.values():
        assert chain.source_url.startswith("https://github.com/")
        assert chain.read_at
        for source in chain.sources:
            assert source.source_url.startswith("https://github.com/"), (chain.name, source.id)
        assert len({s.id for s in chain.sources}) == len(chain.sources)
    assert sdks.JAVA_V2.sources[0].id == "system-properties" and sdks.JAVA_V1.sources[0].id == "env"
    assert sdks.JS_V3.profile_var_drops_env and not sdks.GO_V2.profile_var_drops_env


# ------------------------------------------------------------------ derive step


def _results(machine: Machine, sdk_name: str) -> list[Any]:
    ctx = _ctx(machine, sdk_name=sdk_name)
    return [credentials.check(ctx), sdk.check(ctx)]


def test_derive_drops_TD101_TD102_when_js_v3_ignores_the_env(machine: Machine) -> None:
    _build(machine, STATES["exported-session-with-AWS_PROFILE"])
    python = [f.code for r in derive(_results(machine, "python")) for f in r.findings]
    assert {"TD101", "TD102"} <= set(python)
    js = [f.code for r in derive(_results(machine, "js-v3")) for f in r.findings]
    assert "TD101" not in js and "TD102" not in js and "TD506" in js
    go = [f for r in derive(_results(machine, "go-v2")) for f in r.findings]
    td102 = next(f for f in go if f.code == "TD102")
    assert "boto3" not in td102.fix and "go-v2 reads the environment credentials" in td102.fix


def test_derive_drops_TD106_for_sdks_that_do_not_read_AWS_DEFAULT_PROFILE(machine: Machine) -> None:
    _build(machine, STATES["AWS_DEFAULT_PROFILE-vs-AWS_PROFILE"])
    assert "TD106" in [f.code for r in derive(_results(machine, "python")) for f in r.findings]
    java = [f.code for r in derive(_results(machine, "java-v2")) for f in r.findings]
    assert "TD106" not in java and "TD508" in java


def test_derive_is_pure_and_leaves_python_untouched(machine: Machine) -> None:
    _build(machine, STATES["exported-session-with-AWS_PROFILE"])
    results = _results(machine, "python")
    assert sdk.adjust(results) == results
    js = _results(machine, "js-v3")
    before = [r.findings for r in js]
    sdk.adjust(js)
    assert [r.findings for r in js] == before


# ------------------------------------------------------------- output and secrets


def test_json_output_validates_and_text_has_an_SDK_line(machine: Machine) -> None:
    import jsonschema

    _build(machine, {"env": dict(SESSION_ENV), "config": ROLE_DEV, "creds": STATIC_DEFAULT})
    schema = json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text())
    for sdk_name in sdks.NAMES:
        report = rank(
            _results(machine, sdk_name)
            if sdk_name != "java-v2"
            else [
                credentials.check(_ctx(machine, sdk_name=sdk_name, cmdline=JAVA_CMDLINE)),
                sdk.check(_ctx(machine, sdk_name=sdk_name, cmdline=JAVA_CMDLINE)),
            ]
        )
        doc = json.loads(get_renderer("json")(report))
        jsonschema.validate(doc, schema)
        assert doc["sdk"]["name"] == sdk_name
        text = get_renderer("text")(report)
        assert f"SDK: {sdk_name} would use" in text
        if sdk_name not in ("python", "cli-v2"):
            assert f"Credential chain ({sdk_name} order" in text


def test_property_and_env_secrets_never_appear_in_any_output(machine: Machine) -> None:
    _build(
        machine, {"env": {**SESSION_ENV, "JAVA_TOOL_OPTIONS": f"-Daws.sessionToken={PROP_TOKEN}"}, "config": ROLE_DEV}
    )
    for sdk_name in sdks.NAMES:
        ctx = _ctx(machine, sdk_name=sdk_name, cmdline=JAVA_CMDLINE)
        results = [credentials.check(ctx), sdk.check(ctx)]
        report = rank(results, fail_on="warning")
        blob = get_renderer("json")(report) + get_renderer("text")(report, verbose=True) + repr(results)
        for secret in (
            PROP_SECRET,
            PROP_TOKEN,
            PROP_KEY,
            SESSION_ENV["AWS_SECRET_ACCESS_KEY"],
            SESSION_ENV["AWS_SESSION_TOKEN"],
            "APPARGUMENTNOTAPROPERTY",
        ):
            assert secret not in blob, (sdk_name, secret)
        # and the context's redactor knows the property secrets, for the CLI's last pass
        assert PROP_SECRET not in ctx.redactor.redact(f"x {PROP_SECRET} y")


def test_java_v1_reads_one_profile_file(machine: Machine) -> None:
    """AWS_CREDENTIAL_PROFILES_FILE, else ~/.aws/credentials, else the legacy ~/.aws/config;
    never AWS_SHARED_CREDENTIALS_FILE."""
    machine.env["AWS_PROFILE"] = "dev"
    machine.config(ROLE_DEV + "[default]\nregion = us-east-1\n")
    legacy = sdk.check(_ctx(machine, sdk_name="java-v1")).data
    assert legacy["winner"] == "profile"  # no credentials file: the config file is read
    machine.credentials(STATIC_DEFAULT)
    row = next(r for r in sdk.check(_ctx(machine, sdk_name="java-v1")).data["chain"] if r["provider"] == "profile")
    assert row["status"] == "absent" and "credentials" in row["detail"]
    other = machine.base / "java-creds"
    other.write_text("[dev]\naws_access_key_id = AKIAJAVAJAVAJAVA1234\naws_secret_access_key = javasecretjavasecret\n")
    machine.env["AWS_SHARED_CREDENTIALS_FILE"] = str(other)
    assert sdk.check(_ctx(machine, sdk_name="java-v1")).data["winner"] is None
    machine.env["AWS_CREDENTIAL_PROFILES_FILE"] = str(other)
    data = sdk.check(_ctx(machine, sdk_name="java-v1")).data
    assert data["winner"] == "profile"
    assert "static keys" in data["chain"][3]["detail"]


def test_cli_v2_reads_AWS_PROFILE_first_and_keeps_TD106(machine: Machine) -> None:
    _build(machine, STATES["AWS_DEFAULT_PROFILE-vs-AWS_PROFILE"])
    cli = sdk.check(_ctx(machine, sdk_name="cli-v2")).data
    assert (cli["profile"], cli["profile_selected_by"]) == ("dev", "AWS_PROFILE")
    assert {"sdk": "python", "winner": "config-file", "source": "profile:other"} in cli["disagreements"]
    assert "TD106" in [f.code for r in derive(_results(machine, "cli-v2")) for f in r.findings]


def test_cli_end_to_end_sdk_flag(machine: Machine, capsys: Any, monkeypatch: Any) -> None:
    """The real CLI: --sdk js-v3 with an exported session and AWS_PROFILE=dev; JSON validates, secrets stay out."""
    import jsonschema

    from tokendoctor.cli import main

    machine.config(ROLE_DEV)
    machine.credentials(STATIC_DEFAULT)
    monkeypatch.setenv("HOME", str(machine.home))
    monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(machine.root))
    for name, value in {**SESSION_ENV, "AWS_PROFILE": "dev"}.items():
        monkeypatch.setenv(name, value)
    rc = main(["check", "--offline", "--json", "--sdk", "js-v3", "--fail-on", "warning"])
    out = capsys.readouterr().out
    doc = json.loads(out)
    jsonschema.validate(doc, json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text()))
    assert rc == 1
    assert doc["sdk"]["winner"] == "ini" and doc["sdk"]["botocore_winner"] == "env"
    codes = [c["code"] for c in doc["causes"]]
    assert "TD506" in codes and "TD102" not in codes and "TD101" not in codes
    assert SESSION_ENV["AWS_SECRET_ACCESS_KEY"] not in out and SESSION_ENV["AWS_SESSION_TOKEN"] not in out
    rc = main(["check", "--offline", "--sdk", "java-v2"])
    text = capsys.readouterr().out
    assert "SDK: java-v2 would use env (env); botocore agrees" in text
    assert "Credential chain (java-v2 order" in text and "system-properties" in text


def test_docs_tables_are_the_data() -> None:
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "sdks.md").read_text()
    generated = doc.split("<!-- BEGIN GENERATED: tokendoctor.sdk_chains.tables.markdown() -->\n", 1)[1].split(
        "<!-- END GENERATED -->", 1
    )[0]
    assert generated == sdks.markdown(), "regenerate docs/sdks.md from tokendoctor.sdk_chains.tables.markdown()"
