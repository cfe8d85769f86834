"""`/iam contain` and `/iam uncontain` over signed HTTP: a leaked key out of use in one step
(its other keys and AWSDenyAll if asked), signed by the person who confirmed it, a protected
user's too; undone only with someone else's approval, never the owner's, and never for a key
reported leaked."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sandbox.aws import FaithfulAws
from tests.fixtures.accounts import Org, listed_config, organization, source_identity
from tests.fixtures.aws import key_statuses
from tests.fixtures.served import served
from tests.fixtures.slack import (
    CONFIG,
    Bot,
    current,
    flatten,
    open_request,
    posted,
    request_id,
    told,
)

DENY_ALL = "arn:aws:iam::aws:policy/AWSDenyAll"
# carol may approve, and `dave` is hers: she must never approve giving its keys back.
CAROL_APPROVES = CONFIG.replace("approve: [S0SECURITY]", "approve: [S0SECURITY, U0CAROL]")


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return organization(aws)


def _user(iam, name: str = "dave", keys: int = 1, **tags: str) -> list[str]:
    iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return [iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"] for _ in range(keys)]


def _attached(iam, name: str = "dave") -> set[str]:
    found = iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
    return {p["PolicyArn"] for p in found}


def _contain(bot: Bot, words: str, *, user: str = "U0ALICE") -> str:
    """Contain as ``user`` asks and confirms it; the request's ID."""
    plan = open_request(bot, f"contain {words}", user=user)
    bot.press(plan, "Confirm", user=user)
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, plan)))
    return request_id(plan)


def test_contain_deactivates_the_key(bot: Bot, iam, aws) -> None:
    leaked, other = _user(iam, keys=2)
    plan = open_request(bot, f"contain {leaked} pushed to a public repo")
    assert f"Contain the access key {leaked} of dave" in flatten(plan)
    bot.press(plan, "Confirm", user="U0ALICE")

    done = flatten(current(bot, plan))
    assert "Done." in done and f"`{leaked}` now inactive" in done
    assert key_statuses(iam, "dave") == {leaked: "Inactive", other: "Active"}
    assert _attached(iam) == set()
    assert "Undo containment" in done and "Rotate now" in done


def test_all_keys_and_deny_all(bot: Bot, iam, aws) -> None:
    aws.add_aws_managed_policy("AWSDenyAll")
    leaked, other = _user(iam, keys=2)
    plan = open_request(bot, f"contain {leaked} --all-keys --deny-all sessions minted from it")
    text = flatten(plan)
    assert other in text and "AWSDenyAll" in text

    bot.press(plan, "Confirm", user="U0ALICE")

    assert "Done." in flatten(current(bot, plan))
    assert key_statuses(iam, "dave") == {leaked: "Inactive", other: "Inactive"}
    assert _attached(iam) == {DENY_ALL}


def test_a_protected_users_leaked_key_can_be_contained(bot: Bot, iam) -> None:
    [leaked] = _user(iam, "break-glass-admin")
    said = bot.said(bot.command(f"deactivate {leaked} leaked"))
    assert "is a protected user" in said  # deactivate keeps the rule

    _contain(bot, f"{leaked} leaked in a gist")

    assert key_statuses(iam, "break-glass-admin") == {leaked: "Inactive"}
    said = bot.said(bot.command(f"uncontain {leaked} false alarm"))
    assert "is a protected user" in said  # giving access back does not
    assert key_statuses(iam, "break-glass-admin") == {leaked: "Inactive"}


def test_a_reason_is_required(bot: Bot, iam) -> None:
    [leaked] = _user(iam)
    said = bot.said(bot.command(f"contain {leaked} --deny-all"))
    assert "a reason is required" in said
    assert key_statuses(iam, "dave") == {leaked: "Active"}


def test_undo_needs_an_approver_other_than_the_requester_and_the_owner(make_bot, iam, aws) -> None:
    bot = make_bot(CAROL_APPROVES)
    aws.add_aws_managed_policy("AWSDenyAll")
    leaked, other = _user(iam, keys=2, **{"slack-user-id": "U0CAROL"})
    iam.update_access_key(UserName="dave", AccessKeyId=other, Status="Inactive")
    contained = _contain(bot, f"{leaked} --all-keys --deny-all looked leaked")
    assert _attached(iam) == {DENY_ALL}

    undo = open_request(bot, f"uncontain {leaked} false positive: a test fixture key")
    assert "Undo the containment of the access key" in flatten(undo)
    assert contained in flatten(undo)
    assert other not in flatten(undo)  # inactive before: containment did not switch it off
    bot.press(undo, "Approve", user="U0ALICE")  # the requester
    bot.press(current(bot, undo), "Approve", user="U0CAROL")  # the key's owner
    assert "so you may not approve it" in told(bot, "U0CAROL")
    assert key_statuses(iam, "dave") == {leaked: "Inactive", other: "Inactive"}

    bot.press(current(bot, undo), "Approve", user="U0SEC1")

    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, undo)))
    assert key_statuses(iam, "dave") == {leaked: "Active", other: "Inactive"}
    assert _attached(iam) == set()


def test_undo_from_the_containments_button_keeps_a_reported_key_inactive(bot: Bot, iam) -> None:
    leaked, other = _user(iam, keys=2)
    plan = open_request(bot, f"contain {leaked} --all-keys suspicious calls")
    bot.press(plan, "Confirm", user="U0ALICE")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, plan)))
    bot.command(f"deactivate {other} found in CI logs", user="U0BOB")  # already off: reported

    bot.press(current(bot, plan), "Undo containment", user="U0BOB")
    undo = posted(bot, "Undo the containment of the access key")
    text = flatten(undo)
    assert f"Kept inactive: access key `{other}`, reported leaked by <@U0BOB>" in text
    bot.press(undo, "Approve", user="U0SEC2")

    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, undo)))
    assert key_statuses(iam, "dave") == {leaked: "Active", other: "Inactive"}


