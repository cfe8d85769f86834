"""`/iam deactivate <key-id> [reason]`: the fast path for a leaked key.

Deactivation is reversible and speed matters, so by default only the requester confirms. Once
done, the message offers to rotate the user's key now or to delete the leaked one (that
deletion is approval-gated like any other).
"""

from __future__ import annotations

from bot.access.approvals import Request
from bot.iam.inventory import Action
from bot.iam.names import access_key_id
from bot.slack.commands.keyops import open_key_request, owned_key, run_one_step
from bot.slack.context import Request as SlackRequest
from bot.slack.context import Services
from bot.slack.messages.keys import DELETE_KEY, ROTATE_NOW
from bot.slack.replies import UserError
from bot.slack.requests import RequestFlow, RunReport

USAGE = "deactivate <AKIA...> [reason]"
COMMAND = "deactivate"


def check(args: tuple[str, ...]) -> None:
    if not args:
        raise UserError(f"Usage: `/iam {USAGE}`")
    access_key_id(args[0])


def run(services: Services, request: SlackRequest) -> None:
    key_id = request.args[0]
    reason = " ".join(request.args[1:]) or "leaked key"
    user, key = owned_key(services, key_id)
    if key.status.value == "Inactive":
        raise UserError(f"`{key_id}` of {user} is already inactive.")
    open_key_request(
        request.flow,
        COMMAND,
        user,
        key_id,
        requester=request.user_id,
        reason=reason,
        channel=request.channel_id,
        steps=[
            {"action": Action.DEACTIVATE_ACCESS_KEY.value, "target": key_id, "note": "reversible"}
        ],
    )


def execute(flow: RequestFlow, request: Request) -> RunReport:
    key = request.plan["key"]
    report = run_one_step(flow, request, Action.DEACTIVATE_ACCESS_KEY, f"`{key}` is now inactive.")
    if report.ok:
        value = f"{request.target} {key}"
        buttons = [
            {"label": "Rotate now", "action_id": ROTATE_NOW, "value": value, "style": "primary"},
            {"label": "Delete key", "action_id": DELETE_KEY, "value": value, "style": "danger"},
        ]
        flow.services.approvals.note(request.id, buttons=buttons)
    return report
