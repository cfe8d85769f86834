"""The command line as an operator meets it: the demo, the policy, and startup errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.project import ROOT


def _run(
    *args: str, env: dict[str, str] | None = None, stdin: str = "", module: str = "bot"
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "IAM_BOT_"))}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=120,
        check=False,
    )


def test_demo_script_shows_keys_and_a_full_approval(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text(
        "/iam keys dave\n/iam offboard carol left\n1\nas seclead\n1\n/iam history carol\n/iam keys carol\n"
    )
    result = _run("--script", str(script), module="sandbox.demo")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "== Access keys of dave ==" in out and "Two active keys" in out and "400 days" in out
    assert "your approval does not count" in out
    assert "Done. carol removed: 12 steps done" in out
    assert "approved by @seclead" in out
    assert "No IAM user named `carol`." in out
    assert "Traceback" not in out + result.stderr


def test_demo_without_a_terminal_plays_the_tour() -> None:
    result = _run(module="sandbox.demo")
    assert result.returncode == 0, result.stderr
    assert (
        "alice> /iam keys alice" in result.stdout and "== Access keys of alice ==" in result.stdout
    )


def test_demo_names_a_missing_script_in_one_line(tmp_path: Path) -> None:
    result = _run("--script", str(tmp_path / "nothing.txt"), module="sandbox.demo")
    assert result.returncode == 2
    assert result.stderr.strip() == f"demo: no such script file: {tmp_path / 'nothing.txt'}"


def test_the_shipped_cli_has_no_demo() -> None:
    assert _run("demo").returncode == 2  # the demo lives with the test peers, outside the package


def test_policy_command_prints_the_shipped_policy() -> None:
    result = _run("policy")
    assert result.stdout == (ROOT / "deploy" / "iam-policy.json").read_text()


def test_serve_refuses_to_start_without_settings_in_one_line() -> None:
    result = _run("serve")
    assert result.returncode == 2
    assert result.stderr.strip() == "iam-bot: SLACK_BOT_TOKEN is not set"


def test_serve_never_echoes_a_secret(tmp_path: Path) -> None:
    result = _run(
        "serve", env={"SLACK_BOT_TOKEN": "xoxp-my-user-token-value", "SLACK_SIGNING_SECRET": "s"}
    )
    assert result.returncode == 2 and "my-user-token-value" not in result.stderr
    assert "must start with xoxb-" in result.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("permissions: {keys: [everyone]}\n")
    result = _run(
        "serve",
        env={"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "IAM_BOT_CONFIG": str(bad)},
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("iam-bot: IAM_BOT_CONFIG: permissions.keys[0]")