def test_a_double_click_contains_once(bot: Bot, iam, aws) -> None:
    aws.add_aws_managed_policy("AWSDenyAll")
    [leaked] = _user(iam)
    plan = open_request(bot, f"contain {leaked} --deny-all leaked")
    barrier = threading.Barrier(3)

    def click() -> None:
        barrier.wait()
        bot.sender.press(plan, user_id="U0ALICE", label="Confirm")

    threads = [threading.Thread(target=click) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bot.settle()
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, plan)))
    assert aws.count("UpdateAccessKey") == 1
    assert aws.count("AttachUserPolicy") == 1
    assert key_statuses(iam, "dave") == {leaked: "Inactive"}


def test_nothing_to_contain_is_said(bot: Bot, iam) -> None:
    [leaked] = _user(iam)
    iam.update_access_key(UserName="dave", AccessKeyId=leaked, Status="Inactive")
    said = bot.said(bot.command(f"contain {leaked} leaked"))
    assert "nothing to contain" in said
    assert not [m for m in bot.channel() if "Contain the access key" in flatten(m)]


def test_contain_acts_in_the_keys_own_account_signed_by_who_confirmed_it(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    production = aws.client("iam", org.production)
    production.create_user(UserName="ci-deployer")
    leaked = production.create_access_key(UserName="ci-deployer")["AccessKey"]["AccessKeyId"]

    plan = open_request(bot, f"contain {leaked} on pastebin", user="U0BOB")
    assert "in production" in flatten(plan)
    bot.press(plan, "Confirm", user="U0BOB")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, plan)))

    assert key_statuses(production, "ci-deployer") == {leaked: "Inactive"}
    [change] = aws.calls("UpdateAccessKey", account=org.production)
    assert change.source_identity == source_identity("U0BOB")


def test_a_failed_step_is_told_and_its_retry_does_only_what_is_left(bot: Bot, iam, aws) -> None:
    aws.add_aws_managed_policy("AWSDenyAll")
    leaked, other = _user(iam, keys=2)
    aws.fail("AttachUserPolicy", code="AccessDenied", status=403)
    plan = open_request(bot, f"contain {leaked} --all-keys --deny-all leaked")
    bot.press(plan, "Confirm", user="U0ALICE")

    failed = flatten(current(bot, plan))
    assert "Could not attach AWSDenyAll to `dave`" in failed and "AccessDenied" in failed
    assert key_statuses(iam, "dave") == {leaked: "Inactive", other: "Inactive"}
    assert _attached(iam) == set()

    bot.press(current(bot, plan), "Retry", user="U0SEC1")  # approvers retry

    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, plan)))
    assert _attached(iam) == {DENY_ALL}
    assert aws.count("UpdateAccessKey") == 2  # one per key, none again on the retry
    assert aws.count("AttachUserPolicy") == 1


def test_config_may_require_an_approver_for_containment(make_bot, iam) -> None:
    rules = (
        "approvals:\n  required: 1\n  expire_minutes: 60\n  commands:\n    contain: {required: 1}\n"
    )
    bot = make_bot(CONFIG.replace("approvals:\n  required: 1\n  expire_minutes: 60\n", rules))
    [leaked] = _user(iam)
    plan = open_request(bot, f"contain {leaked} leaked")
    bot.press(plan, "Approve", user="U0ALICE")  # the requester may not
    assert key_statuses(iam, "dave") == {leaked: "Active"}

    bot.press(current(bot, plan), "Approve", user="U0SEC1")

    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, plan)))
    assert key_statuses(iam, "dave") == {leaked: "Inactive"}


def test_killed_mid_containment_resumes_and_its_undo_still_knows_what_it_took(
    aws: FaithfulAws, slack, iam, tmp_path: Path, make_bot
) -> None:
    """kill -9 while AWSDenyAll is being attached: the restarted bot finishes the containment
    without reading again what was active (the keys are off by then), so the undo still gives
    back the keys it took, and only those."""
    aws.add_aws_managed_policy("AWSDenyAll")
    leaked, other = _user(iam, keys=2)
    with served(tmp_path, slack, CONFIG) as sender:
        words = f"contain {leaked} --all-keys --deny-all leaked"
        assert sender.command(words, user_id="U0ALICE").status == 200
        [plan] = slack.wait_for(
            lambda: [m for m in slack.messages("C0OPS") if "Contain the access" in flatten(m)]
        )
        aws.hold("AttachUserPolicy")
        assert sender.press(plan, user_id="U0ALICE", label="Confirm").status == 200
        assert aws.wait_held("AttachUserPolicy")
    aws.release("AttachUserPolicy")

    bot: Bot = make_bot(CONFIG)  # the same state file, started again
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, plan)), timeout=30)
    # Read when planned, and once before the first change: not again on the resumed run.
    assert aws.count("ListAttachedUserPolicies") == 2
    assert key_statuses(iam, "dave") == {leaked: "Inactive", other: "Inactive"}
    assert _attached(iam) == {DENY_ALL}

    undo = open_request(bot, f"uncontain {leaked} a false positive")
    assert leaked in flatten(undo) and other in flatten(undo)
    bot.press(undo, "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, undo)))
    assert key_statuses(iam, "dave") == {leaked: "Active", other: "Active"}
    assert _attached(iam) == set()
