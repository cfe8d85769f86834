"""Logging set-up with a last line of defence against secrets, and against forged entries.

The code never logs a secret on purpose (secrets are wrapped in ``Secret``), but a third-party
library's debug line or an exception message could still carry one; this filter masks anything
shaped like a secret access key or a Slack token, and the value of any parameter named like a
password, before it is written.

A message can carry text a user typed; the formatter keeps every entry on its own line, so a
reason with a line break cannot write what looks like a second entry.
"""

from __future__ import annotations

import logging
import re

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


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineEntries("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
