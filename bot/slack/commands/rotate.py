"""`/iam rotate <user> [key-id]`: AWS's rotation order, with the secret never in chat.

1. Confirm (by the requester unless config asks for approvers).
2. Create the new key and put it straight into Secrets Manager; the message shows only the new
   key ID and the secret's ARN. Creation and delivery are one journaled step: a key left by an
   attempt that crashed before its secret was stored is an orphan nobody holds, and is
   deleted before trying again.
3. After the grace period (a scheduled step in the store), check the old key is no longer
   used; if it is, hold and ask ("deactivate anyway" / "extend"); else deactivate it.
4. After a second period, delete it, through an approval request unless config says none.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.access.approvals import Request
from bot.access.journal import run_journaled
from bot.access.schedule import DONE, FAILED, HELD, Job, Scheduler
from bot.iam import errors, keys, secrets, users
from bot.iam.inventory import Action, Step, run_step
from bot.iam.models import AccessKey, KeyStatus
from bot.iam.names import access_key_id, user_name
from bot.slack.commands.keyops import create_delivered_key, open_delete_key
from bot.slack.context import Request as SlackRequest
from bot.slack.context import Services
from bot.slack.messages.common import Reply, day, section
from bot.slack.messages.keys import DELETE_KEY
from bot.slack.replies import UserError
from bot.slack.requests import RequestFlow, RunReport

USAGE = "rotate <user> [AKIA...]"
COMMAND = "rotate"
RETIRE, DELETE = "retire-old-key", "delete-old-key"
FORCE, EXTEND = "rotation:deactivate-anyway", "rotation:extend"


def check(args: tuple[str, ...]) -> None:
    if not 1 <= len(args) <= 2:
        raise UserError(f"Usage: `/iam {USAGE}`")
    user_name(args[0])
    if len(args) == 2:
        access_key_id(args[1])


def _describe(key: AccessKey) -> str:
    use = key.last_used
    used = f"last used {day(use.when)}" if use and use.when else "never used"
    return f"{key.status.value}, created {day(key.created)}, {used}"


class TwoKeys(Exception):
    """The user is at IAM's two-key limit: one must go before a new one can be made."""

    def __init__(self, user: str, found: list[AccessKey]) -> None:
        super().__init__(user)
        self.user, self.found = user, found


def _pick(user: str, found: list[AccessKey], wanted: str | None) -> AccessKey:
    """The key to replace; never guessed, and there must be room for the new one."""
    if len(found) >= 2:
        raise TwoKeys(user, found)
    if not found:
        raise UserError(f"{user} has no access key to rotate.")
    if wanted and found[0].key_id != wanted:
        raise UserError(f"`{wanted}` is not a key of {user}.")
    return found[0]


def two_keys_reply(exc: TwoKeys) -> Reply:
    """Offer to delete the key that can go (inactive or never used), each with its own approval."""
    spare = [
        k
        for k in exc.found
        if k.status is KeyStatus.INACTIVE or not (k.last_used and k.last_used.when)
    ]
    listing = "\n".join(f"• `{k.key_id}`: {_describe(k)}" for k in exc.found)
    text = (
        f"{exc.user} already has two keys, IAM's limit, so a new one cannot be created. "
        + (
            "Delete one first:"
            if spare
            else "Deactivate one first (`/iam deactivate <key>`), then delete it:"
        )
        + f"\n{listing}"
    )
    blocks = [section(text)]
    if spare:
        buttons = [
            ButtonElement(
                text=f"Delete {k.key_id}",
                action_id=DELETE_KEY,
                value=f"{exc.user} {k.key_id}",
                style="danger",
            )
            for k in spare
        ]
        blocks.append(ActionsBlock(elements=buttons))
    return Reply(text=text, blocks=blocks)


def run(services: Services, request: SlackRequest) -> None:
    user = request.args[0]
    wanted = request.args[1] if len(request.args) == 2 else None
    try:
        open_rotation(
            request.flow, user, wanted, requester=request.user_id, channel=request.channel_id
        )
    except TwoKeys as exc:
        request.respond(response_type="ephemeral", **two_keys_reply(exc).as_kwargs())


def open_rotation(
    flow: RequestFlow, user: str, wanted: str | None, *, requester: str, channel: str
) -> Request:
    services = flow.services
    try:
        target = users.get_user(services.aws, user)
    except errors.NotFound:
        raise UserError(f"No IAM user named `{user}`.") from None
    services.rules.require_unprotected(target)
    found = keys.access_keys_with_last_use(services.aws, user)
    old = _pick(user, found, wanted)
    rotation = services.config.rotation
    secret = rotation.secret_name.format(user=user)
    grace = f"after {rotation.grace_minutes} minutes" if rotation.grace_minutes else "right away"
    steps = [
        {
            "action": "create new access key",
            "target": user,
            "note": f"secret stored in Secrets Manager as `{secret}`",
        },
        {
            "action": "deactivate old key",
            "target": old.key_id,
            "note": f"{grace}, once it is no longer used ({_describe(old)})",
        },
        {
            "action": "delete old key",
            "target": old.key_id,
            "note": f"{rotation.delete_after_minutes} minutes after deactivation",
        },
    ]
    request = services.approvals.open(
        command=COMMAND,
        target=user,
        requester=requester,
        reason="key rotation",
        plan={"key": old.key_id, "keys_before": [k.key_id for k in found], "steps": steps},
        channel=channel,
    )
    return flow.post(request)


class KeyChange(enum.StrEnum):
    CREATE = "create new access key"


