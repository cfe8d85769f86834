"""`/iam onboard <user> [group ...] [--console] [--key] [--for @person]`: ask for a new user."""

from __future__ import annotations

from bot.iam.names import group_name, is_access_key_id
from bot.ops import onboard
from bot.ops.context import Services, UserError
from bot.ops.onboard import MAX_GROUPS, OnboardArgs
from bot.slack.commands.parse import TargetKind, target, user_word
from bot.slack.context import Request
from bot.slack.messages.common import escape
from bot.slack.words import Flag

USAGE = "onboard <user> [group ...] [--console] [--key] [--for @person]"
CONSOLE = Flag("--console")
KEY = Flag("--key")
FOR = Flag("--for", "@person")
FLAGS = (CONSOLE, KEY, FOR)


def _usage(problem: str = "") -> UserError:
    return UserError(f"{problem}Usage: `/iam {USAGE}`")


def parse(args: tuple[str, ...]) -> OnboardArgs:
    """Pure parsing and IAM name checks: no I/O, so it runs before the ack."""
    words: list[str] = []
    console = access_key = False
    person: str | None = None
    rest = iter(args)
    for word in rest:
        if word == CONSOLE.name:
            console = True
        elif word == KEY.name:
            access_key = True
        elif word == FOR.name:
            mention = next(rest, "")
            if not mention.startswith("<@") or target(mention).kind is not TargetKind.SLACK_USER:
                raise _usage("`--for` takes a Slack mention (@person). ")
            named = target(mention).value
            if person not in (None, named):
                raise _usage("`--for` names one person. ")
            person = named
        elif word.startswith("--"):
            raise _usage(f"`{escape(word)}` is not an option of onboard. ")
        elif word.startswith("<"):
            raise _usage("A mention goes after `--for`. ")
        else:
            words.append(word)
    if not words:
        raise _usage()
    user = user_word(words[0])
    if user.kind is not TargetKind.IAM_USER:  # `me`: whoever asks already has their user
        raise _usage("Name the new IAM user; the person it is for goes after `--for`. ")
    if is_access_key_id(user.value.upper()):  # every later look-up would read it as a key
        raise UserError(
            f"`{user.value}` is shaped like an access key ID, so `/iam keys` and the other "
            "commands would read it as one: choose another name for the new user."
        )
    groups: list[str] = []
    for name in words[1:]:
        if group_name(name).lower() not in (g.lower() for g in groups):
            groups.append(name)  # IAM group names are unique regardless of case
    if len(groups) > MAX_GROUPS:
        raise UserError(f"An IAM user can be in at most {MAX_GROUPS} groups.")
    return OnboardArgs(user.value, tuple(groups), console, access_key, person)


def check(args: tuple[str, ...]) -> None:
    parse(args)


def run(services: Services, request: Request) -> None:
    onboard.open_request(
        request.ops, parse(request.args), requester=request.user_id, channel=request.channel_id
    )
