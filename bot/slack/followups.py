"""Buttons that start or steer a key flow from an earlier answer.

"Deactivate now" and "Rotate" (from `/iam whois`), "Rotate now" and "Delete key" (after a
deactivation, or when a user is at the two-key limit), and "Deactivate anyway" / "Extend" (when
a rotation's old key is still in use). Each checks the clicker's own permission, then opens the
same request the slash command would, so confirmation and approval rules apply unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from slack_bolt import Ack, App

from bot.access.schedule import HELD, WAITING
from bot.ops import deactivate, delete_key, rotate
from bot.ops.context import Ops, UserError
from bot.ops.followups import FollowUp, KeyRef
from bot.ops.keys import owned_key
from bot.slack.commands.rotate import two_keys_reply
from bot.slack.messages.common import action_pattern
from bot.slack.notifier import SlackNotifier
from bot.slack.replies import answer_failure


def register(app: App, ops: Ops, notifier: SlackNotifier) -> None:
    rules = ops.services.rules

    def ack_only(ack: Ack) -> None:
        ack()

    def clicked(action_id: str, permission: str, fn: Callable[[str, str, str], None]) -> None:
        def lazy(body: dict[str, Any]) -> None:
            user = body["user"]["id"]
            channel = (body.get("channel") or {}).get("id", "")
            try:
                rules.require(user, permission)
                fn(body["actions"][0]["value"], user, channel)
            except Exception as exc:
                answer_failure(exc, lambda reply: notifier.tell(body["response_url"], reply.text))

        # A row of such buttons (one "Delete" per key) numbers the repeats: see Reply.
        app.action(action_pattern(action_id))(ack=ack_only, lazy=[lazy])

    def deactivate_now(value: str, user: str, channel: str) -> None:
        key = KeyRef.decode(value)
        deactivate.open_request(ops, key.key_id, "from /iam whois", requester=user, channel=channel)

    def rotate_now(value: str, user: str, channel: str) -> None:
        key = KeyRef.decode(value)
        try:
            rotate.open_request(ops, key.user, key.key_id, requester=user, channel=channel)
        except rotate.TwoKeys as exc:
            raise UserError(two_keys_reply(exc).text) from None

    def delete_now(value: str, user: str, channel: str) -> None:
        owner, key = owned_key(ops.services, KeyRef.decode(value).key_id)
        delete_key.open_request(
            ops, owner, key.key_id, requester=user, reason="no longer needed", channel=channel
        )

    def deactivate_anyway(job_id: str, user: str, channel: str) -> None:
        job = ops.scheduler.get(job_id)
        force = partial(rotate.retire_old_key, ops, force=True, by=user)
        if job is None or job.state != HELD or not ops.scheduler.run(job, force):
            raise UserError("That step is no longer waiting for a decision.")

    def extend(job_id: str, user: str, channel: str) -> None:
        job = ops.scheduler.get(job_id)
        minutes = ops.services.config.rotation.extend_minutes
        due = ops.services.clock() + timedelta(minutes=minutes)
        if job is None or job.state != HELD or ops.scheduler.move(job, WAITING, due=due) is None:
            raise UserError("That step is no longer waiting for a decision.")
        line = (
            f":hourglass: <@{user}> gave the old key {minutes} more minutes (to {due:%H:%M} UTC)."
        )
        ops.note(job.request_id, line, buttons=[])

    for kind, permission, fn in (
        (FollowUp.DEACTIVATE_NOW, "deactivate", deactivate_now),
        (FollowUp.ROTATE_NOW, "rotate", rotate_now),
        (FollowUp.DELETE_KEY, "deactivate", delete_now),
        (FollowUp.DEACTIVATE_ANYWAY, "rotate", deactivate_anyway),
        (FollowUp.EXTEND, "rotate", extend),
    ):
        clicked(kind.value, permission, fn)
