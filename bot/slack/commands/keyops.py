"""What `/iam deactivate`, `/iam rotate`, `/iam onboard` and their follow-up buttons share:
finding the key and its owner, refusing protected users, running a one-step change through the
journal, and creating a key whose secret goes straight to Secrets Manager."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.access.approvals import Request
from bot.access.journal import run_journaled
from bot.iam import errors, keys, secrets, users
from bot.iam.inventory import Action, Step, run_step
from bot.iam.models import AccessKey
from bot.slack.context import Services
from bot.slack.replies import UserError
from bot.slack.requests import RequestFlow, RunReport


def owned_key(services: Services, key_id: str) -> tuple[str, AccessKey]:
    """Owner and key behind an ID of this account; refuses foreign keys and protected users."""
    try:
        owner = keys.key_owner(services.aws, key_id)
    except errors.NotFound:
        raise UserError(f"No access key `{key_id}` exists in this account.") from None
    if owner.foreign:
        raise UserError(f"`{key_id}` belongs to AWS account {owner.account_id}, not this one.")
    user = owner.user_name
    services.rules.require_unprotected(users.get_user(services.aws, user))
    found = [k for k in keys.list_access_keys(services.aws, user) if k.key_id == key_id]
    if not found:
        raise UserError(f"No access key `{key_id}` exists in this account.")
    return user, found[0]


def open_key_request(
    flow: RequestFlow,
    command: str,
    user: str,
    key: str,
    *,
    requester: str,
    reason: str,
    channel: str,
    steps: list[dict[str, Any]],
) -> Request:
    request = flow.services.approvals.open(
        command=command,
        target=user,
        requester=requester,
        reason=reason,
        plan={"key": key, "steps": steps},
        channel=channel,
    )
    return flow.post(request)


def run_one_step(flow: RequestFlow, request: Request, action: Action, done: str) -> RunReport:
    step = Step(action, request.plan["key"], 1)
    aws = flow.services.aws
    result = run_journaled(
        flow.services.store, request.id, [step], lambda s: run_step(aws, request.target, s), aws.map
    )
    if failed := result.failed:
        return RunReport(
            False, f"AWS said {failed.message or failed.code}.", {"failed_step": step.id}
        )
    gone = result.results and result.results[0].status == "gone"
    return RunReport(True, f"`{step.target}` was already gone." if gone else done, {})


def delete_key_steps(key: str) -> list[dict[str, Any]]:
    return [{"action": Action.DELETE_ACCESS_KEY.value, "target": key, "note": "cannot be undone"}]


def open_delete_key(
    flow: RequestFlow, user: str, key: str, *, requester: str, reason: str, channel: str
) -> Request:
    return open_key_request(
        flow,
        "delete-key",
        user,
        key,
        requester=requester,
        reason=reason,
        channel=channel,
        steps=delete_key_steps(key),
    )


def execute_delete_key(flow: RequestFlow, request: Request) -> RunReport:
    return run_one_step(
        flow, request, Action.DELETE_ACCESS_KEY, f"`{request.plan['key']}` deleted."
    )


@dataclass(frozen=True)
class DeliveredKey:
    """A new access key whose secret is in Secrets Manager: only its ID and the secret's ARN."""

    key_id: str
    created: datetime
    secret_arn: str


def create_delivered_key(
    services: Services, request_id: str, step_id: str, user: str, *, keys_before: Collection[str]
) -> DeliveredKey:
    """Create a key for ``user`` and put it straight into Secrets Manager (``rotation``'s secret
    name and KMS key), as journaled step ``step_id`` of request ``request_id``.

    Keys this step created in an earlier attempt are journaled the moment IAM returned them: if
    their secret never reached Secrets Manager nobody has it, so they are deleted first. A key
    that is neither ``keys_before`` nor ours appeared behind the request's back: nothing is made.
    """
    aws, store, rotation = services.aws, services.store, services.config.rotation
    ours = {
        e.detail["key"]
        for e in store.journal(request_id)
        if e.step == step_id and e.event == "created"
    }
    present = keys.list_access_keys(aws, user)
    strangers = [k.key_id for k in present if k.key_id not in ours and k.key_id not in keys_before]
    if strangers:
        raise errors.Conflict(
            f"key {', '.join(strangers)} appeared after the request; nothing was created"
        )
    for orphan in (k for k in present if k.key_id in ours):
        keys.delete_access_key(aws, user, orphan.key_id)
    new = keys.create_access_key(aws, user)
    store.append_journal(request_id, step_id, "created", key=new.key_id)
    token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"iam-bot/{request_id}/{new.key_id}"))
    arn = secrets.store_access_key(
        aws,
        rotation.secret_name.format(user=user),
        new,
        kms_key_id=rotation.kms_key_id,
        token=token,
    )
    return DeliveredKey(new.key_id, new.created, arn)
