"""`/iam rotate <user | @person | me> [key-id]`: on-call key rotation, confirmed by the
requester."""

from __future__ import annotations

from bot.ops import rotate
from bot.ops.context import Services, UserError
from bot.ops.followups import Viewer
from bot.slack.commands.parse import Target, key_id, user_word
from bot.slack.commands.who import iam_user
from bot.slack.context import Request
from bot.slack.messages.keys import two_keys_reply

USAGE = "rotate <user | @person | me> [AKIA...]"


def _parse(args: tuple[str, ...]) -> tuple[Target, str | None]:
    if not 1 <= len(args) <= 2:
        raise UserError(f"Usage: `/iam {USAGE}`")
    return user_word(args[0]), key_id(args[1]) if len(args) == 2 else None


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def run(services: Services, request: Request) -> None:
    who, wanted = _parse(request.args)
    user = iam_user(services, request, who)
    try:
        rotate.open_request(
            request.ops, user, wanted, requester=request.user_id, channel=request.channel_id
        )
    except rotate.TwoKeys as exc:
        reply = two_keys_reply(exc, exc.offers(Viewer(services.rules, request.user_id)))
        request.respond(response_type="ephemeral", **reply.as_kwargs())
