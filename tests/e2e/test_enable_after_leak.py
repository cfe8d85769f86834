"""`/iam enable` never undoes a leak, over signed HTTP: a key reported with `/iam deactivate`
after a disable had switched it off (already inactive, so nothing to change) is recorded, and
enabling the user keeps that key inactive and says who reported it, when and why."""

from __future__ import annotations

from sandbox.aws import FaithfulAws
from sandbox.seed import attach_everything
from tests.fixtures.accounts import listed_config, organization
from tests.fixtures.aws import key_statuses
from tests.fixtures.hostile import PINGS_AND_LINKS, unescaped
from tests.fixtures.slack import Bot, current, flatten, open_request

USER = "leaver"


def _disabled(bot: Bot, iam) -> tuple[str, str]:
    """The leaver with two active keys, disabled; the keys."""
    leaked, other = attach_everything(iam, USER).keys
    plan = open_request(bot, f"offboard {USER} on leave --disable")
    bot.press(plan, "Approve", user="U0SEC1")
    assert "Done." in flatten(current(bot, plan))
    assert key_statuses(iam, USER) == {leaked: "Inactive", other: "Inactive"}
    return leaked, other


def _report(bot: Bot, key: str, reason: str) -> str:
    posted = len(bot.channel())
    said = bot.said(bot.command(f"deactivate {key} {reason}", user="U0BOB"))
    assert len(bot.channel()) == posted  # nothing to confirm: the key is already inactive
    return said


def test_a_key_reported_after_the_disable_stays_inactive(bot: Bot, iam) -> None:
    leaked, other = _disabled(bot, iam)

    said = _report(bot, leaked, "leaked on github")
    assert f"`{leaked}` of {USER} is already inactive" in said
    assert "Your report is recorded" in said and f"`/iam enable {USER}` will keep" in said

    plan = open_request(bot, f"enable {USER} back from leave")
    text = flatten(plan)
    assert f"Kept inactive: access key `{leaked}`, reported leaked by <@U0BOB>" in text
    assert ">leaked on github" in text
    assert f"`{other}`" in text and text.count(leaked) == 1  # in the kept line only
    bot.press(plan, "Approve", user="U0SEC2")

    assert "Done." in flatten(current(bot, plan))
    assert key_statuses(iam, USER) == {leaked: "Inactive", other: "Active"}


def test_a_key_reported_after_the_enable_was_approved_is_not_reactivated(bot: Bot, iam) -> None:
    leaked, other = _disabled(bot, iam)
    plan = open_request(bot, f"enable {USER} back from leave")
    assert leaked in flatten(plan)  # nothing reported yet: planned for reactivation

    _report(bot, leaked, "found in a public gist")
    bot.press(plan, "Approve", user="U0SEC2")

    done = flatten(current(bot, plan))
    assert "Done." in done and f"Kept inactive: access key `{leaked}`" in done
    assert key_statuses(iam, USER) == {leaked: "Inactive", other: "Active"}


def test_a_deactivation_confirmed_after_the_disable_is_not_undone(bot: Bot, iam) -> None:
    leaked, other = attach_everything(iam, USER).keys
    deactivation = open_request(bot, f"deactivate {leaked} leaked in CI logs")
    disable = open_request(bot, f"offboard {USER} on leave --disable")
    bot.press(disable, "Approve", user="U0SEC1")
    bot.press(deactivation, "Confirm", user="U0ALICE")  # the key was off already
    assert "Done." in flatten(current(bot, deactivation))

    plan = open_request(bot, f"enable {USER} back from leave")
    assert f"Kept inactive: access key `{leaked}`, reported leaked by <@U0ALICE>" in flatten(plan)
    bot.press(plan, "Approve", user="U0SEC2")
    assert key_statuses(iam, USER) == {leaked: "Inactive", other: "Active"}


def test_a_hostile_report_is_shown_as_typed(bot: Bot, iam) -> None:
    leaked, _ = _disabled(bot, iam)
    _report(bot, leaked, " ".join(PINGS_AND_LINKS))
    text = flatten(open_request(bot, f"enable {USER} back from leave"))
    assert unescaped(text) == []
    assert ">&lt;!channel&gt;" in text


def test_a_report_counts_in_the_key_s_own_account(make_bot, aws: FaithfulAws) -> None:
    """Reported from the default account, a production key is recorded in production: the
    enable there keeps it inactive."""
    org = organization(aws)
    bot: Bot = make_bot(listed_config(org))
    production = aws.client("iam", org.production, faithful=True)
    leaked, other = attach_everything(production, USER).keys
    plan = open_request(bot, f"offboard {USER} on leave --disable --account production")
    bot.press(plan, "Approve", user="U0SEC1")

    said = _report(bot, leaked, "leaked on github")  # no --account: the key says where
    assert "Your report is recorded" in said

    enable = open_request(bot, f"enable {USER} back --account production")
    assert f"Kept inactive: access key `{leaked}`" in flatten(enable)
    bot.press(enable, "Approve", user="U0SEC2")
    assert "Done." in flatten(current(bot, enable))
    assert key_statuses(production, USER) == {leaked: "Inactive", other: "Active"}
