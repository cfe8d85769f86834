"""`/iam keys` on my own keys puts Deactivate and Rotate one click away, those I may press
in the key's account, none on a protected user; on someone else's keys it shows them only."""

from __future__ import annotations

from sandbox.aws import FaithfulAws
from tests.fixtures.accounts import listed_config, organization
from tests.fixtures.aws import key_statuses
from tests.fixtures.slack import Bot, flatten, posted


def _buttons(message) -> list[str]:
    return [
        element["text"]["text"]
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def test_my_own_active_keys_have_deactivate_and_rotate(bot: Bot, iam) -> None:
    iam.create_user(UserName="alice", Tags=[{"Key": "slack-user-id", "Value": "U0ALICE"}])
    active = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    spare = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="alice", AccessKeyId=spare, Status="Inactive")
    for text in ("keys me", "keys alice"):
        answer = bot.replies(bot.command(text, user="U0ALICE"))[-1]
        assert _buttons(answer) == ["Deactivate now", "Rotate", "Delete key"], text
        assert active in flatten(answer) and spare in flatten(answer)
    bot.press(answer, "Delete key", user="U0ALICE")  # the inactive one's next step
    assert spare in flatten(posted(bot, "Delete the access key"))
    bot.press(answer, "Deactivate now", user="U0ALICE")
    request = posted(bot, "Deactivate the access key")
    assert active in flatten(request)
    bot.press(request, "Confirm", user="U0ALICE")
    assert key_statuses(iam, "alice")[active] == "Inactive"


def test_someone_elses_keys_have_no_buttons(bot: Bot, iam) -> None:
    iam.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    iam.create_access_key(UserName="dave")
    answer = bot.replies(bot.command("keys dave", user="U0ALICE"))[-1]
    assert "Access keys of dave" in flatten(answer)
    assert _buttons(answer) == []


def test_my_own_keys_offer_only_what_i_may_do(bot: Bot, iam) -> None:
    iam.create_user(UserName="carol", Tags=[{"Key": "slack-user-id", "Value": "U0CAROL"}])
    iam.create_access_key(UserName="carol")
    answer = bot.replies(bot.command("keys me", user="U0CAROL"))[-1]  # carol may only look
    assert "Access keys of carol" in flatten(answer)
    assert _buttons(answer) == []


def test_a_production_key_offers_no_rotate_where_i_may_not_rotate(
    make_bot, aws: FaithfulAws
) -> None:
    org = organization(aws)
    rules = "      permissions:\n        rotate: [S0SECURITY]\n"
    bot: Bot = make_bot(listed_config(org, rules=rules))
    production = aws.client("iam", org.production)
    production.create_user(UserName="alice", Tags=[{"Key": "slack-user-id", "Value": "U0ALICE"}])
    production.create_access_key(UserName="alice")
    answer = bot.replies(bot.command("keys me --account production", user="U0ALICE"))[-1]
    assert _buttons(answer) == ["Deactivate now"]  # alice may deactivate there, not rotate


def test_a_protected_users_keys_offer_nothing_but_contain_and_say_why(bot: Bot, iam) -> None:
    iam.create_user(
        UserName="break-glass-admin", Tags=[{"Key": "slack-user-id", "Value": "U0ALICE"}]
    )
    key = iam.create_access_key(UserName="break-glass-admin")["AccessKey"]["AccessKeyId"]
    iam.create_access_key(UserName="break-glass-admin")  # two active keys: no Finish either
    for text, buttons in (("keys me", []), (f"whois {key}", ["Contain"])):
        answer = bot.replies(bot.command(text, user="U0ALICE"))[-1]
        assert _buttons(answer) == buttons, text  # containing is the one change it may make
        assert "`break-glass-admin` is protected" in flatten(answer), text


def test_my_two_active_keys_offer_each_action_once(bot: Bot, iam) -> None:
    iam.create_user(UserName="alice", Tags=[{"Key": "slack-user-id", "Value": "U0ALICE"}])
    iam.create_access_key(UserName="alice")
    iam.create_access_key(UserName="alice")
    answer = bot.replies(bot.command("keys me", user="U0ALICE"))[-1]
    assert "Two active keys" in flatten(answer)
    assert _buttons(answer) == ["Deactivate now", "Rotate"] * 2  # the older's Deactivate finishes
