"""AWS's alarms read from EventBridge's shapes: each source's key, account and own ID; what is
not about a user's key is Ignored with why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.iam.signals import HEALTH_CODES, Ignored, Source, signals_of
from sandbox.aws_events import (
    guardduty_event,
    health_event,
    quarantine_event,
    trusted_advisor_event,
)

KEY = "AKIAEXAMPLEKEY000001"


def _read(event: dict, floor: float = 7.0) -> list:
    return signals_of(event, min_guardduty_severity=floor)


@pytest.mark.parametrize("code", sorted(HEALTH_CODES))
def test_every_health_risk_code_names_its_key_and_communication(code: str) -> None:
    event = health_event(KEY, code=code, account="111111111111", affected_account="222222222222")
    [signal] = _read(event)
    assert (signal.source, signal.key_id, signal.kind) == (Source.HEALTH, KEY, code)
    assert signal.account == "222222222222"  # an organizational view names the member
    assert signal.source_id == event["detail"]["communicationId"]
    assert signal.at == datetime(2026, 12, 7, 16, 40, tzinfo=UTC)  # Health's own date format


def test_the_quarantine_names_the_user_and_the_policy_version() -> None:
    event = quarantine_event("dave", version="V2")
    [signal] = _read(event)
    assert (signal.key_id, signal.user, signal.kind) == (
        "",
        "dave",
        "AWSCompromisedKeyQuarantineV2",
    )
    assert signal.source_id == event["detail"]["eventID"]


def test_guardduty_at_the_floor_counts_and_trusted_advisor_names_check_and_resource() -> None:
    [finding] = _read(guardduty_event(KEY, severity=5.0), floor=5.0)
    assert (finding.source, finding.severity) == (Source.GUARDDUTY, 5.0)
    event = trusted_advisor_event(KEY, "dave")
    [exposed] = _read(event)
    assert exposed.source_id == f"Exposed Access Keys:{event['detail']['resource_id']}"
    assert exposed.user == "dave" and "github.com" in exposed.summary


def _other_policy() -> dict:
    event = quarantine_event("dave")
    event["detail"]["requestParameters"]["policyArn"] = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    return event


def _failed_attach() -> dict:
    event = quarantine_event("dave")
    event["detail"]["errorCode"] = "AccessDenied"
    return event


@pytest.mark.parametrize(
    "event",
    [
        health_event(KEY, code="AWS_EC2_OPERATIONAL_ISSUE"),
        _other_policy(),
        _failed_attach(),
        guardduty_event(KEY, severity=6.9),
        guardduty_event("ASIAEXAMPLEKEY000001"),
        {"source": "aws.trustedadvisor", "detail": {"check-name": "Low Utilization"}},
        {"source": "aws.health"},
    ],
    ids=["other health", "other policy", "refused attach", "low", "asia", "other check", "bare"],
)
def test_what_is_not_about_a_users_key_is_ignored(event: dict) -> None:
    with pytest.raises(Ignored):
        _read(event)
