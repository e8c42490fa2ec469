from tests.conftest import codes
from tokendoctor.checks import credentials


def test_TD201_empty_machine_has_no_credentials(machine, run_check):
    result = run_check(credentials)
    assert codes(result) == ["TD201"]
    assert result.data["resolved"]["method"] is None
