"""``identity_center:``: absent turns the feature off; a good section loads; a bad value is
refused naming the setting."""

from __future__ import annotations

import pytest

from bot.config_error import ConfigError
from bot.operator_rules import IdentityCenter, parse_config
from bot.ops.terms import OPERATIONS

LISTED = """
accounts:
  list:
    - {id: "111111111111", name: identity}
"""


def test_absent_means_off() -> None:
    assert parse_config("permissions: {keys: ['*']}", OPERATIONS).identity_center is None


def test_account_by_name_and_defaults() -> None:
    config = parse_config(LISTED + "identity_center: {account: identity}", OPERATIONS)
    assert config.identity_center == IdentityCenter(account="111111111111")


def test_everything_given() -> None:
    text = """
accounts:
  list:
    - {id: "222222222222", name: identity}
identity_center:
  account: "222222222222"
  region: eu-west-1
  instance_arn: arn:aws:sso:::instance/ssoins-1234567890abcdef
  identity_store_id: d-1234567890
  role: arn:aws:iam::222222222222:role/iam-bot-identity-center
  scim: true
"""
    center = parse_config(text, OPERATIONS).identity_center
    assert center is not None
    assert (center.account, center.region, center.scim) == ("222222222222", "eu-west-1", True)
    assert center.identity_store_id == "d-1234567890"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("identity_center: {account: nowhere}", "identity_center.account"),
        ("identity_center: {region: us-east-1}", "identity_center.account"),
        ('identity_center: {account: "222222222222", region: Europe}', "identity_center.region"),
        ('identity_center: {account: "222222222222", scim: "no"}', "identity_center.scim"),
        ('identity_center: {account: "222222222222", role: admin}', "identity_center.role"),
        ('identity_center: {account: "222222222222", store: d-1}', "unknown key 'store'"),
        ('identity_center: {account: "222222222222", instance_arn: x}', "instance_arn"),
    ],
)
def test_bad_values_name_the_setting(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text, OPERATIONS)


def test_without_accounts_it_would_never_be_used_so_startup_stops() -> None:
    with pytest.raises(ConfigError, match=r"identity_center: needs accounts:"):
        parse_config('identity_center: {account: "222222222222"}', OPERATIONS)
