"""Logging set-up with a last line of defence against secrets, and against forged entries.

The code never logs a secret on purpose (secrets are wrapped in ``Secret``), but a third-party
library's debug line or an exception message could still carry one; this filter masks anything
shaped like a secret access key or a Slack token, and the value of any parameter named like a
password, before it is written.

A message can carry text a user typed; both formats keep every entry on its own line, so a
reason with a line break cannot write what looks like a second entry.

Each entry also says which piece of work it belongs to (:class:`Scope`: the Slack request's ID,
who sent it, the command): set where a Slack request arrives and carried into the jobs it starts,
so the JSON lines of one click, from its ack to the AWS calls of the run it starts, share an ID.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime

_SECRET_SHAPES = re.compile(
    r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"  # AWS secret access key
    r"|xox[abpr]-[A-Za-z0-9-]+"  # Slack bot/user tokens
    r"|xapp-[A-Za-z0-9-]+"  # Slack app-level tokens
)


# A password has no fixed shape, so it is found by its parameter's name (Password, NewPassword,
# ServicePassword...; not PasswordResetRequired) in the forms botocore's debug lines show: a
# dict's repr, JSON (escaped inside a bytes repr) and a query string.
_SECRET_FIELDS = re.compile(
    r"(?P<name>\b[A-Za-z]*Password(?:\\*[\"'])?\s*[:=]\s*)"  # name, its closing quote, : or =
    r"(?:(?P<open>(?P<esc>\\*)(?P<q>[\"']))(?:(?!(?P=esc)(?P=q)).)*"  # quoted: to the same quote
    r"|[^\"'\\&\s,}]+)"  # or bare, as in a query string
)


def redact(text: str) -> str:
    text = _SECRET_FIELDS.sub(lambda m: f"{m['name']}{m['open'] or ''}[redacted]", text)
    return _SECRET_SHAPES.sub("[redacted]", text)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


# Everything str.splitlines() breaks at, which is what a log viewer may break at too.
_LINE_BREAKS = re.compile("[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
TRACEBACK_MARK = "| "


def one_line(text: str) -> str:
    """``text`` with its line breaks written as escapes (``\\n``), as ``repr`` writes them."""
    return _LINE_BREAKS.sub(lambda m: repr(m.group())[1:-1], text)


class OneLineEntries(logging.Formatter):
    """Each entry is one line, and what follows it (a traceback) is marked as its own.

    The message's line breaks are escaped; a traceback stays readable as lines, each starting
    with ``TRACEBACK_MARK``, so not even an exception's text can start a line that reads as an
    entry.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        entry, _, after = super().format(record).partition("\n")
        return "\n".join([entry, *(TRACEBACK_MARK + line for line in after.splitlines())])


@dataclass
class Scope:
    """The piece of work a log entry belongs to: one Slack request and the jobs it started.

    ``outcome`` is known only at the end (:func:`finish`), which writes the work's one outcome
    line and calls ``on_finish`` once: how the serving layer counts commands by outcome.
    ``account`` is the AWS account the work acts in once it is known (:func:`acting_in`); an
    entry written inside an AWS session names that session's account instead (one command may
    act in several; see :class:`JsonLines`).
    """

    request_id: str = ""
    user: str = ""
    team: str = ""
    kind: str = ""  # command, click, modal or event
    command: str = ""  # the subcommand, button, modal or event: never what was typed
    outcome: str = ""
    account: str = ""
    started: float = field(default_factory=time.monotonic, repr=False, compare=False)
    on_finish: Callable[[Scope], None] | None = field(default=None, repr=False, compare=False)


_SCOPE: ContextVar[Scope | None] = ContextVar("iam_bot_scope", default=None)
SCOPE_FIELDS = ("request_id", "user", "team", "kind", "command", "outcome")
ACTIVITY = logging.getLogger("iam-bot.activity")  # one line per input and per run


@contextlib.contextmanager
def scoped(scope: Scope) -> Iterator[Scope]:
    """Log entries written in this block (and in jobs submitted from it) belong to ``scope``."""
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def current_scope() -> Scope | None:
    return _SCOPE.get()


def acting_in(account: str) -> None:
    """The current piece of work acts in AWS account ``account``: its outcome line says so."""
    if (scope := _SCOPE.get()) is not None:
        scope.account = account


def finish(outcome: str, reason: str = "") -> None:
    """The current piece of work ended with ``outcome`` (ok, refused, failed; ``reason``: the
    kind of refusal or failure); once only, with one line saying who did what and how it went."""
    scope = _SCOPE.get()
    if scope is None or scope.outcome:
        return
    scope.outcome = outcome
    log_outcome(
        f"{scope.kind or 'input'} {scope.command or '?'}",
        f"request_id {scope.request_id}",
        outcome=f"{outcome} ({reason})" if reason else outcome,
        seconds=time.monotonic() - scope.started,
        user=scope.user,
        team=scope.team,
        account=scope.account,
    )
    if scope.on_finish is not None:
        scope.on_finish(scope)


def log_outcome(
    what: str, ref: str, *, outcome: str, seconds: float, user: str, team: str = "",
    account: str = "", **fields: str,
) -> None:  # fmt: skip
    """One line (:data:`ACTIVITY`) for a piece of work that ended: ``what`` was done (never
    text a person typed), by whom, in which team and AWS account, its outcome and latency;
    ``ref`` finds it again. The JSON format gets each of these as a field, ``fields`` too."""
    ms = round(seconds * 1000)
    where = ", ".join(
        f"{name} {value}" for name, value in (("team", team), ("account", account)) if value
    )
    ACTIVITY.info(
        "%s by %s%s: %s in %d ms (%s)", what, user or "nobody known",
        f" ({where})" if where else "", outcome, ms, ref,
        extra={"activity": {
            "user": user, "team": team, "account": account, "outcome": outcome,
            "latency_ms": ms, **fields,
        }},
    )  # fmt: skip


def _no_account() -> str:
    return ""


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the scope's fields (empty when
    unknown), the AWS account the entry's work acts in (empty with one account), an outcome
    line's own fields (:func:`log_outcome`) and, after a failure, the traceback as one string.

    ``acting_in``: the account the current work acts in ("" when none), asked of whoever knows
    (the AWS sessions, passed in where the bot is put together); else the scope's account."""

    def __init__(self, acting_in: Callable[[], str] = _no_account) -> None:
        super().__init__()
        self._acting_in = acting_in

    def format(self, record: logging.LogRecord) -> str:
        scope = _SCOPE.get() or Scope()
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **{name: getattr(scope, name) for name in SCOPE_FIELDS},
            "account": self._acting_in() or scope.account,
            **getattr(record, "activity", {}),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry)  # non-ASCII escaped too: no character a viewer breaks at


LOG_FORMATS = ("text", "json")


def fatal_line(message: str, log_format: str) -> str:
    """The line startup stops with, as is or (``json``) as a JSON entry, so that a pipeline
    reading the bot's JSON log reads why it did not start too."""
    if log_format != "json":
        return message
    return JsonLines().format(
        logging.LogRecord("iam-bot", logging.CRITICAL, "", 0, message, None, None)
    )


def setup_logging(
    level: str = "INFO", log_format: str = "text", acting_in: Callable[[], str] = _no_account
) -> None:
    """Every entry to stderr, as text lines or (``json``) JSON lines naming the account
    ``acting_in`` says; secrets masked in both."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonLines(acting_in)
        if log_format == "json"
        else OneLineEntries("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
