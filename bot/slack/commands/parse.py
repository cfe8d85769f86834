"""Reading the text after `/iam`: pure functions, so bad input is refused before any I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.iam import names
from bot.ops.context import UserError

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
# ASCII digits only: str.isdigit() also takes "²" (which int() refuses) and "٣" (which it reads).
_NUMBER = re.compile(r"[0-9]{1,9}")
# The longest reason a person may give (a command's or the Deny modal's). Escaped for mrkdwn
# it is at most 5 times as long (each "&" becomes "&amp;"), 2,500 characters, so with the bot's
# own words it fits one 3,000-character section uncut, and a message carrying two (the request's
# and a denial's) stays far under the 40,000 characters Slack keeps of a message's text.
MAX_REASON = 500


class TargetKind(StrEnum):
    ME = "me"
    SLACK_USER = "slack user"
    KEY_ID = "key id"
    IAM_USER = "iam user"


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    value: str


def _unquoted(token: str) -> str:
    """A word in backticks, as the bot prints names and key IDs, is the word itself."""
    return token[1:-1] if len(token) > 2 and token[0] == token[-1] == "`" else token


def user_word(token: str) -> Target:
    """An IAM user as a person names one: by name (bare or in backticks, as the bot prints it;
    `` `me` `` is a user named me), by Slack mention, or as `me`. Only the shape is checked
    here (no I/O, before the ack); who `me` or a mention is, :func:`bot.slack.commands.who.iam_user`
    looks up after it."""
    if (name := _unquoted(token)) != token:
        return Target(TargetKind.IAM_USER, names.user_name(name))
    if token.lower() == "me":
        return Target(TargetKind.ME, "")
    if mention := _MENTION.fullmatch(token):
        return Target(TargetKind.SLACK_USER, mention.group(1))
    if token.startswith("<"):
        raise UserError("That is not a person: mention a user with @, or give an IAM user name.")
    return Target(TargetKind.IAM_USER, names.user_name(token))


def key_id(token: str) -> str:
    """An access key ID, bare or in backticks as the bot prints it."""
    return names.access_key_id(_unquoted(token))


def target(token: str) -> Target:
    """An IAM user named as :func:`user_word` reads it, or by one of its access key IDs."""
    if _unquoted(token)[:4].upper() in ("AKIA", "ASIA"):
        return Target(TargetKind.KEY_ID, key_id(token))
    return user_word(token)


def one_target(args: tuple[str, ...], usage: str) -> Target:
    if len(args) != 1:
        raise UserError(f"Usage: `/iam {usage}`")
    return target(args[0])


def whole_number(token: str, *, least: int, most: int, usage: str) -> int:
    """A number typed by a user, within ``least``..``most``; anything else is a usage error."""
    if _NUMBER.fullmatch(token) is None or not least <= int(token) <= most:
        raise UserError(f"Usage: `/iam {usage}` (a whole number from {least} to {most})")
    return int(token)


def reason(text: str) -> str:
    """A reason as typed, refused (before anything is opened) when over :data:`MAX_REASON`."""
    if problem := reason_problem(text):
        raise UserError(problem)
    return text


def reason_problem(text: str) -> str | None:
    """Why ``text`` cannot be a reason (too long), for a command's reply or a modal's error."""
    if len(text) <= MAX_REASON:
        return None
    return (
        f"A reason is at most {MAX_REASON} characters; this one has {len(text):,}. "
        "Say why in a sentence or two, and link a ticket for the details."
    )
