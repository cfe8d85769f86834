"""Logging set-up with a last line of defence against secrets.

The code never logs a secret on purpose (secrets are wrapped in ``Secret``), but a third-party
library's debug line or an exception message could still carry one; this filter masks anything
shaped like a secret access key or a Slack token before it is written.
"""

from __future__ import annotations

import logging
import re

_SECRET_SHAPES = re.compile(
    r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"  # AWS secret access key
    r"|xox[abpr]-[A-Za-z0-9-]+"  # Slack bot/user tokens
    r"|xapp-[A-Za-z0-9-]+"  # Slack app-level tokens
)


def redact(text: str) -> str:
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


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
