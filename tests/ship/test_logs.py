"""LOG_FORMAT: a bad value stops `iam-bot serve` with one line; the text format masks secrets
as the JSON format does."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

from bot.logs import JsonLines, OneLineEntries, RedactSecrets, Scope, scoped

ROOT = Path(__file__).resolve().parent.parent
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # shaped like a secret access key


def test_a_bad_log_format_stops_startup_with_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IAM_BOT_"))}
    env |= {"SLACK_BOT_TOKEN": "xoxb-1-2-log", "SLACK_SIGNING_SECRET": "s", "LOG_FORMAT": "yaml"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr.splitlines()) == (
        2,
        ["iam-bot: LOG_FORMAT must be one of: text, json"],
    )


def _logged(formatter: logging.Formatter) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    logger = logging.getLogger("tests.i13")
    logger.addHandler(handler)
    try:
        with scoped(Scope(request_id="r1", user="U0ALICE", command="keys")):
            logger.warning("key %s\u2028fake entry", SECRET)
            try:
                raise RuntimeError(f"token xoxb-123-456-abc and {SECRET}")
            except RuntimeError:
                logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_both_formats_mask_secrets_and_keep_entries_on_their_lines() -> None:
    text = _logged(OneLineEntries("%(levelname)s %(name)s: %(message)s"))
    as_json = _logged(JsonLines())
    for out in (text, as_json):
        assert SECRET not in out and "xoxb-123" not in out and "[redacted]" in out
    assert len(as_json.splitlines()) == 2  # the traceback is inside its entry
    assert '"request_id": "r1"' in as_json and '"user": "U0ALICE"' in as_json
