"""The operator's config and the environment: good input loads, bad input names the setting."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config, load_settings, parse_config

FULL = """
permissions:
  keys: ["*"]
  rotate: [S0ONCALL]
  offboard: [U0SECLEAD]
  approve: [S0SECURITY, W0ADMIN]
channels: [C0OPS]
audit_channel: C0AUDIT
approvals:
  required: 2
  expire_minutes: 30
  commands:
    rotate: {required: 0}
protected_users: [break-glass-admin, "tag:protected=true"]
identity:
  tag: slack-id
rotation_age_days: 60
"""


def test_full_config_loads() -> None:
    config = parse_config(FULL)
    assert config.principals("rotate") == ("S0ONCALL",)
    assert config.principals("admin") == ()  # unlisted permissions are granted to nobody
    assert config.channels == ("C0OPS",)
    assert config.audit_channel == "C0AUDIT"
    assert config.approvals.required_for("offboard") == 2
    assert config.approvals.required_for("rotate") == 0
    assert config.approvals.expire_minutes == 30
    assert config.identity.tag == "slack-id"
    assert config.rotation_age_days == 60
    assert config.unused_days == 45


def test_no_file_means_read_only_default() -> None:
    config = load_config(None)
    assert config.principals("keys") == ("*",)
    assert config.principals("offboard") == ()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("permissions: {keys: [alice]}", "permissions.keys[0]"),
        ("permissions: {delete_everything: ['*']}", "unknown key 'delete_everything'"),
        ("permissions: {keys: '*'}", "permissions.keys: must be a list"),
        ("audit_channel: general", "audit_channel"),
        ("approvals: {required: 0}", "approvals.required"),
        ("approvals: {required: yes}", "approvals.required"),
        ("approvals: {commands: {offboard: {required: -1}}}", "approvals.commands.offboard"),
        ("protected_users: admin", "protected_users"),
        ("channles: []", "unknown key 'channles'"),
        ("permissions: [keys", "is not valid YAML"),
        ("- just a list", "top level"),
        ("rotation: {secret_name: fixed-name}", "rotation.secret_name"),
        ("rotation: {grace_minutes: -5}", "rotation.grace_minutes"),
        ("rotation: {grace_hours: 5}", "unknown key 'grace_hours'"),
    ],
)
def test_invalid_config_names_the_setting(text: str, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert named in str(err.value)
    assert "\n" not in str(err.value)


def test_unreadable_config_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.yml"))


GOOD_ENV = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "s3cr3t-signing"}


def test_settings_from_environment() -> None:
    settings = load_settings({**GOOD_ENV, "PORT": "8080", "SLACK_API_URL": "http://x/api/"})
    assert settings.port == 8080
    assert settings.slack_api_url == "http://x/api/"
    assert "xoxb" not in repr(settings) and "s3cr3t" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "socket", "named"),
    [
        ({"SLACK_SIGNING_SECRET": "x"}, False, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token-value", "SLACK_SIGNING_SECRET": "x"}, False, "xoxb-"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, False, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, True, "SLACK_APP_TOKEN is not set"),
        ({**GOOD_ENV, "PORT": "eighty"}, False, "PORT"),
    ],
)
def test_missing_settings_named_never_echoed(env: dict, socket: bool, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(env, socket_mode=socket)
    assert named in str(err.value)
    assert "user-token-value" not in str(err.value)


def test_socket_mode_needs_no_signing_secret() -> None:
    settings = load_settings(
        {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, socket_mode=True
    )
    assert settings.app_token == "xapp-1"
