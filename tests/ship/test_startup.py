"""`iam-bot serve` as an operator starts it: every broken setting stops it with one line on
stderr and exit code 2, never a traceback, and a good start says one line."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.access.store import SqliteStore
from sandbox.aws import FaithfulAws
from sandbox.slack_api import FakeSlack
from tests.fixtures.serve import serve_env, serve_once, serve_until_up

NOBODY = 65534


def _refused(result: subprocess.CompletedProcess[str], line: str) -> None:
    assert (result.returncode, result.stderr.splitlines()) == (2, [line]), result.stderr


@pytest.fixture
def aws_ok(aws: FaithfulAws) -> dict[str, str]:
    """Credentials and endpoint of the sandbox AWS, for the checks that come after AWS's."""
    return {
        "AWS_ENDPOINT_URL": aws.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


def test_a_good_start_says_one_line_without_warnings(aws_ok, slack: FakeSlack, tmp_path) -> None:
    env = serve_env(
        **aws_ok, SLACK_API_URL=slack.api_url, IAM_BOT_STATE=f"sqlite:///{tmp_path}/state.db"
    )
    lines = serve_until_up(env)
    assert len(lines) == 1, lines  # no Bolt warning about the token, no botocore chatter
    assert " INFO iam-bot: listening on port " in lines[0]  # one prefix, not "iam-bot: iam-bot:"
    assert "as arn:aws:sts::123456789012:user/moto (account 123456789012)" in lines[0]
    assert [c.method for c in slack.calls()] == ["auth.test"]


def test_non_utf8_config(tmp_path: Path) -> None:
    config = tmp_path / "iam-bot.yml"
    config.write_bytes(b"permissions: {keys: ['*']}  # \xff\n")
    _refused(
        serve_once(serve_env(IAM_BOT_CONFIG=str(config))),
        f"iam-bot: IAM_BOT_CONFIG: {config} is not UTF-8 text (byte 30)",
    )


def test_config_that_lets_a_requester_delete_a_user_alone(tmp_path: Path) -> None:
    config = tmp_path / "iam-bot.yml"
    config.write_text("approvals:\n  commands:\n    offboard: {required: 0}\n")
    _refused(
        serve_once(serve_env(IAM_BOT_CONFIG=str(config))),
        "iam-bot: IAM_BOT_CONFIG: approvals.commands.offboard.required: must be at least 1: "
        "someone other than the requester",
    )


def test_a_bad_log_format_stops_startup_with_one_line() -> None:
    _refused(
        serve_once(serve_env(LOG_FORMAT="yaml")), "iam-bot: LOG_FORMAT must be one of: text, json"
    )


def test_unsupported_state_scheme() -> None:
    _refused(
        serve_once(serve_env(IAM_BOT_STATE="postgres://db/iam-bot")),
        "iam-bot: IAM_BOT_STATE: unsupported store scheme 'postgres' (supported: sqlite, dynamodb)",
    )


def test_state_in_a_missing_directory(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/no-such-dir/state.db"
    _refused(
        serve_once(serve_env(IAM_BOT_STATE=url)),
        f"iam-bot: IAM_BOT_STATE: cannot use {url} (unable to open database file)",
    )


def test_corrupt_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not a database, it is a text file " * 200)
    url = f"sqlite:///{path}"
    _refused(
        serve_once(serve_env(IAM_BOT_STATE=url)),
        f"iam-bot: IAM_BOT_STATE: cannot use {url} (file is not a database)",
    )


def test_state_from_a_newer_bot(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 7")
    url = f"sqlite:///{path}"
    _refused(
        serve_once(serve_env(IAM_BOT_STATE=url)),
        f"iam-bot: IAM_BOT_STATE: cannot use {url} "
        "(state store schema 7 is newer than this bot (1))",
    )


@pytest.fixture
def read_only_state() -> Iterator[tuple[Path, tuple[str, ...]]]:
    """A valid state file the bot may read but not write, and how to run the bot so (as root,
    permissions do not apply: run it as nobody)."""
    directory = Path(tempfile.mkdtemp(prefix="iam-bot-ro-"))
    path = directory / "state.db"
    SqliteStore(path)  # a store with the current schema, as an earlier run leaves it
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file read-only")
        prefix = (setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
        for item in (directory, *directory.iterdir()):
            os.chown(item, NOBODY, NOBODY)
    directory.chmod(0o755)
    path.chmod(0o444)
    yield path, prefix
    shutil.rmtree(directory, ignore_errors=True)


def test_read_only_state_file(read_only_state: tuple[Path, tuple[str, ...]]) -> None:
    path, prefix = read_only_state
    url = f"sqlite:///{path}"
    _refused(
        serve_once(serve_env(IAM_BOT_STATE=url, HOME="/tmp"), prefix),
        f"iam-bot: IAM_BOT_STATE: cannot use {url} (attempt to write a readonly database)",
    )


def test_port_already_in_use(tmp_path: Path) -> None:
    with socket.create_server(("0.0.0.0", 0)) as taken:
        port = taken.getsockname()[1]
        result = serve_once(serve_env(PORT=str(port), IAM_BOT_STATE=f"sqlite:///{tmp_path}/s.db"))
    _refused(result, f"iam-bot: PORT: cannot listen on port {port} (Address already in use)")


def test_unknown_aws_profile(tmp_path: Path) -> None:
    _refused(
        serve_once(
            serve_env(AWS_PROFILE="no-such-profile", IAM_BOT_STATE=f"sqlite:///{tmp_path}/s.db")
        ),
        "iam-bot: AWS configuration: The config profile (no-such-profile) could not be found",
    )


def test_no_aws_credentials_at_all(tmp_path: Path) -> None:
    env = serve_env(
        AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
        AWS_CONFIG_FILE="/nonexistent",
        IAM_BOT_STATE=f"sqlite:///{tmp_path}/s.db",
    )
    _refused(
        serve_once(env),
        "iam-bot: AWS: sts:GetCallerIdentity failed: "
        "no AWS credentials found (environment, AWS_PROFILE, or a role)",
    )


def test_aws_unreachable(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    env = serve_env(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
        AWS_ACCESS_KEY_ID="AKIAEXAMPLEEXAMPLE00",
        AWS_SECRET_ACCESS_KEY="example",
        IAM_BOT_STATE=f"sqlite:///{tmp_path}/s.db",
    )
    _refused(
        serve_once(env),
        "iam-bot: AWS: sts:GetCallerIdentity failed: cannot connect to the AWS endpoint",
    )


def test_slack_unreachable(aws_ok, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/api/"
    env = serve_env(**aws_ok, SLACK_API_URL=url, IAM_BOT_STATE=f"sqlite:///{tmp_path}/s.db")
    _refused(
        serve_once(env),
        f"iam-bot: Slack: cannot reach {url} (auth.test: [Errno 111] Connection refused)",
    )
