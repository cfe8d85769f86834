"""`audit.scope`: the scheduled audit's reach, validated as strictly as the other keys."""

from __future__ import annotations

import pytest

from bot.config_error import ConfigError
from bot.operator_rules import parse_config
from bot.ops.terms import OPERATIONS

ACCOUNTS = 'accounts:\n  list:\n    - id: "111111111111"\n      name: main\n'


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("audit: {scope: org}", "audit.scope: must be one of: account, organization"),
        ("audit: {scope: Organization}", "audit.scope: must be one of"),
        ("audit: {scope: [organization]}", "audit.scope: must be one of"),
        ("audit: {scope: organization}", "audit.scope: organization needs accounts:"),
    ],
)
def test_a_wrong_scope_stops_startup_with_one_line(text: str, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, OPERATIONS)
    assert named in str(err.value) and "\n" not in str(err.value)


def test_scope_defaults_to_the_account_and_may_be_the_organization() -> None:
    assert parse_config("", OPERATIONS).audit.scope == "account"
    assert parse_config(ACCOUNTS + "audit: {scope: account}", OPERATIONS).audit.scope == "account"
    assert (
        parse_config(ACCOUNTS + "audit: {scope: organization}", OPERATIONS).audit.scope
        == "organization"
    )
