"""AWS's alarms about a key, as EventBridge delivers them (AWS's documented shapes): moto has no
Health, GuardDuty or Trusted Advisor, so the tests, the demo and the benchmark make them here.
Each call makes a new event (a new ID); deliver the same dict twice for a duplicate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

ACCOUNT = "123456789012"  # moto's default account


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _envelope(source: str, detail_type: str, detail: dict[str, Any], account: str) -> dict:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": _now(),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def health_event(
    key_id: str,
    *,
    code: str = "AWS_RISK_IAM_QUARANTINE",
    account: str = ACCOUNT,
    description: str = "Your AWS access key was found publicly available on GitHub.",
    affected_account: str | None = None,
) -> dict[str, Any]:
    """An AWS Health risk event naming ``key_id``; ``affected_account``: an organizational
    view's, delivered to the management account about a member's key."""
    detail: dict[str, Any] = {
        "eventArn": f"arn:aws:health:global::event/RISK/{code}/{uuid.uuid4().hex}",
        "service": "RISK",
        "eventTypeCode": code,
        "eventTypeCategory": "issue",
        "eventScopeCode": "ACCOUNT_SPECIFIC",
        "communicationId": uuid.uuid4().hex,
        "startTime": "Mon, 7 Dec 2026 16:40:00 GMT",
        "statusCode": "open",
        "eventRegion": "global",
        "eventDescription": [{"language": "en_US", "latestDescription": description}],
        "affectedEntities": [{"entityValue": key_id}],
    }
    if affected_account:
        detail["affectedAccount"] = affected_account
    return _envelope("aws.health", "AWS Health Event", detail, account)


def quarantine_event(user: str, *, version: str = "V3", account: str = ACCOUNT) -> dict[str, Any]:
    """CloudTrail's record of AWS attaching its quarantine policy to ``user``."""
    detail = {
        "eventVersion": "1.08",
        "eventTime": _now(),
        "eventSource": "iam.amazonaws.com",
        "eventName": "AttachUserPolicy",
        "awsRegion": "us-east-1",
        "userIdentity": {"type": "AWSService", "invokedBy": "iam.amazonaws.com"},
        "requestParameters": {
            "userName": user,
            "policyArn": f"arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine{version}",
        },
        "eventID": str(uuid.uuid4()),
        "recipientAccountId": account,
    }
    return _envelope("aws.iam", "AWS API Call via CloudTrail", detail, account)


def guardduty_event(
    key_id: str,
    *,
    severity: float = 8.0,
    user: str = "",
    title: str = "API was invoked from a known malicious IP address.",
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """A GuardDuty finding about ``key_id``."""
    detail = {
        "schemaVersion": "2.0",
        "accountId": account,
        "region": "us-east-1",
        "id": uuid.uuid4().hex,
        "type": "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        "resource": {
            "resourceType": "AccessKey",
            "accessKeyDetails": {"accessKeyId": key_id, "userName": user, "userType": "IAMUser"},
        },
        "severity": severity,
        "createdAt": _now(),
        "updatedAt": _now(),
        "title": title,
        "description": title,
    }
    return _envelope("aws.guardduty", "GuardDuty Finding", detail, account)


def trusted_advisor_event(key_id: str, user: str, *, account: str = ACCOUNT) -> dict[str, Any]:
    """Trusted Advisor's "Exposed Access Keys" check flagging ``key_id``."""
    detail = {
        "check-name": "Exposed Access Keys",
        "check-item-detail": {
            "Case ID": "12345678",
            "User Name (IAM or Root)": user,
            "Access Key ID": key_id,
            "Time Updated": _now(),
            "Fraud Type": "Exposed",
            "Location": "https://github.com/example/repo/blob/main/config.py",
        },
        "status": "ERROR",
        "resource_id": uuid.uuid4().hex,
        "uuid": str(uuid.uuid4()),
    }
    return _envelope(
        "aws.trustedadvisor", "Trusted Advisor Check Item Refresh Notification", detail, account
    )
