"""No dead ends, no false doors: a reply offers the next step as a button to whoever may take
it, in the account the key is in, and shows none that its reader would only be refused on (a
protected user's, a permission the reader lacks). The Deny button asks for a reason only of
someone whose denial can count."""

from __future__ import annotations

import pytest

from sandbox.aws import FaithfulAws
from sandbox.slack_api import Message
from tests.fixtures.accounts import Org, listed_config, organization
from tests.fixtures.aws import aged_key, key_statuses, make_full_user
from tests.fixtures.slack import CONFIG, Bot, current, flatten, open_request, posted


def _buttons(message: Message) -> list[str]:
    return [
        element["text"]["text"]
        for block in message.blocks or []
        for element in (
            block.get("elements", [])
            if block.get("type") == "actions"
            else [block["accessory"]]
            if block.get("accessory", {}).get("type") == "button"
            else []
        )
    ]


def _answer(bot: Bot, text: str, *, user: str) -> Message:
    """The reply only ``user`` saw to their command (its last message)."""
    return bot.replies(bot.command(text, user=user))[-1]


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return organization(aws)


def test_rotate_now_at_the_two_key_limit_offers_to_delete_the_spare_key_in_its_account(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    production = aws.client("iam", org.production)
    production.create_user(UserName="ci-deployer")
    leaked = aged_key(production, aws, "ci-deployer", age_days=30, used_days_ago=0.1)
    other = aged_key(production, aws, "ci-deployer", age_days=3, used_days_ago=0.1)

    bot.command(f"deactivate {leaked} pasted in a public gist")
    deactivation = posted(bot, "Deactivate the access key")
    bot.press(deactivation, "Confirm", user="U0ALICE")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, deactivation)))
    done = current(bot, deactivation)
    limit = bot.replies(bot.press(done, "Rotate now", user="U0ALICE"))[-1]
    assert "Delete one first" in flatten(limit)
    assert _buttons(limit) == [f"Delete {leaked}"]  # the inactive one; never the key in use

    bot.press(limit, f"Delete {leaked}", user="U0ALICE")
    deletion = posted(bot, "Delete the access key")
    assert "in production" in flatten(deletion) and leaked in flatten(deletion)
    bot.press(deletion, "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: key_statuses(production, "ci-deployer") == {other: "Active"})


def test_at_the_limit_with_both_keys_in_use_each_can_be_deactivated_first(
    bot: Bot, iam, aws
) -> None:
    iam.create_user(UserName="dave")
    first = aged_key(iam, aws, "dave", age_days=200, used_days_ago=1)
    second = aged_key(iam, aws, "dave", age_days=2, used_days_ago=1)
    limit = _answer(bot, "rotate dave", user="U0ALICE")
    assert "Deactivate one first" in flatten(limit)
    assert _buttons(limit) == [f"Deactivate {first}", f"Deactivate {second}"]

    bot.press(limit, f"Deactivate {first}", user="U0ALICE")
    request = posted(bot, "Deactivate the access key")
    bot.press(request, "Confirm", user="U0ALICE")
    bot.slack.wait_for(lambda: key_statuses(iam, "dave") == {first: "Inactive", second: "Active"})


def test_whoever_may_rotate_may_delete_the_spare_key_the_limit_offers(make_bot, iam, aws) -> None:
    """A rotation ends by deleting a key, so deleting one may be asked with `rotate`: the
    Delete button a rotation offers needs what the delete-key operation declares, and its
    click opens the deletion for approval."""
    bot: Bot = make_bot(CONFIG.replace("rotate: [S0ONCALL]", "rotate: [S0ONCALL, U0CAROL]"))
    iam.create_user(UserName="dave")
    spare = aged_key(iam, aws, "dave", age_days=200, used_days_ago=None)
    kept = aged_key(iam, aws, "dave", age_days=2, used_days_ago=1)
    limit = _answer(bot, "rotate dave", user="U0CAROL")  # carol may rotate, not deactivate
    assert _buttons(limit) == [f"Delete {spare}"]

    bot.press(limit, f"Delete {spare}", user="U0CAROL")
    deletion = posted(bot, "Delete the access key")
    assert spare in flatten(deletion) and "<@U0CAROL>" in flatten(deletion)
    bot.press(deletion, "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: key_statuses(iam, "dave") == {kept: "Active"})


def test_the_limit_offers_no_button_to_someone_who_may_not_press_it(make_bot, iam, aws) -> None:
    bot: Bot = make_bot(CONFIG.replace("rotate: [S0ONCALL]", "rotate: [S0ONCALL, U0CAROL]"))
    iam.create_user(UserName="dave")
    first = aged_key(iam, aws, "dave", age_days=200, used_days_ago=1)
    aged_key(iam, aws, "dave", age_days=2, used_days_ago=1)
    limit = _answer(bot, "rotate dave", user="U0CAROL")  # carol may rotate, not deactivate
    assert first in flatten(limit)
    assert _buttons(limit) == []  # both in use: each must be deactivated first
    assert "You may not delete or deactivate these keys" in flatten(limit)


def test_audit_buttons_only_for_who_may_press_and_none_on_a_protected_user(
    make_bot, iam, aws
) -> None:
    audit = "permissions:\n  audit: [S0ONCALL, S0SECURITY]\n"
    bot: Bot = make_bot(CONFIG.replace("permissions:\n", audit, 1))
    for name in ("old", "break-glass-admin"):
        iam.create_user(UserName=name)
        aged_key(iam, aws, name, age_days=200, used_days_ago=1)

    alices = _answer(bot, "audit", user="U0ALICE")
    assert _buttons(alices) == ["Rotate"]  # old's; none on the protected user
    assert "*break-glass-admin*" in flatten(alices) and ":lock: protected" in flatten(alices)
    bot.press(alices, "Rotate", user="U0ALICE")
    assert "old" in flatten(posted(bot, "Rotate the access key"))

    security = _answer(bot, "audit", user="U0SEC1")  # may audit, not rotate
    assert "*old*" in flatten(security)
    assert _buttons(security) == []


def test_deny_is_refused_at_once_to_whoever_may_not_deny(bot: Bot, iam) -> None:
    make_full_user(iam)
    request = open_request(bot)  # alice offboards the leaver; security approves
    said = bot.said(bot.press(request, "Deny", user="U0CAROL"))
    assert "You need the `approve` permission to deny this." in said
    assert bot.slack.views() == []  # no reason was asked for, to be thrown away

    bot.press(request, "Deny", user="U0SEC1")
    [modal] = bot.slack.wait_for(lambda: bot.slack.views())
    values = {"reason": {"reason": {"type": "plain_text_input", "value": "not yet"}}}
    bot.sender.submit_view(modal, user_id="U0SEC1", values=values)
    bot.settle()
    bot.slack.wait_for(lambda: "denied" in flatten(current(bot, request)).lower())

    again = bot.said(bot.press(request, "Deny", user="U0SEC2"))  # the message as it was
    assert "Already denied by <@U0SEC1>" in again
    assert len(bot.slack.views()) == 1


def test_whois_of_a_key_already_inactive_offers_its_deletion(bot: Bot, iam, aws) -> None:
    iam.create_user(UserName="dave")
    leaked = aged_key(iam, aws, "dave", age_days=30, used_days_ago=2)
    iam.update_access_key(UserName="dave", AccessKeyId=leaked, Status="Inactive")
    answer = _answer(bot, f"whois {leaked}", user="U0ALICE")
    assert _buttons(answer) == ["Delete key"]  # not a Deactivate that would only say "already"
    bot.press(answer, "Delete key", user="U0ALICE")
    assert leaked in flatten(posted(bot, "Delete the access key"))


def test_whois_of_a_production_key_offers_rotate_only_where_one_may_rotate(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    rules = "      permissions:\n        rotate: [S0SECURITY]\n"
    bot: Bot = make_bot(listed_config(org, rules=rules))
    production = aws.client("iam", org.production)
    production.create_user(UserName="ci-deployer")
    leaked = aged_key(production, aws, "ci-deployer", age_days=30, used_days_ago=0.1)
    answer = _answer(bot, f"whois {leaked}", user="U0ALICE")  # asked from management
    assert _buttons(answer) == ["Deactivate now"]  # alice may rotate elsewhere, not there
