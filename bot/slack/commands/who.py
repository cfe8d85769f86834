"""After the ack: the IAM user a typed word names, whichever way the person named it.

The ack only checked the word's shape (:func:`bot.slack.commands.parse.user_word`); `me` and
mentions are looked up here, through the identity map, so every subcommand that takes a user
accepts them alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk.errors import SlackApiError

from bot.ops.context import Services, UserError
from bot.slack.commands.parse import Target, TargetKind
from bot.slack.context import Request


def iam_user(services: Services, request: Request, target: Target) -> str:
    """The IAM user ``target`` names: `me` is whoever typed the command and a mention the person
    mentioned, both through the identity map (which raises ``NotLinked`` when nobody matches);
    a name is itself. A key ID is not resolved here: it may belong to another account."""
    match target.kind:
        case TargetKind.ME:
            person = request.user_id
        case TargetKind.SLACK_USER:
            person = target.value
        case _:
            return target.value
    with known_in_slack(person):
        return services.identity.iam_user_for(person)


@contextmanager
def known_in_slack(person: str) -> Iterator[None]:
    """Looking a person up in Slack: a mention typed by hand can name an ID the workspace does
    not have, which is the person's mistake, not the bot's, and is said so."""
    try:
        yield
    except SlackApiError as exc:
        if exc.response.get("error") != "user_not_found":
            raise
        raise UserError(
            f"Slack has no user `{person}` in this workspace, so no IAM user is linked to them."
        ) from None
