"""`/iam onboard` end to end: plan, approval, the new user and its credentials in Secrets Manager,
refusals that change nothing, and a failed step resumed by Retry."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config_error import ConfigError
from bot.iam.errors import InvalidInput
from bot.logs import redact
from bot.operator_rules import parse_config
from bot.ops.context import UserError
from bot.ops.terms import OPERATIONS
from bot.slack.commands import onboard
from sandbox.aws import is_mutating
from tests.fixtures.aws import changes_since, iam_password, stored_secret, user_exists
from tests.fixtures.slack import (
    ONBOARD,
    Bot,
    current,
    direct_messages,
    flatten,
    leaks,
    posted,
    request_id,
    told,
)

CHANGE_PASSWORD = "arn:aws:iam::aws:policy/IAMUserChangePassword"
FULL = "onboard dave developers readers --console --key --for <@U0BOB|bob>"


@pytest.fixture
def bot(make_bot, iam, aws) -> Bot:
    for group in ("developers", "readers"):
        iam.create_group(GroupName=group)
    aws.add_aws_managed_policy("IAMUserChangePassword")
    return make_bot(ONBOARD)


def test_onboard_after_approval_delivers_credentials_and_never_leaks(
    bot: Bot, iam, aws, tmp_path: Path, log_output
) -> None:
    arranged = len(aws.calls())
    bot.command(FULL, user="U0ALICE")
    plan = posted(bot, "Onboard dave")
    text = flatten(plan)
    for item in (
        "developers",
        "readers",
        "IAMUserChangePassword",
        "slack-user-id=U0BOB",
        "created-by=U0ALICE",
        "iam-bot/dave/console-password",
        "iam-bot/dave/access-key",
        "Approve",
    ):
        assert item in text, item
    assert (
        not user_exists(iam, "dave") and changes_since(aws, arranged) == []
    )  # nothing before approval

    bot.press(plan, "Approve", user="U0SEC1")

    user = iam.get_user(UserName="dave")["User"]
    tags = {t["Key"]: t["Value"] for t in user["Tags"]}
    assert tags["slack-user-id"] == "U0BOB" and tags["created-by"] == "U0ALICE"
    groups = {g["GroupName"] for g in iam.list_groups_for_user(UserName="dave")["Groups"]}
    assert groups == {"developers", "readers"}
    iam.get_login_profile(UserName="dave")
    # moto 5.2 ignores CreateLoginProfile's PasswordResetRequired, so read what the bot asked.
    [made] = [c for c in aws.calls("CreateLoginProfile") if c.status == 200]
    assert made.params["PasswordResetRequired"] == "true"
    attached = iam.list_attached_user_policies(UserName="dave")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [CHANGE_PASSWORD]
    [key] = iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]

    console = stored_secret("iam-bot/dave/console-password")
    password = console["Password"]
    assert console["UserName"] == "dave" and password == iam_password(aws, "dave")
    assert console["ConsoleUrl"] == f"https://{aws.account_id}.signin.aws.amazon.com/console"
    assert len(password) >= 20
    for kind in (str.isupper, str.islower, str.isdigit, lambda c: not c.isalnum()):
        assert any(kind(c) for c in password)
    access = stored_secret("iam-bot/dave/access-key")
    assert access["AccessKeyId"] == key["AccessKeyId"]

    done = flatten(current(bot, plan))
    assert "Done. IAM user dave created" in done and done.count("arn:aws:secretsmanager") >= 2
    [dm] = direct_messages(bot.slack)
    assert "console-password" in dm and key["AccessKeyId"] in dm

    state, logs = tmp_path / "state.sqlite3", log_output.getvalue()
    for value in (password, access["SecretAccessKey"]):
        assert leaks(value, bot=bot, aws=aws, state=state, logs=logs) == []
    # The scan sees what is meant to be seen: the key ID, the user's name, the AWS calls.
    assert leaks(key["AccessKeyId"], bot=bot, aws=aws, state=state, logs=logs) == [
        "slack",
        "store",
        "log",
    ]
    assert "CreateLoginProfile" in logs and "aws calls" in leaks(
        "dave", bot=bot, aws=aws, state=state
    )


@pytest.mark.parametrize(
    ("text", "user", "words"),
    [
        ("onboard taken developers", "U0ALICE", "IAM user named `taken` already exists"),
        ("onboard dave developers ghosts --key", "U0ALICE", "No IAM group named `ghosts`"),
        ("onboard break-glass-admin --console", "U0ALICE", "protected user"),
        ("onboard dave --console", "U0BOB", "You need the `onboard` permission"),
    ],
)
def test_refusals_after_the_ack_change_nothing(
    bot: Bot, iam, aws, text: str, user: str, words: str
) -> None:
    iam.create_user(UserName="taken")
    arranged = len(aws.calls())
    assert words in bot.said(bot.command(text, user=user))
    assert bot.channel() == [] and changes_since(aws, arranged) == []
    assert not user_exists(iam, "dave")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("onboard", "Usage: `/iam onboard"),
        ("onboard bad/name --console", "IAM user name"),
        ("onboard dave bad/group", "IAM group name"),
        ("onboard dave --admin", "`--admin` is not an option"),
        ("onboard dave --Console", "`--Console` is not an option"),
        ("onboard AKIAIOSFODNN7EXAMPLE --key", "shaped like an access key ID"),
        ("onboard asiaiosfodnn7example", "shaped like an access key ID"),
        ("onboard dave --for bob", "`--for` takes a Slack mention"),
        ("onboard dave <@U0BOB|bob>", "A mention goes after `--for`"),
        ("onboard dave " + " ".join(f"g{i}" for i in range(11)), "at most 10 groups"),
    ],
)
def test_bad_input_is_answered_in_the_ack_before_any_aws_call(
    bot: Bot, aws, text: str, words: str
) -> None:
    arranged = len(aws.calls())
    reply = bot.command(text, user="U0ALICE")
    assert words in reply.body
    assert aws.calls()[arranged:] == [] and bot.channel() == []


@given(st.lists(st.text(max_size=30) | st.sampled_from(["--for", "--key", "<@U1>", "<@"])))
def test_check_only_ever_refuses_in_words(args: list[str]) -> None:
    with contextlib.suppress(UserError, InvalidInput):
        onboard.check(tuple(args))


def test_requester_cannot_approve_their_own_onboarding(bot: Bot, iam, aws) -> None:
    bot.command("onboard dave developers --console", user="U0SEC1")
    plan = posted(bot, "Onboard dave")
    assert "your approval does not count" in bot.said(bot.press(plan, "Approve", user="U0SEC1"))
    assert not user_exists(iam, "dave")
    bot.press(plan, "Approve", user="U0SEC2")
    assert user_exists(iam, "dave")


def test_failed_step_then_retry_creates_nothing_twice(bot: Bot, iam, aws, tmp_path: Path) -> None:
    bot.command(FULL, user="U0ALICE")
    plan = posted(bot, "Onboard dave")
    arranged = len(aws.calls())
    aws.fail("CreateLoginProfile", code="ServiceFailure", status=500, times=5)  # outlasts retries
    bot.press(plan, "Approve", user="U0SEC1")

    failed = flatten(current(bot, plan))
    assert "create console password `dave` failed" in failed
    done_part = failed.split("Done:", 1)[1]
    for step in ("create user `dave`", "add to group `developers`", "create access key `dave`"):
        assert step in done_part, step
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="dave")

    bot.press(current(bot, plan), "Retry", user="U0SEC2")

    assert "Done. IAM user dave created" in flatten(current(bot, plan))
    password = stored_secret("iam-bot/dave/console-password")["Password"]
    assert password == iam_password(aws, "dave")  # the stored password is the one that works
    ok = [c for c in aws.calls()[arranged:] if is_mutating(c.action) and c.status < 300]
    made = [c.action for c in ok]
    assert made.count("CreateUser") == 1 and made.count("CreateAccessKey") == 1
    assert made.count("CreateLoginProfile") == 1 and made.count("AddUserToGroup") == 2
    assert made.count("AttachUserPolicy") == 1
    assert sorted(c.params["Name"] for c in ok if c.action == "CreateSecret") == [
        "iam-bot/dave/access-key",
        "iam-bot/dave/console-password",
    ]
    assert len(iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]) == 1
    assert leaks(password, bot=bot, aws=aws, state=tmp_path / "state.sqlite3") == []


@pytest.mark.parametrize("ours", [True, False])
def test_existing_user_on_retry_counts_only_if_this_request_made_it(
    bot: Bot, iam, aws, ours: bool
) -> None:
    """A CreateUser whose answer was lost leaves a user tagged with the request: done on Retry.
    A user someone else made meanwhile is not adopted: nothing is added to it."""
    bot.command("onboard dave developers --key", user="U0ALICE")
    plan = posted(bot, "Onboard dave")
    aws.fail("CreateUser", code="ServiceFailure", status=500, times=5)
    bot.press(plan, "Approve", user="U0SEC1")
    assert not user_exists(iam, "dave")
    tag = {"Key": "iam-bot:request", "Value": request_id(plan) if ours else "someone-else"}
    iam.create_user(UserName="dave", Tags=[tag])
    arranged = len(aws.calls())

    bot.press(current(bot, plan), "Retry", user="U0SEC2")

    text = flatten(current(bot, plan))
    if ours:
        assert "Done." in text
        assert len(iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]) == 1
    else:
        assert "created by someone else meanwhile" in text and "Done: nothing" in text
        assert changes_since(aws, arranged) == ["CreateUser"]
        assert iam.list_groups_for_user(UserName="dave")["Groups"] == []


@pytest.mark.parametrize(
    ("line", "password"),
    [  # botocore's debug lines: a dict's repr, JSON in a bytes repr, a query string
        ("""'body': {'Password': "P4ss'w!rd", 'PasswordResetRequired': 'true'}""", "P4ss'w!rd"),
        (r"""b'{"SecretString": "{\\"Password\\": \\"P4ss!w{rd}\\"}"}'""", "P4ss!w{rd}"),
        ("UserName=dave&Password=P4ss%21w%7Brd%7D&PasswordResetRequired=1", "P4ss%21w%7Brd%7D"),
    ],
)
def test_the_log_filter_masks_a_password_by_its_parameter_name(line: str, password: str) -> None:
    assert redact(line) == line.replace(password, "[redacted]")


def test_onboarding_config_is_validated() -> None:
    assert parse_config(
        "onboarding: {secret_name: 'people/{user}/pw'}", OPERATIONS
    ).onboarding.secret_name == ("people/{user}/pw")
    assert parse_config("", OPERATIONS).onboarding.secret_name == "iam-bot/{user}/console-password"
    with pytest.raises(ConfigError, match=r"onboarding\.secret_name"):
        parse_config("onboarding: {secret_name: no-placeholder}", OPERATIONS)
    with pytest.raises(ConfigError, match="onboarding: unknown key 'kms'"):
        parse_config("onboarding: {kms: x}", OPERATIONS)


def test_the_person_a_new_user_is_for_never_approves_it(bot: Bot, iam) -> None:
    """An approver onboarded for themselves (their Slack ID in the new user's identity tag)
    is the person the request is about: their approval is refused, another's counts."""
    bot.command("onboard dave --key --for <@U0SEC2|sec2>", user="U0ALICE")
    plan = posted(bot, "Onboard dave")
    bot.press(plan, "Approve", user="U0SEC2")
    assert "about you" in told(bot, "U0SEC2")
    assert not user_exists(iam, "dave")
    bot.press(current(bot, plan), "Approve", user="U0SEC1")
    assert user_exists(iam, "dave")
