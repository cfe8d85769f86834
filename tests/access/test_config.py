"""The operator's config and the environment: good input loads, bad input names the setting."""

from __future__ import annotations

import pytest

from bot.config_error import ConfigError
from bot.operator_rules import load_config, parse_config
from bot.ops.terms import OPERATIONS
from bot.process_settings import load_settings

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
cloudtrail_regions: [us-east-1, eu-west-1, us-gov-west-1]
"""


def test_full_config_loads() -> None:
    config = parse_config(FULL, OPERATIONS)
    assert config.principals("rotate") == ("S0ONCALL",)
    assert config.principals("admin") == ()  # unlisted permissions are granted to nobody
    assert config.channels == ("C0OPS",)
    assert config.audit_channel == "C0AUDIT"
    assert config.cloudtrail_regions == ("us-east-1", "eu-west-1", "us-gov-west-1")
    assert config.approvals.required_for("offboard") == 2
    assert config.approvals.required_for("rotate") == 0
    assert config.approvals.expire_minutes == 30
    assert config.identity.tag == "slack-id"
    assert config.rotation_age_days == 60
    assert config.unused_days == 45


def test_no_file_means_read_only_default() -> None:
    config = load_config(None, OPERATIONS)
    assert config.principals("keys") == ("*",)
    assert config.principals("offboard") == ()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("permissions: {keys: [alice]}", "permissions.keys[0]"),
        ("permissions: {delete_everything: ['*']}", "unknown key 'delete_everything'"),
        ("permissions: {keys: '*'}", "permissions.keys: must be a list"),
        ("audit_channel: general", "audit_channel"),
        ("cloudtrail_regions: [Europe]", "cloudtrail_regions[0]: 'Europe' is not an AWS region"),
        ("cloudtrail_regions: us-east-1", "cloudtrail_regions: must be a list"),
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
        # Booleans are YAML booleans: "no" in quotes is a string, which bool() calls true.
        ('rotation: {notify_owner: "no"}', "rotation.notify_owner: must be true or false"),
        ('audit: {dm_owners: "no"}', "audit.dm_owners: must be true or false"),
        ("audit: {dm_owners: 1}", "audit.dm_owners"),
        # Every duration has an upper bound: a huge one would overflow datetime later.
        ("approvals: {expire_minutes: 99999999999}", "approvals.expire_minutes"),
        ("approvals: {required: 11}", "approvals.required"),
        ("rotation: {grace_minutes: 99999999999}", "rotation.grace_minutes"),
        ("rotation: {delete_after_minutes: 525601}", "rotation.delete_after_minutes"),
        ("rotation: {last_use_margin_minutes: 10081}", "rotation.last_use_margin_minutes"),
        ("rotation: {extend_minutes: 0}", "rotation.extend_minutes"),
        ("rotation_age_days: 99999999999", "rotation_age_days"),
        ("unused_days: 3651", "unused_days"),
        # Templates may use {user} only, and must name a valid secret once filled.
        ("rotation: {secret_name: '{user}/{env}'}", "rotation.secret_name: may use only {user}"),
        ("onboarding: {secret_name: 'pw/{user!r}'}", "onboarding.secret_name: may use only"),
        ("onboarding: {secret_name: 'pw/{user:>9}'}", "onboarding.secret_name: may use only"),
        ("rotation: {secret_name: 'keys/{}'}", "rotation.secret_name: may use only"),
        ("rotation: {secret_name: 'keys/{user'}", "rotation.secret_name: is not a valid template"),
        ("rotation: {secret_name: 'my keys/{user}'}", "rotation.secret_name: once filled"),
        ("rotation: {secret_name: 7}", "rotation.secret_name"),
        ("rotation: {kms_key_id: 'my key'}", "rotation.kms_key_id"),
        ("identity: {tag: null}", "identity.tag"),
        # Command names are the operations the bot has; a typo is not silently ignored.
        ("approvals: {commands: {offbaord: {required: 2}}}", "unknown command 'offbaord'"),
        (
            "approvals: {commands: {offbaord: {required: 2}}}",
            "account-alias, contain, deactivate, delete-key",
        ),
        # Deleting a user or a key, and enabling one again, always need someone else.
        (
            "approvals: {commands: {offboard: {required: 0}}}",
            "approvals.commands.offboard.required",
        ),
        ("approvals: {commands: {delete-key: {required: 0}}}", "commands.delete-key.required"),
        ("approvals: {commands: {enable: {required: 0}}}", "approvals.commands.enable.required"),
        ("approvals: {commands: {grant: {required: 0}}}", "approvals.commands.grant.required"),
        # A grant is bounded: at least a few minutes, at most a year; alerts need a count.
        ("grants: {max_minutes: 1}", "grants.max_minutes"),
        ("grants: {max_minutes: 525601}", "grants.max_minutes"),
        ("grants: {alert_after_failures: 0}", "grants.alert_after_failures"),
        ("grants: {max_hours: 4}", "unknown key 'max_hours'"),
        ("incidents: {channel: ops}", "incidents.channel"),
        ("incidents: {oncall: U0ALICE}", "incidents.oncall"),
        ("incidents: {min_guardduty_severity: 11}", "incidents.min_guardduty_severity"),
        ("incidents: {min_guardduty_severity: high}", "incidents.min_guardduty_severity"),
        ("incidents: {chanel: C0SEC}", "unknown key 'chanel'"),
    ],
)
def test_invalid_config_names_the_setting(text: str, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, OPERATIONS)
    assert named in str(err.value)
    assert "\n" not in str(err.value)


def test_incidents_go_to_a_channel_with_an_oncall_group_and_a_guardduty_floor() -> None:
    config = parse_config(
        "incidents: {channel: C0SEC, oncall: S0ONCALL, min_guardduty_severity: 5}", OPERATIONS
    )
    assert config.incidents.channel == "C0SEC"
    assert config.incidents.oncall == "S0ONCALL"
    assert config.incidents.min_guardduty_severity == 5.0
    assert parse_config("", OPERATIONS).incidents.min_guardduty_severity == 7.0


def test_grants_last_a_week_at_most_unless_the_config_says() -> None:
    assert parse_config("", OPERATIONS).grants.max_minutes == 7 * 24 * 60
    assert parse_config("grants: {max_minutes: 240}", OPERATIONS).grants.max_minutes == 240
    assert (
        parse_config("", OPERATIONS).approvals.required_for("revoke") == 0
    )  # it only takes access away


def test_strict_values_that_are_right_still_load() -> None:
    config = parse_config(
        """
