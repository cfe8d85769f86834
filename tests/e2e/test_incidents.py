"""AWS's alarms about a leaked key become one incident and one card in the incidents channel,
updated as more signals arrive; the key's owner is told by DM. Events come as AWS sends them
(sandbox/aws_events.py), through the app's intake (what the Lambda handler calls) or through a
moto SQS queue the bot polls; the card is what the fake Slack received."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from bot.access import incidents
from bot.access.store import Record
from sandbox.aws_events import (
    guardduty_event,
    health_event,
    quarantine_event,
    trusted_advisor_event,
)
from sandbox.slack_api import Message
from tests.e2e.test_home import open_home, shown
from tests.e2e.test_investigate import Attacker
from tests.fixtures.accounts import listed_config, organization
from tests.fixtures.aws import key_statuses, user_with_key
from tests.fixtures.hostile import PINGS_AND_LINKS, unescaped
from tests.fixtures.slack import CONFIG, Bot, current, dms_to, flatten, posted, told
from tests.ship.test_deploy_templates import _template as template
from tests.ship.test_operations import moved, scrape

SEC = "C0SEC"
INCIDENTS = CONFIG + f"incidents:\n  channel: {SEC}\n  oncall: S0ONCALL\n"


def deliver(bot: Bot, event: dict[str, Any]) -> dict[str, Any]:
    """EventBridge invoking the function with ``event``: what the Lambda handler does with it."""
    assert bot.app is not None
    result = bot.app.incidents.intake(event)
    bot.settle()
    return result


def cards(bot: Bot) -> list[str]:
    return [flatten(m) for m in bot.channel(SEC) if not m.thread_ts]


def the_card(bot: Bot) -> Message:
    [card] = [m for m in bot.channel(SEC) if (m.text or "").startswith("Leaked access key")]
    return card


def buttons(bot: Bot) -> list[str]:
    """The labels of the buttons the card offers now."""
    card = the_card(bot)
    actions = [b for b in card.blocks or [] if b["type"] == "actions"]
    return [e["text"]["text"] for b in actions for e in b["elements"]]


def thread_of_card(bot: Bot) -> list[str]:
    card = the_card(bot)
    return [flatten(m) for m in bot.channel(SEC) if m.thread_ts == card.ts]


@pytest.fixture
def leaked(iam) -> str:
    """dave's key, dave linked to carol in chat, and a second (inactive) key of his."""
    key = user_with_key(iam, "dave", tags={"slack-user-id": "U0CAROL"})
    other = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="dave", AccessKeyId=other, Status="Inactive")
    return key


def test_a_health_event_opens_a_card_and_tells_the_owner(make_bot, leaked, iam, aws) -> None:
    aws.add_aws_managed_policy("AWSCompromisedKeyQuarantineV3")
    iam.attach_user_policy(
        UserName="dave", PolicyArn="arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
    )
    bot = make_bot(INCIDENTS)

    deliver(bot, health_event(leaked))

    [card] = cards(bot)
    assert leaked in card and "dave" in card
    assert "<@U0CAROL>" in card  # the owner, by the identity tag
    assert "<!subteam^S0ONCALL>" in card  # the on-call group
    assert "AWS Health" in card and "AWS_RISK_IAM_QUARANTINE" in card
    assert "publicly available on GitHub" in card  # what AWS said
    assert "AWSCompromisedKeyQuarantineV3" in card and "may already be failing" in card
    assert "Other keys of the user" in card and "inactive" in card
    assert buttons(bot) == ["Contain", "Rotate now"]
    [dm] = dms_to(bot, "U0CAROL")
    assert leaked in dm


def test_a_second_signal_updates_the_same_card(make_bot, leaked) -> None:
    bot = make_bot(INCIDENTS)
    deliver(bot, health_event(leaked))

    deliver(bot, guardduty_event(leaked, user="dave"))

    [card] = cards(bot)
    assert "AWS Health" in card and "GuardDuty" in card and "severity 8" in card
    posts = [
        c
        for c in bot.slack.calls("chat.postMessage")
        if c.args["channel"] == SEC and "thread_ts" not in c.args  # the card, not its thread
    ]
    updates = [c for c in bot.slack.calls("chat.update") if c.args["channel"] == SEC]
    assert len(posts) == 1 and len(updates) == 1
    assert len(dms_to(bot, "U0CAROL")) == 1  # told once, when it opened


def test_a_duplicate_delivery_changes_nothing(make_bot, leaked) -> None:
    bot = make_bot(INCIDENTS)
    event = health_event(leaked)
    deliver(bot, event)
    calls = len(bot.slack.calls())

    assert deliver(bot, event) == {"incidents": []}

    assert len(bot.slack.calls()) == calls
    [incident] = incidents.listed(bot.store)
    assert len(incident.signals) == 1


