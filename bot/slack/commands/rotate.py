"""`/iam rotate <user | @person | me> [key-id]`: on-call key rotation, confirmed by the
requester."""

from __future__ import annotations

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.iam.sessions import current_account
from bot.ops import rotate
from bot.ops.context import Services, UserError
from bot.ops.followups import FollowUp, KeyRef
from bot.slack.commands.parse import Target, key_id, user_word
from bot.slack.commands.who import iam_user
from bot.slack.context import Request
from bot.slack.messages.common import Reply, section

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
        request.respond(response_type="ephemeral", **two_keys_reply(exc).as_kwargs())


def two_keys_reply(exc: rotate.TwoKeys) -> Reply:
    """Offer to delete the key that can go (inactive or never used), each with its own approval."""
    listing = "\n".join(f"• `{k.key_id}`: {rotate.describe_key(k)}" for k in exc.found)
    text = (
        f"{exc.user} already has two keys, IAM's limit, so a new one cannot be created. "
        + (
            "Delete one first:"
            if exc.spare
            else "Deactivate one first (`/iam deactivate <key>`), then delete it:"
        )
        + f"\n{listing}"
    )
    blocks = [section(text)]
    account = current_account()  # each button acts where the keys are
    if exc.spare:
        buttons = [
            ButtonElement(
                text=f"Delete {k.key_id}",
                action_id=FollowUp.DELETE_KEY.value,
                value=KeyRef(exc.user, k.key_id, account.id if account else "").encode(),
                style="danger",
            )
            for k in exc.spare
        ]
        blocks.append(ActionsBlock(elements=buttons))
    return Reply(text=text, blocks=blocks)