def execute(flow: RequestFlow, request: Request) -> RunReport:
    services = flow.services
    aws, rotation, store = services.aws, services.config.rotation, services.store
    user, old = request.target, request.plan["key"]
    step = Step(KeyChange.CREATE, user, 1)

    def create(_: Any) -> str:
        new = create_delivered_key(
            services, request.id, step.id, user, keys_before=request.plan["keys_before"]
        )
        services.approvals.note(
            request.id,
            new_key=new.key_id,
            new_key_created=new.created.isoformat(),
            secret_arn=new.secret_arn,
        )
        return "done"

    result = run_journaled(store, request.id, [step], create, aws.map)
    if failed := result.failed:
        return RunReport(
            False, f"Creating the new key failed: {failed.message or failed.code}.", {}
        )
    delivered = services.approvals.get(request.id).outcome
    created = datetime.fromisoformat(delivered["new_key_created"])
    link = secrets.console_link(delivered["secret_arn"])
    arn = delivered["secret_arn"]
    line = (
        f":key: New key `{delivered['new_key']}`; its secret is in Secrets Manager: <{link}|{arn}>"
    )
    services.approvals.note(request.id, line=line)
    _tell_owner(flow, request, delivered, link)
    due = created + timedelta(minutes=rotation.grace_minutes)
    flow.scheduler.add(
        RETIRE, request.id, due, old_key=old, new_key_created=delivered["new_key_created"]
    )
    if not rotation.grace_minutes:
        flow.scheduler.run_due()  # an incident: retire the old key now, not on the next tick
    else:
        note(
            flow,
            request.id,
            f":hourglass: Old key `{old}` is checked and deactivated at {due:%Y-%m-%d %H:%M} UTC.",
        )
    return RunReport(True, f"New key for {user} delivered; old key `{old}` is being retired.", {})


def _tell_owner(flow: RequestFlow, request: Request, delivered: dict[str, Any], link: str) -> None:
    """DM the key's owner where to find the new secret (never the secret itself)."""
    services = flow.services
    if not services.config.rotation.notify_owner:
        return
    slack_id = services.identity.slack_user_for(request.target)
    if not slack_id:
        return
    flow.dm(
        slack_id,
        (
            f"Your IAM user {request.target} has a new access key `{delivered['new_key']}` "
            f"(rotated by <@{request.requester}>). "
            f"Fetch it from Secrets Manager: <{link}|{delivered['secret_arn']}>. "
            f"The old key `{request.plan['key']}` will be deactivated soon."
        ),
    )


def note(flow: RequestFlow, request_id: str, line: str, **extra: Any) -> None:
    """Add a line to the rotation's message, and announce it in the audit channel."""
    updated = flow.services.approvals.note(request_id, line=line, **extra)
    flow.refresh(updated.request)
    flow.audit(updated.request, line)


def retire_old_key(flow: RequestFlow, job: Job, *, force: bool = False, by: str = "") -> str:
    """Scheduled: deactivate the old key unless it is still in use (then hold and ask)."""
    services = flow.services
    aws, rotation = services.aws, services.config.rotation
    old, request_id = job.data["old_key"], job.request_id
    new_created = datetime.fromisoformat(job.data["new_key_created"])
    if not force:
        _, use = keys.last_used(aws, old)
        margin = timedelta(minutes=rotation.last_use_margin_minutes)
        if use.when is not None and use.when > new_created - margin:
            buttons = [
                {
                    "label": "Deactivate anyway",
                    "action_id": FORCE,
                    "value": job.id,
                    "style": "danger",
                },
                {
                    "label": f"Extend {rotation.extend_minutes} min",
                    "action_id": EXTEND,
                    "value": job.id,
                },
            ]
            note(
                flow,
                request_id,
                f":warning: Old key `{old}` was used at {use.when:%Y-%m-%d %H:%M} UTC "
                f"({use.service or '?'}), "
                "too close to the new key's creation to be sure it is no longer in use. Held.",
                buttons=buttons,
            )
            return HELD
    request = services.approvals.get(request_id)
    step = Step(Action.DEACTIVATE_ACCESS_KEY, old, 1)
    result = run_journaled(
        services.store, request_id, [step], lambda s: run_step(aws, request.target, s), aws.map
    )
    if result.failed:
        note(flow, request_id, f":x: Deactivating `{old}` failed: {result.failed.message}.")
        return FAILED
    due = services.clock() + timedelta(minutes=rotation.delete_after_minutes)
    flow.scheduler.add(DELETE, request_id, due, old_key=old)
    anyway = f" by <@{by}>, although recently used" if force else ""
    line = f":white_check_mark: Old key `{old}` deactivated{anyway}; deletion due {due:%H:%M} UTC."
    note(flow, request_id, line, buttons=[])
    return DONE


def delete_old_key(flow: RequestFlow, job: Job) -> str:
    """Scheduled: delete the retired key, through an approval request if config wants one."""
    services = flow.services
    request = services.approvals.get(job.request_id)
    old = job.data["old_key"]
    if services.config.approvals.required_for("delete-key") == 0:
        step = Step(Action.DELETE_ACCESS_KEY, old, 1)
        aws = services.aws
        run_journaled(
            services.store, request.id, [step], lambda s: run_step(aws, request.target, s), aws.map
        )
        note(flow, request.id, f":wastebasket: Old key `{old}` deleted.")
        return DONE
    open_delete_key(
        flow,
        request.target,
        old,
        requester=request.requester,
        reason="end of key rotation",
        channel=request.channel,
    )
    note(flow, request.id, f":wastebasket: Deletion of `{old}` posted for approval.")
    return DONE


def register_schedule(flow: RequestFlow, scheduler: Scheduler) -> None:
    scheduler.handlers[RETIRE] = lambda job: retire_old_key(flow, job)
    scheduler.handlers[DELETE] = lambda job: delete_old_key(flow, job)
