"""Settings that size or time the fleet's work (IAM_BOT_WORKERS, how many answers may wait on
AWS at once; IAM_BOT_DRAIN_SECONDS, how long a stopping replica lets its work run on;
IAM_BOT_POLL_SECONDS, how often the scheduler looks; IAM_BOT_RETENTION_DAYS, how long finished
records are kept): a value that is not sensible stops `iam-bot serve` with one line, before
anything starts. Whole numbers are ASCII digits
("²" once ended in a traceback, and Arabic-Indic 100 was read as 100); a config file that gives a key
twice stops it the same way.

Each bad value is tried in a process of its own, forked from one interpreter that has imported
the CLI and nothing else: the same `main` with its own environment, exit code and standard error,
without starting Python and loading boto3 for each (`python -m bot serve` itself is started in
tests/ship/test_startup.py and below)."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.project import python_json
from tests.fixtures.serve import serve_env, serve_once

ARABIC_100 = "\u0661\u0660\u0660"
WORKERS = "iam-bot: IAM_BOT_WORKERS must be a number of threads between 4 and 1000"
DRAIN = "iam-bot: IAM_BOT_DRAIN_SECONDS must be a number of seconds between 0 and 3600"
POLL = "iam-bot: IAM_BOT_POLL_SECONDS must be a number of seconds between 0.1 and 3600"
RETENTION = "iam-bot: IAM_BOT_RETENTION_DAYS must be a number of days between 1 and 3650"


BAD = [
    *(
        ("IAM_BOT_WORKERS", v, WORKERS)
        for v in ("0", "3", "1001", "many", "-8", "16.5", "²", ARABIC_100)
    ),
    *(("IAM_BOT_RETENTION_DAYS", v, RETENTION) for v in ("²", ARABIC_100)),
    *(("IAM_BOT_DRAIN_SECONDS", v, DRAIN) for v in ("-1", "3601", "soon", "nan", "inf")),
    ("IAM_BOT_POLL_SECONDS", "0.05", POLL),  # the same check as the drain's, its own floor
]

# Run in a fresh interpreter: argv[1] the environments, one `iam-bot serve` in each. Prints
# each one's exit code and standard error, as JSON.
_SERVE_EACH = """
import json, os, signal, sys
from bot.cli import main
import bot.slack.app, bot.slack.socket_mode, bot.slack.wsgi  # what `serve` imports first: once
answers = []
for env in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.dup2(write, 2)
        os.environ.clear()
        os.environ.update(env)
        signal.alarm(60)  # a start that is not refused would serve on
        code = main(["serve"])
        sys.stderr.flush()
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as said:
        stderr = said.read()
    _, status = os.waitpid(pid, 0)
    answers.append([os.waitstatus_to_exitcode(status), stderr])
print(json.dumps(answers))
"""


@pytest.fixture(scope="module")
def answers() -> dict[tuple[str, str], tuple[int, str]]:
    """Each bad value's exit code and standard error."""
    envs = [serve_env(**{name: value}) for name, value, _ in BAD]
    said = python_json(_SERVE_EACH, json.dumps(envs), env=serve_env())
    return {
        (name, value): (code, err) for (name, value, _), (code, err) in zip(BAD, said, strict=True)
    }


@pytest.mark.parametrize(("name", "value", "line"), BAD)
def test_a_bad_value_stops_startup_with_one_line(answers, name: str, value: str, line: str) -> None:
    code, stderr = answers[(name, value)]
    assert (code, stderr.splitlines()) == (2, [line]), stderr


def test_python_m_bot_serve_stops_with_the_same_line() -> None:
    result = serve_once(serve_env(IAM_BOT_WORKERS="3"))
    assert (result.returncode, result.stderr.splitlines()) == (2, [WORKERS]), result.stderr


def test_a_config_key_given_twice_stops_startup_with_its_line(tmp_path) -> None:
    config = tmp_path / "iam-bot.yml"
    config.write_text(
        "permissions:\n  offboard: [U0SECLEAD]\n  approve: [S0SECURITY]\n"
        "approvals:\n  commands:\n    offboard: {required: 2}\n    offboard: {required: 1}\n"
    )
    result = serve_once(serve_env(IAM_BOT_CONFIG=str(config)))
    line = "iam-bot: IAM_BOT_CONFIG: line 7: duplicate key 'offboard' (first at line 6)"
    assert (result.returncode, result.stderr.splitlines()) == (2, [line]), result.stderr