approvals:
  expire_minutes: 525600
  commands: {offboard: {required: 2}, delete-key: {required: 1}, enable: {}, rotate: {required: 0}}
rotation:
  notify_owner: no
  secret_name: "team+keys/{user}/key.v2"
  kms_key_id: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
  last_use_margin_minutes: 10080
audit: {dm_owners: yes}
rotation_age_days: 3650
""",
        OPERATIONS,
    )
    assert config.rotation.notify_owner is False and config.audit.dm_owners is True
    assert config.approvals.required_for("offboard") == 2
    assert config.approvals.required_for("enable") == 1
    assert config.approvals.required_for("rotate") == 0
    assert config.rotation.secret_name.format(user="bob") == "team+keys/bob/key.v2"
    assert config.approvals.expire_minutes == 525600
    for key in ("alias/iam-bot", "1234abcd-12ab-34cd-56ef-1234567890ab"):
        assert (
            parse_config(f"rotation: {{kms_key_id: {key}}}", OPERATIONS).rotation.kms_key_id == key
        )


def test_non_utf8_config_file_is_named(tmp_path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes("permissions: {keys: ['*']}  # caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load_config(str(path), OPERATIONS)
    assert str(err.value) == f"IAM_BOT_CONFIG: {path} is not UTF-8 text (byte 33)"


def test_unreadable_config_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "missing.yml"), OPERATIONS)


ARABIC_100 = "\u0661\u0660\u0660"  # Arabic-Indic digits
GOOD_ENV = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "s3cr3t-signing"}


def test_settings_from_environment() -> None:
    settings = load_settings({**GOOD_ENV, "PORT": "8080", "SLACK_API_URL": "http://x/api/"})
    assert settings.port == 8080
    assert settings.slack_api_url == "http://x/api/"
    assert "xoxb" not in repr(settings) and "s3cr3t" not in repr(settings)


def test_the_events_queue_is_one_the_bots_policy_may_read() -> None:
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/iam-bot-events"
    assert load_settings({**GOOD_ENV, "IAM_BOT_EVENTS_QUEUE_URL": url}).events_queue_url == url
    assert load_settings(GOOD_ENV).events_queue_url is None
    other = "https://sqs.us-east-1.amazonaws.com/123456789012/other-queue"
    with pytest.raises(ConfigError, match=r"IAM_BOT_EVENTS_QUEUE_URL.*iam-bot-events"):
        load_settings({**GOOD_ENV, "IAM_BOT_EVENTS_QUEUE_URL": other})


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


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # The last would win: one approver instead of two, without a word.
        (
            "approvals:\n  commands:\n    offboard: {required: 2}\n    offboard: {required: 1}\n",
            "IAM_BOT_CONFIG: line 4: duplicate key 'offboard' (first at line 3)",
        ),
        # A second permissions block further down would grant approve to everyone.
        (
            "permissions:\n  approve: [S0SECURITY]\nchannels: [C0OPS]\npermissions:\n"
            "  approve: ['*']\n",
            "IAM_BOT_CONFIG: line 4: duplicate key 'permissions' (first at line 1)",
        ),
        (
            "permissions: {keys: ['*'], keys: [U0ALICE]}",
            "IAM_BOT_CONFIG: line 1: duplicate key 'keys' (first at line 1)",
        ),
        (
            'accounts:\n  list:\n    - id: "111122223333"\n      name: a\n      name: b\n',
            "IAM_BOT_CONFIG: line 5: duplicate key 'name' (first at line 4)",
        ),
    ],
)
def test_a_key_given_twice_is_refused_with_its_line(text: str, line: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, OPERATIONS)
    assert str(err.value) == line


def test_yaml_merge_keys_may_still_be_overridden() -> None:
    config = parse_config(
        "approvals:\n  commands:\n    offboard: &two {required: 2}\n"
        + "    delete-key: {<<: *two, required: 3}\n",
        OPERATIONS,
    )
    assert config.approvals.required_for("delete-key") == 3


@pytest.mark.parametrize(
    ("entry", "index"),
    [
        ("TAG:protected=true", 1),  # read as a user name, which cannot hold ":"
        (" break-glass", 1),
        ("break-glass ", 1),
        ("tag: protected=true", 1),
        ("tag:protected =true", 1),
        ("tag:protected= true", 1),
        ("tag:protected=", 1),
        ("tag:", 1),
        ("Tag:protected=true", 1),
        ("dave smith", 1),
        ("u" * 65, 1),
        ("", 1),
    ],
)
def test_a_protected_user_entry_that_protects_nobody_is_refused(entry: str, index: int) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(f"protected_users: [break-glass-admin, {entry!r}]", OPERATIONS)
    message = str(err.value)
    assert message.startswith(f"IAM_BOT_CONFIG: protected_users[{index}]: {entry!r} is neither")
    assert "tag:Key=Value" in message and "\n" not in message


def test_protected_user_names_and_tags_that_work_load() -> None:
    entries = ["break-glass-admin", "ci+deploy@corp.example", "tag:protected", "tag:team=sec ops"]
    config = parse_config(f"protected_users: {entries!r}", OPERATIONS)
    assert config.protected_users == tuple(entries)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (
            "audit: {schedule: '0 9 * * 1'}",
            "IAM_BOT_CONFIG: audit.schedule: needs audit_channel, where the scheduled audit is "
            "posted",
        ),
        (
            "permissions: {offboard: [U0SECLEAD], approve: []}",
            "IAM_BOT_CONFIG: permissions.approve: nobody may approve, yet offboard is granted: "
            "nothing it asks for could ever be approved",
        ),
        (
            "permissions: {onboard: [U0SECLEAD]}",
            "IAM_BOT_CONFIG: permissions.approve: nobody may approve, yet onboard is granted: "
            "nothing it asks for could ever be approved",
        ),
        (  # an account's own empty list leaves nobody to approve there
            "permissions: {offboard: [U0SECLEAD], approve: [S0SECURITY]}\n"
            'accounts:\n  list:\n    - id: "111122223333"\n      permissions: {approve: []}\n',
            "IAM_BOT_CONFIG: accounts.list[0].permissions.approve: nobody may approve, yet "
            "offboard is granted: nothing it asks for could ever be approved",
        ),
    ],
)
def test_a_config_that_could_never_act_is_refused(text: str, line: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(text, OPERATIONS)
    assert str(err.value) == line


@pytest.mark.parametrize(
    "text",
    [
        "audit: {schedule: '0 9 * * 1'}\naudit_channel: C0AUDIT",
        # Nothing granted needs an approver: rotate and deactivate are confirmed by the requester.
        "permissions: {rotate: [S0ONCALL], deactivate: [S0ONCALL], approve: []}",
        # onboard made a self-confirmed command needs nobody else.
        "permissions: {onboard: [U0SECLEAD]}\napprovals: {commands: {onboard: {required: 0}}}",
        # offboard is not granted in this account at all.
        "permissions: {offboard: [U0SECLEAD], approve: [S0SECURITY]}\n"
        'accounts:\n  list:\n    - id: "111122223333"\n'
        "      permissions: {offboard: [], approve: []}\n",
    ],
)
def test_configs_whose_commands_can_all_act_load(text: str) -> None:
    parse_config(text, OPERATIONS)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("IAM_BOT_WORKERS", "²"),  # str.isdigit() says yes, int() raises
        ("IAM_BOT_WORKERS", ARABIC_100),  # int() reads it as 100
        ("IAM_BOT_WORKERS", " 16"),
        ("IAM_BOT_WORKERS", "9" * 5000),  # over int()'s limit on digits
        ("IAM_BOT_RETENTION_DAYS", "²"),
        ("IAM_BOT_RETENTION_DAYS", ARABIC_100),
        ("IAM_BOT_RETENTION_DAYS", "+30"),
        ("PORT", "\u0668\u0660\u0668\u0660"),
        ("PORT", "65536"),
        ("PORT", "-1"),
    ],
)
def test_integer_settings_take_ascii_digits_only(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings({**GOOD_ENV, name: value})
    assert str(err.value).startswith(f"{name} must be ")
    assert "\n" not in str(err.value)


def test_integer_settings_in_range_load() -> None:
    env = {**GOOD_ENV, "IAM_BOT_WORKERS": "1000", "IAM_BOT_RETENTION_DAYS": "1", "PORT": "0"}
    settings = load_settings(env)
    assert (settings.workers, settings.retention_days, settings.port) == (1000, 1, 0)
