"""The words of a slash command, and the ``--account`` every subcommand takes: pure functions
(no I/O, so the ack can run them), outside the subcommands' package so that what the
subcommands use (the scope a command acts in) can read them too."""

from __future__ import annotations

import re

from bot.ops.context import UserError

# A Slack mention or link (`<@U123|alice>`) is one token even if its label has spaces.
_TOKEN = re.compile(r"<[^>]*>|\S+")
# Slack clients on macOS and iOS turn a typed `--` into an em dash: `—account` is `--account`.
_DASHED_FLAG = re.compile(r"^\u2014(?=[a-z])")
ACCOUNT_FLAG = "--account"
_ACCOUNT_WORD = re.compile(r"[\w+=,.@-]{1,64}")


def tokens(text: str) -> tuple[str, ...]:
    return tuple(_DASHED_FLAG.sub("--", t) for t in _TOKEN.findall(text or ""))


def subcommand(words: tuple[str, ...]) -> str:
    """The subcommand a command's words name: the first word, after a leading ``--account X``
    (it may come first); "" for none. For labels: :func:`split_account` checks the flag."""
    if words[:1] == (ACCOUNT_FLAG,):
        words = words[2:]
    return words[0].lower() if words else ""


def split_account(words: tuple[str, ...]) -> tuple[str | None, tuple[str, ...]]:
    """``--account X`` anywhere in a command, and the words without it."""
    if ACCOUNT_FLAG not in words:
        return None, words
    at = words.index(ACCOUNT_FLAG)
    name = words[at + 1] if at + 1 < len(words) else ""
    if not _ACCOUNT_WORD.fullmatch(name):
        raise UserError("`--account` takes an account name or its 12-digit ID.")
    rest = words[:at] + words[at + 2 :]
    if ACCOUNT_FLAG in rest:
        raise UserError("Give `--account` once.")
    return name, rest
