"""Every change in another account is signed with the Slack workspace (`U0ALICE@T…`, what the
README's CloudTrail query looks for), even when Slack's `auth.test` fails: the team comes from
the input itself, or, for work that has none (a step due after a restart), from the store,
where the first replica that learned it kept it; with neither, the work waits until Slack says
it, changing nothing in AWS meanwhile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.ops.context import WORKSPACE
from sandbox.aws import FaithfulAws, is_mutating
from tests.fixtures.accounts import Org, listed_config, organization, source_identity
from tests.fixtures.aws import aged_key, key_statuses
from tests.fixtures.slack import Bot, current, flatten, open_request, posted

ROTATION = "rotation: {grace_minutes: 60, delete_after_minutes: 60}\n"


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    return organization(aws)


def _signed(aws: FaithfulAws, account: str, since: int) -> set[str]:
    """The source identities of the changes made in ``account`` after the ``since``-th call."""
    made = aws.calls()[since:]
    return {
        c.source_identity
        for c in made
        if c.account == account and is_mutating(c.action) and c.action != "AssumeRole"
    }


def test_an_approved_run_is_signed_with_the_team_when_auth_test_fails(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    bot: Bot = make_bot(listed_config(org))
    staging = aws.client("iam", org.staging)
    staging.create_user(UserName="leaver")
    aged_key(staging, aws, "leaver", age_days=10)
    bot.slack.fail("auth.test", "http_500", times=1000)

    seeded = len(aws.calls())
    request = open_request(bot, "offboard leaver left the company --account staging")
    bot.press(request, "Approve", user="U0SEC1")
    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, request)))
    assert _signed(aws, org.staging, seeded) == {source_identity("U0ALICE")}


def _rotation_in_its_grace(make_bot, aws: FaithfulAws, org: Org, clock) -> tuple[str, str, Bot]:
    """dave's rotation in production, confirmed, waiting out its grace period with the old key
    still active; the bot stopped. The config, the old key and the stopped bot."""
    config = listed_config(org) + ROTATION
    bot: Bot = make_bot(config, clock=clock)
    production = aws.client("iam", org.production)
    production.create_user(UserName="dave")
    old = aged_key(production, aws, "dave", age_days=200, used_days_ago=10)
    bot.command("rotate dave --account production")
    bot.press(posted(bot, "Rotate the access key"), "Confirm", user="U0ALICE")
    assert key_statuses(production, "dave")[old] == "Active"  # the grace period
    bot.stop()
    return config, old, bot


def test_a_step_due_after_a_restart_is_signed_with_the_team_a_replica_kept(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    now = [datetime.now(UTC)]
    config, old, _ = _rotation_in_its_grace(make_bot, aws, org, lambda: now[0])

    restarted: Bot = make_bot(config, clock=lambda: now[0])  # same state, no input seen yet
    restarted.slack.fail("auth.test", "http_500", times=1000)
    seeded = len(aws.calls())
    now[0] += timedelta(minutes=61)
    restarted.catch_up()

    production = aws.client("iam", org.production)
    assert key_statuses(production, "dave")[old] == "Inactive"
    assert _signed(aws, org.production, seeded) == {source_identity("U0ALICE")}


def test_a_step_due_before_anyone_names_the_team_waits_and_changes_nothing(
    make_bot, aws: FaithfulAws, org: Org
) -> None:
    now = [datetime.now(UTC)]
    clock = lambda: now[0]  # noqa: E731
    config, old, stopped = _rotation_in_its_grace(make_bot, aws, org, clock)
    production = aws.client("iam", org.production)
    forgotten = datetime.now(UTC) + timedelta(days=1)  # as a version that kept no team left it
    assert stopped.store.purge(WORKSPACE, WORKSPACE, forgotten) == 1

    restarted: Bot = make_bot(config, clock=clock)  # same state: it has seen no input yet
    restarted.slack.fail("auth.test", "http_500", times=1000)
    seeded = len(aws.calls())
    now[0] += timedelta(minutes=61)
    restarted.catch_up()
    assert key_statuses(production, "dave")[old] == "Active"
    assert not _signed(aws, org.production, seeded)

    restarted.slack.clear()  # Slack answers again
    restarted.catch_up()
    assert key_statuses(production, "dave")[old] == "Inactive"
    assert _signed(aws, org.production, seeded) == {source_identity("U0ALICE")}
