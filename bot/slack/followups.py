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
from bot.iam.inventory import Action
from bot.slack.commands import rotate
from bot.slack.commands.keyops import open_delete_key, open_key_request, owned_key
from bot.slack.messages.common import action_pattern
from bot.slack.messages.keys import DEACTIVATE_NOW, DELETE_KEY, ROTATE_NOW
from bot.slack.replies import UserError, answer_failure
from bot.slack.requests import RequestFlow


def register(app: App, flow: RequestFlow) -> None:
    rules = flow.services.rules

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
                answer_failure(exc, lambda reply: flow.tell(body["response_url"], reply.text))

        # A row of such buttons (one "Delete" per key) numbers the repeats: see Reply.
        app.action(action_pattern(action_id))(ack=ack_only, lazy=[lazy])

    def deactivate(value: str, user: str, channel: str) -> None:
        owner, key = owned_key(flow.services, value.split()[1])
        step = {
            "action": Action.DEACTIVATE_ACCESS_KEY.value,
            "target": key.key_id,
            "note": "reversible",
        }
        open_key_request(
            flow,
            "deactivate",
            owner,
            key.key_id,
            requester=user,
            reason="from /iam whois",
            channel=channel,
            steps=[step],
        )

    def rotate_now(value: str, user: str, channel: str) -> None:
        owner, key = value.split()
        try:
            rotate.open_rotation(flow, owner, key, requester=user, channel=channel)
        except rotate.TwoKeys as exc:
            raise UserError(rotate.two_keys_reply(exc).text) from None

    def delete_key(value: str, user: str, channel: str) -> None:
        owner, key = owned_key(flow.services, value.split()[1])
        open_delete_key(
            flow, owner, key.key_id, requester=user, reason="no longer needed", channel=channel
        )

    def deactivate_anyway(job_id: str, user: str, channel: str) -> None:
        job = flow.scheduler.get(job_id)
        force = partial(rotate.retire_old_key, flow, force=True, by=user)
        if job is None or job.state != HELD or not flow.scheduler.run(job, force):
            raise UserError("That step is no longer waiting for a decision.")

    def extend(job_id: str, user: str, channel: str) -> None:
        job = flow.scheduler.get(job_id)
        minutes = flow.services.config.rotation.extend_minutes
        due = flow.services.clock() + timedelta(minutes=minutes)
        if job is None or job.state != HELD or flow.scheduler.move(job, WAITING, due=due) is None:
            raise UserError("That step is no longer waiting for a decision.")
        line = (
            f":hourglass: <@{user}> gave the old key {minutes} more minutes (to {due:%H:%M} UTC)."
        )
        rotate.note(flow, job.request_id, line, buttons=[])

    for action_id, permission, fn in (
        (DEACTIVATE_NOW, "deactivate", deactivate),
        (ROTATE_NOW, "rotate", rotate_now),
        (DELETE_KEY, "deactivate", delete_key),
        (rotate.FORCE, "rotate", deactivate_anyway),
        (rotate.EXTEND, "rotate", extend),
    ):
        clicked(action_id, permission, fn)
