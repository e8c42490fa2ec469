"""Every private botocore attribute tokendoctor relies on still exists on the installed botocore.

They are all named in :data:`tokendoctor.chain.botocore_private.PRIVATE_ATTRIBUTES`; after a botocore
upgrade this is the one test that fails, naming the attribute, instead of a diagnosis silently changing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import botocore.credentials as bc
import botocore.session
import pytest

from tests.conftest import Machine
from tokendoctor.botocore_env import botocore_environment
from tokendoctor.chain import botocore_private as adapter


def _instances(machine: Machine) -> dict[str, Any]:
    """One real instance of each botocore class the adapter touches, built by botocore itself."""
    machine.config(
        "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = base\n"
        "[profile base]\naws_access_key_id = AKIABASEBASEBASEBASE\naws_secret_access_key = basesecret\n"
    )
    with botocore_environment(machine.env):
        session = botocore.session.Session()
        resolver = bc.create_credential_resolver(session)
    providers = {type(p).__name__: p for p in resolver.providers}
    fetcher = bc.AssumeRoleCredentialFetcher(
        client_creator=lambda *a, **k: None,
        source_credentials=bc.Credentials("AKIAX", "s"),
        role_arn="arn:aws:iam::123456789012:role/r",
    )
    refreshable = bc.RefreshableCredentials.create_from_metadata(
        metadata={"access_key": "ASIAX", "secret_key": "s", "token": "t", "expiry_time": "2030-01-01T00:00:00Z"},
        refresh_using=fetcher.fetch_credentials,
        method="test",
    )
    instances = {
        **providers,
        "ProfileProviderBuilder": providers["AssumeRoleProvider"]._profile_provider_builder,
        "RefreshableCredentials": refreshable,
        "CachedCredentialFetcher": fetcher,
        "botocore.credentials": bc,
    }
    from botocore.tokens import SSOTokenProvider

    instances["SSOTokenProvider"] = SSOTokenProvider(session)
    import boto3

    client = session.create_client(
        "sts", region_name="us-east-1", aws_access_key_id="AKIAX", aws_secret_access_key="s"
    )  # no request is made
    instances.update(
        BaseClient=client,
        RequestSigner=client._request_signer,
        Session=session,
        **{"boto3.Session": boto3.Session(botocore_session=session)},
    )
    from botocore.utils import JSONFileCache

    instances["JSONFileCache"] = JSONFileCache(str(machine.home))
    from botocore.awsrequest import AWSResponse

    instances["Endpoint"] = client._endpoint
    instances["AWSResponse"] = AWSResponse("http://127.0.0.1/", 200, {}, None)
    return instances


@pytest.mark.parametrize(("owner", "attribute"), adapter.PRIVATE_ATTRIBUTES)
def test_private_attribute_still_exists(machine: Machine, owner: str, attribute: str) -> None:
    instances = _instances(machine)
    target = instances.get(owner) or getattr(bc, owner)
    assert hasattr(target, attribute) or attribute in type(target).__init__.__code__.co_names, (
        f"botocore {botocore.__version__}: {owner}.{attribute} is gone; update tokendoctor/chain/botocore_private.py"
    )


def test_peek_reads_without_refreshing(machine: Machine) -> None:
    calls = []

    def refresh() -> dict[str, str]:
        calls.append(1)
        return {"access_key": "ASIANEW", "secret_key": "s", "token": "t", "expiry_time": "2030-01-01T00:00:00Z"}

    creds = bc.RefreshableCredentials.create_from_metadata(
        metadata={"access_key": "ASIAOLD", "secret_key": "s", "token": "t", "expiry_time": "2000-01-01T00:00:00Z"},
        refresh_using=refresh,
        method="test",
    )
    key, token, expiry = adapter.peek(creds)
    assert (key, token, calls) == ("ASIAOLD", "t", [])  # an expired object is read as it is, not refreshed
    assert expiry == dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def test_refresh_windows_are_botocores() -> None:
    assert adapter.refresh_windows() == {
        "advisory": bc._DEFAULT_ADVISORY_REFRESH_TIMEOUT,
        "mandatory": bc._DEFAULT_MANDATORY_REFRESH_TIMEOUT,
        "assume_role_cache": bc.AssumeRoleProvider.EXPIRY_WINDOW_SECONDS,
    }


def test_a_programs_own_objects_are_read_as_they_are() -> None:
    """What the hook and the API read: a client's and a session's credentials, without refreshing."""
    client = boto3.Session(
        aws_access_key_id="ASIAHOOKHOOKHOOK0001",
        aws_secret_access_key="s" * 20,
        aws_session_token="t" * 20,
        region_name="us-east-1",
    ).client("sts")
    creds = adapter.client_credentials(client)
    assert isinstance(creds, botocore.credentials.Credentials)
    seen = adapter.inspect_credentials(creds)
    assert seen is not None and (seen.kind, seen.method, seen.has_token) == ("static", "explicit", True)
    session = boto3.Session(aws_access_key_id="AKIAEXAMPLEEXAMPLE1", aws_secret_access_key="x" * 20)
    assert adapter.session_credentials(adapter.botocore_session_of(session)) is not None
    refreshable = botocore.credentials.RefreshableCredentials.create_from_metadata(
        {
            "access_key": "ASIAREFRESHREFRESH01",
            "secret_key": "s" * 20,
            "token": "t" * 20,
            "expiry_time": "2000-01-01T00:00:00Z",
        },
        refresh_using=lambda: pytest.fail("peek must never refresh"),
        method="assume-role",
    )
    for attr in ("_access_key", "_secret_key", "_token", "_expiry_time", "_refresh_using"):
        assert hasattr(refreshable, attr), attr
    seen = adapter.inspect_credentials(refreshable)
    assert seen is not None and seen.kind == "refreshable" and seen.expiry is not None and seen.expiry.year == 2000


def test_wrapped_refresher_returns_and_raises_exactly_as_before() -> None:
    calls: list[Any] = []
    result = {"access_key": "a", "secret_key": "b", "token": "c", "expiry_time": "2999-01-01T00:00:00Z"}
    creds = botocore.credentials.DeferredRefreshableCredentials(refresh_using=lambda: result, method="assume-role")
    assert adapter.wrap_refresher(creds, lambda started, error: calls.append(error)) is True
    assert adapter.wrap_refresher(creds, lambda started, error: calls.append(error)) is False  # once only
    assert creds._refresh_using() is result
    boom = ValueError("sts said no")

    def failing() -> Any:
        raise boom

    other = botocore.credentials.DeferredRefreshableCredentials(refresh_using=failing, method="assume-role")
    adapter.wrap_refresher(other, lambda started, error: 1 / 0)  # a broken observer changes nothing
    with pytest.raises(ValueError) as info:
        other._refresh_using()
    assert info.value is boom
    assert calls == [None]
