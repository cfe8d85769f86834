"""The words of a slash command, its options, and the ``--account`` every subcommand takes:
pure functions (no I/O, so the ack can run them), outside the subcommands' package so that
what the subcommands use (the scope a command acts in) can read them too."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.ops.context import UserError
from bot.slack.messages.common import escape

# A Slack mention or link (`<@U123|alice>`) is one token even if its label has spaces.
_TOKEN = re.compile(r"<[^>]*>|\S+")
# What Slack clients and keyboards make of a typed `--` (macOS and iOS: an em dash; other
# editors: an en dash, a horizontal bar) and of a typed `-` (a Unicode hyphen, a minus sign,
# a full-width hyphen). At the start of a word that goes on with a letter, each is read as
# the ASCII dashes typed: `—disable` is `--disable`, two minus signs `--account`.
_TWO_DASHES = "\u2013\u2014\u2015\ufe58"
_ONE_DASH = "\u2010\u2011\u2012\u2212\ufe63\uff0d"
_AS_TYPED = str.maketrans({**dict.fromkeys(_TWO_DASHES, "--"), **dict.fromkeys(_ONE_DASH, "-")})
_LEADING_DASHES = re.compile(rf"^[-{_TWO_DASHES}{_ONE_DASH}]+(?=[^\W\d_])")
# A word meant as an option: dashes, then a letter. A lone dash, `—` or `-5` in a reason is not.
_OPTION = re.compile(r"-+[^\W\d_]")
_ACCOUNT_WORD = re.compile(r"[\w+=,.@-]{1,64}")


@dataclass(frozen=True)
class Flag:
    """An option a subcommand takes, declared beside it: its name, exactly as it must be typed,
    and what follows it ("" for none)."""

    name: str
    value: str = ""

    def __str__(self) -> str:
        return f"`{self.name} {self.value}`" if self.value else f"`{self.name}`"


ACCOUNT = Flag("--account", "<name or ID>")
ACCOUNT_FLAG = ACCOUNT.name


def tokens(text: str) -> tuple[str, ...]:
    """The words of a command, with the dashes of an option as typed, and ``--account=X`` as
    ``--account X``."""
    words: list[str] = []
    for token in _TOKEN.findall(text or ""):
        token = _LEADING_DASHES.sub(lambda dashes: dashes.group().translate(_AS_TYPED), token)
        name, equals, value = token.partition("=")
        words += [name, value] if equals and name == ACCOUNT_FLAG else [token]
    return tuple(words)


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


def read_options(words: tuple[str, ...], command: str, flags: tuple[Flag, ...]) -> tuple[str, ...]:
    """The words of a subcommand with each ``--flag=value`` as ``--flag value``. Any other word
    that looks like an option (`--Disable`, `-disable`, `--disabled`) is refused: read as a
    word, it would become part of a reason or a name, and the plan would do what the option
    was typed to prevent."""
    taken = {flag.name: flag for flag in flags}
    read: list[str] = []
    for word in words:
        if not _OPTION.match(word):
            read.append(word)
            continue
        name, equals, value = word.partition("=")
        if (flag := taken.get(name)) is None:
            raise UserError(_not_an_option(word, command, flags))
        if equals and not flag.value:
            raise UserError(f"`{flag.name}` takes no value: give it alone.")
        read += [name, value] if equals else [word]
    return tuple(read)


def _not_an_option(word: str, command: str, flags: tuple[Flag, ...]) -> str:
    listed = f"its options: {', '.join(map(str, flags))}" if flags else "it takes no options"
    # Placeholders such as <name or ID> would read as mrkdwn control sequences: escaped too.
    return (
        f"`{escape(word)}` is not an option of `/iam {command}` ({escape(listed)}), so nothing was "
        "done. A user name that starts with a dash goes in backticks."
    )
