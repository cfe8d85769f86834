"""A user group Slack did not answer for is neither a yes nor a no: the rules say so, unless
the user holds the permission some other way."""

from __future__ import annotations

import pytest

from bot.access.rules import Rules, SlackUnavailable
from bot.operator_rules import parse_config
from bot.ops.terms import OPERATIONS

CONFIG = parse_config(
    "permissions:\n  approve: [S0DOWN, S0UP, U0LISTED]\n  keys: ['*', S0DOWN]\n", OPERATIONS
)
MEMBERS = {"S0UP": frozenset({"U0UP"})}


def _members(group: str) -> frozenset[str]:
    if group not in MEMBERS:
        raise TimeoutError("Slack did not answer")
    return MEMBERS[group]


@pytest.fixture
def rules() -> Rules:
    return Rules(CONFIG, _members)


def test_a_group_slack_did_not_answer_for_is_not_a_no(rules: Rules) -> None:
    with pytest.raises(SlackUnavailable, match="whether you are in the user group `S0DOWN`"):
        rules.allowed("U0OTHER", "approve", fresh=True)


@pytest.mark.parametrize("user", ["U0LISTED", "U0UP"])
def test_listed_some_other_way_is_allowed_while_a_group_is_unanswered(
    rules: Rules, user: str
) -> None:
    assert rules.allowed(user, "approve", fresh=True)
    assert rules.allowed("U0OTHER", "keys")  # '*'