def test_two_replicas_receiving_one_event_make_one_incident(make_bot, leaked) -> None:
    first = make_bot(INCIDENTS)
    second = make_bot(INCIDENTS)  # another replica on the same store file
    event = trusted_advisor_event(leaked, "dave")

    results = [deliver(first, event), deliver(second, event)]

    assert sorted(len(r["incidents"]) for r in results) == [0, 1]
    assert len(cards(first)) == 1
    [incident] = incidents.listed(first.store)
    assert [s.source.value for s in incident.signals] == ["trusted-advisor"]


def test_a_quarantine_policy_is_recorded_on_each_active_key_of_the_user(
    make_bot, leaked, iam
) -> None:
    bot = make_bot(INCIDENTS)

    assert deliver(bot, quarantine_event("dave")) == {"incidents": [leaked]}  # not the inactive

    [card] = cards(bot)
    assert "AWSCompromisedKeyQuarantineV3" in card and "CloudTrail" in card


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (guardduty_event("AKIAEXAMPLEKEY000001", severity=5.0), "below the severity floor"),
        (guardduty_event("ASIAEXAMPLEKEY000001"), "temporary key"),
        (health_event("ASIAEXAMPLEKEY000001"), "names no access key"),
        ({"source": "aws.ec2", "detail-type": "EC2 State", "detail": {}}, "aws.ec2"),
    ],
)
def test_events_about_nothing_followed_are_dropped(bot, event, why, log_output) -> None:
    before = scrape(bot)

    result = deliver(bot, event)

    assert why in result["dropped"]
    assert moved(before, scrape(bot), "iambot_events_dropped_total", why=result["dropped"]) == 1
    assert incidents.listed(bot.store) == []
    assert bot.slack.calls("chat.postMessage") == []
    assert log_output.getvalue().count("dropped") == 1


def test_hostile_text_in_an_event_is_shown_inert(make_bot, leaked) -> None:
    bot = make_bot(INCIDENTS)

    deliver(bot, guardduty_event(leaked, title=" ".join(PINGS_AND_LINKS)))

    [card] = cards(bot)
    own = card.replace("<@U0CAROL>", "").replace("<!subteam^S0ONCALL>", "")  # the bot's pings
    assert unescaped(own) == []
    assert "<!channel>" not in card


def test_an_unreadable_incident_is_skipped_and_reported(make_bot, leaked, iam, log_output) -> None:
    bot = make_bot(INCIDENTS)
    deliver(bot, health_event(leaked))
    broken = Record("incident/AKIABROKEN0000000001", incidents.KIND, "open", {"key_id": 1}, 0)
    assert bot.store.put_if_version(broken) is not None

    listed = incidents.listed(bot.store)

    assert [i.key_id for i in listed] == [leaked]
    assert "unreadable incident record incident/AKIABROKEN0000000001" in log_output.getvalue()


def test_slack_down_the_incident_is_stored_and_the_card_comes_later(make_bot, leaked) -> None:
    bot = make_bot(INCIDENTS)
    bot.slack.fail("chat.postMessage", "http_503", times=4)  # the client's own retries too

    deliver(bot, health_event(leaked))

    assert [i.key_id for i in incidents.listed(bot.store)] == [leaked]
    bot.slack.wait_for(lambda: cards(bot))  # the outbox's retry, on the scheduler's tick
    assert leaked in cards(bot)[0]


