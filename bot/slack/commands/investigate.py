"""`/iam investigate <AKIA...> [--hours N]`: what a (leaked) key did, from CloudTrail, in every
region of the key's own account."""

from __future__ import annotations

from bot.ops import investigate
from bot.ops.context import Services, UserError
from bot.slack.commands.parse import key_id, whole_number
from bot.slack.context import Request
from bot.slack.messages.investigate import investigation_reply
from bot.slack.words import Flag

USAGE = "investigate <AKIA...> [--hours N]"
HOURS = Flag("--hours", "N")
FLAGS = (HOURS,)
PERMISSIONS = investigate.PERMISSION
SUMMARY = (
    "what a key did, from CloudTrail: IPs, events, changes, persistence; "
    f"`--hours N`: the last N hours (default {investigate.DEFAULT_HOURS}, "
    f"at most {investigate.MAX_HOURS})"
)


def _parsed(args: tuple[str, ...]) -> tuple[str, int]:
    """The key and how many hours back (the default when ``--hours`` is not given)."""
    words, hours = list(args), investigate.DEFAULT_HOURS
    if HOURS.name in words:
        at = words.index(HOURS.name)
        given = words[at + 1] if at + 1 < len(words) else ""
        hours = whole_number(given, least=1, most=investigate.MAX_HOURS, usage=USAGE)
        del words[at : at + 2]
    if len(words) != 1:
        raise UserError(f"Usage: `/iam {USAGE}`")
    return key_id(words[0]), hours


def check(args: tuple[str, ...]) -> None:
    _parsed(args)


def run(services: Services, request: Request) -> None:
    key, hours = _parsed(request.args)
    found = investigate.summary(request.ops, key, hours)
    request.respond(response_type="ephemeral", **investigation_reply(found).as_kwargs())
