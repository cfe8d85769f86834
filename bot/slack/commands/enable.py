"""`/iam enable <user | @person | me> <reason>`: ask for a disable to be undone. A person
disabled across accounts (`/iam offboard @person <reason> --disable`) is enabled in every
account that disable reached, one request per account."""

from __future__ import annotations

from bot.ops import enable, enable_person
from bot.ops.context import Services, UserError
from bot.slack.commands.parse import Target, TargetKind, reason, user_word
from bot.slack.commands.who import iam_user
from bot.slack.context import Request
from bot.slack.messages.common import escape, plain

USAGE = "enable <user | @person | me> <reason>"


def _parse(args: tuple[str, ...]) -> tuple[Target, str]:
    if len(args) < 2:
        raise UserError(f"Usage: `/iam {USAGE}` (a reason is required)")
    return user_word(args[0]), reason(" ".join(args[1:]))


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def run(services: Services, request: Request) -> None:
    who, reason = _parse(request.args)
    named = who.kind in (TargetKind.ME, TargetKind.SLACK_USER)
    person = request.user_id if who.kind is TargetKind.ME else who.value
    if named and enable_person.has_disable(request.ops, person):
        _enable_person(request, person, reason)
        return
    enable.open_request(
        request.ops,
        iam_user(services, request, who),
        reason,
        requester=request.user_id,
        channel=request.channel_id,
        subjects=(person,) if named else None,  # linked however: by name too
    )


def _enable_person(request: Request, person: str, reason: str) -> None:
    opened = enable_person.open_requests(
        request.ops, person, reason, requester=request.user_id, channel=request.channel_id
    )
    if opened.skipped:
        lines = [f"• {escape(where)}: {escape(why)}" for where, why in opened.skipped]
        text = "Asked in every other account of the disable; not in:\n" + "\n".join(lines)
        request.respond(response_type="ephemeral", **plain(text).as_kwargs())