def test_the_server_polls_the_queue_and_deletes_what_it_stored(make_bot, leaked) -> None:
    """EventBridge (moto's) matches AWS's events with deploy/ecs.yaml's rule and sends them to
    the queue, whose redrive policy names a dead-letter queue; the bot long-polls it."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = _queue_with_dead_letters(sqs)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    rule = template("ecs.yaml")["Resources"]["KeyAlarms"]["Properties"]["EventPattern"]
    events.put_rule(Name="iam-bot-key-alarms", EventPattern=json.dumps(rule))
    events.put_targets(Rule="iam-bot-key-alarms", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])
    bot = make_bot(INCIDENTS, events_queue_url=url)

    for event in (health_event(leaked), {"source": "aws.ec2", "detail-type": "X", "detail": {}}):
        entry = {"Source": event["source"], "DetailType": event["detail-type"]}
        events.put_events(Entries=[{**entry, "Detail": json.dumps(event["detail"])}])

    bot.slack.wait_for(lambda: cards(bot))
    assert leaked in cards(bot)[0]
    bot.slack.wait_for(lambda: _queued(sqs, url) == 0)  # deleted once stored


def _queue_with_dead_letters(sqs: Any) -> str:
    dlq = sqs.create_queue(QueueName="iam-bot-events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]
    redrive = {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": "5"}
    attributes = {"RedrivePolicy": json.dumps(redrive)}
    return sqs.create_queue(QueueName="iam-bot-events", Attributes=attributes)["QueueUrl"]


def _queued(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names)


def test_iam_incidents_lists_the_open_ones(make_bot, leaked) -> None:
    bot = make_bot(INCIDENTS)
    deliver(bot, health_event(leaked))

    shown = bot.said(bot.command("incidents", user="U0CAROL"))

    assert leaked in shown and "dave" in shown and "AWS Health" in shown
    refused = bot.said(bot.command("incidents", user="U0NOBODY"))
    assert leaked not in refused and "keys" in refused


def test_closing_an_incident_updates_its_card_and_keeps_it_out_of_the_list(
    make_bot, leaked
) -> None:
    bot = make_bot(INCIDENTS)
    deliver(bot, health_event(leaked))

    refused = bot.said(bot.command(f"incidents close {leaked} resolved fixed", user="U0CAROL"))
    assert "deactivate" in refused  # carol may look, not close
    done = bot.said(bot.command(f"incidents close {leaked} false-positive a test key <!here>"))

    assert "closed as false-positive" in done
    [card] = cards(bot)
    assert "Closed as false-positive" in card and "<@U0ALICE>" in card
    assert "&lt;!here&gt;" in card and buttons(bot) == []
    assert "No open incidents" in bot.said(bot.command("incidents"))
    [incident] = incidents.listed(bot.store, incidents.CLOSED)
    assert len(incident.timeline) == 2  # opened, closed: the timeline is kept


def test_home_shows_open_incidents_to_holders_of_keys(make_bot, leaked) -> None:
    bot = make_bot(INCIDENTS)
    deliver(bot, health_event(leaked))

    home = shown(open_home(bot, "U0CAROL"))

    assert "Open incidents" in home and leaked in home and "dave" in home
    assert leaked not in shown(open_home(bot, "U0NOBODY"))


def test_an_organizational_health_event_opens_a_card_contained_in_its_account(
    make_bot, aws
) -> None:
    """The management account receives the organization's view; the key is production's. Its
    card names that account, and its Contain acts there, with the clicker confirming; the
    card then says it is contained and offers it no more."""
    org = organization(aws)
    bot = make_bot(listed_config(org) + f"incidents:\n  channel: {SEC}\n")
    production = aws.client("iam", org.production)
    production.create_user(UserName="ci-deployer")
    leaked = production.create_access_key(UserName="ci-deployer")["AccessKey"]["AccessKeyId"]

    deliver(bot, health_event(leaked, account=org.management, affected_account=org.production))

    card = next(m for m in bot.channel(SEC) if leaked in flatten(m))
    assert f"production ({org.production})" in flatten(card) and "ci-deployer" in flatten(card)
    bot.press(card, "Contain", user="U0ALICE")
    containment = posted(bot, "Contain the access key", SEC)
    assert "Incident: AWS Health said" in flatten(containment)  # the reason it was offered for
    bot.press(containment, "Confirm", user="U0ALICE")
    bot.slack.wait_for(lambda: key_statuses(production, "ci-deployer")[leaked] == "Inactive")
    bot.slack.wait_for(lambda: "Contained" in flatten(the_card(bot)))
    assert buttons(bot) == ["Rotate now"]  # contained: the way out is a new key


def test_what_the_key_did_follows_in_the_card_s_thread_once(make_bot, iam, aws) -> None:
    iam.create_user(UserName="ci-deployer")
    key = iam.create_access_key(UserName="ci-deployer")["AccessKey"]
    iam_as_attacker = Attacker(aws, key).client("iam")
    iam_as_attacker.list_users()
    iam_as_attacker.create_user(UserName="backdoor")
    bot = make_bot(INCIDENTS + "cloudtrail_regions: [us-east-1]\n")

    deliver(bot, health_event(key["AccessKeyId"]))
    deliver(bot, guardduty_event(key["AccessKeyId"]))  # a second signal: the card is updated

    [investigation] = thread_of_card(bot)
    assert f"What {key['AccessKeyId']} did" in investigation
    assert "ListUsers" in investigation and "CreateUser" in investigation
    assert "backdoor" in investigation  # a sign of persistence, named


def test_home_shows_an_incident_only_where_its_reader_may_read_keys(make_bot, aws) -> None:
    org = organization(aws)
    only_security = "      permissions:\n        keys: [S0SECURITY]\n"
    bot = make_bot(listed_config(org, rules=only_security) + f"incidents:\n  channel: {SEC}\n")
    production = aws.client("iam", org.production)
    production.create_user(UserName="ci-deployer")
    leaked = production.create_access_key(UserName="ci-deployer")["AccessKey"]["AccessKeyId"]
    deliver(bot, health_event(leaked, account=org.management, affected_account=org.production))

    assert leaked in shown(open_home(bot, "U0SEC1"))  # security may read production's keys
    assert leaked not in shown(open_home(bot, "U0CAROL"))  # carol may not, there


def test_slack_failing_the_thread_post_retries_the_post_not_cloudtrail(make_bot, iam, aws) -> None:
    iam.create_user(UserName="ci-deployer")
    key = iam.create_access_key(UserName="ci-deployer")["AccessKey"]
    Attacker(aws, key).client("iam").list_users()
    bot = make_bot(INCIDENTS + "cloudtrail_regions: [us-east-1]\n")
    assert bot.app is not None
    aws.hold("LookupEvents")  # the investigation waits until the card is out

    bot.app.incidents.intake(health_event(key["AccessKeyId"]))
    bot.slack.wait_for(lambda: cards(bot))
    assert aws.wait_held("LookupEvents")
    bot.slack.fail("chat.postMessage", "internal_error")  # Slack refuses the thread's post
    aws.release("LookupEvents")
    bot.slack.wait_for(lambda: [c for c in bot.slack.calls("chat.postMessage") if c.error])
    looked_up = aws.count("LookupEvents")

    [investigation] = bot.slack.wait_for(lambda: thread_of_card(bot))  # the outbox's retry
    assert f"What {key['AccessKeyId']} did" in investigation and "ListUsers" in investigation
    assert aws.count("LookupEvents") == looked_up  # CloudTrail was read once


def test_once_the_leaked_key_is_no_longer_active_the_card_offers_to_lift_the_quarantine(
    make_bot, iam, aws
) -> None:
    # The containment a minute before the new key: IAM tells keys apart to the second.
    bot = make_bot(INCIDENTS, clock=lambda: datetime.now(UTC) - timedelta(minutes=1))
    iam.create_user(UserName="dave")
    leaked = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    quarantine = aws.add_aws_managed_policy("AWSCompromisedKeyQuarantineV3")
    iam.attach_user_policy(UserName="dave", PolicyArn=quarantine)  # as AWS does on a leak
    aws.backdate_user("dave", datetime.now(UTC) - timedelta(days=30))
    aws.backdate_access_key(leaked, datetime.now(UTC) - timedelta(days=30))
    deliver(bot, quarantine_event("dave"))
    assert buttons(bot) == ["Contain", "Rotate now"]  # the key still works: nothing to lift

    bot.press(the_card(bot), "Contain", user="U0ALICE")
    bot.press(posted(bot, "Contain the access key", SEC), "Confirm", user="U0ALICE")
    bot.slack.wait_for(lambda: buttons(bot) == ["Rotate now", "Lift quarantine"])
    refused = bot.press(the_card(bot), "Lift quarantine", user="U0ALICE")
    assert f"dave still has `{leaked}`" in told(bot, "U0ALICE"), refused
    new = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    iam.delete_access_key(UserName="dave", AccessKeyId=leaked)  # rotated, the old key deleted
    deliver(bot, guardduty_event(leaked))  # the card as things stand now
    assert buttons(bot) == ["Lift quarantine"]

    bot.press(the_card(bot), "Lift quarantine", user="U0ALICE")
    lift = posted(bot, "Detach AWS's quarantine policy from IAM user dave", SEC)
    assert "Incident: " in flatten(lift)  # the reason it was offered for
    bot.press(lift, "Approve", user="U0SEC1")

    bot.slack.wait_for(lambda: "Done." in flatten(current(bot, lift)))
    assert iam.list_attached_user_policies(UserName="dave")["AttachedPolicies"] == []
    assert key_statuses(iam, "dave") == {new: "Active"}


def test_a_key_and_user_both_gone_leave_the_card_saying_so_without_buttons(
    make_bot, leaked, iam
) -> None:
    bot = make_bot(INCIDENTS)
    deliver(bot, health_event(leaked))
    for key in iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]:
        iam.delete_access_key(UserName="dave", AccessKeyId=key["AccessKeyId"])
    iam.delete_user(UserName="dave")

    deliver(bot, guardduty_event(leaked))

    assert "the key no longer exists in its account" in flatten(the_card(bot))
    assert buttons(bot) == []
