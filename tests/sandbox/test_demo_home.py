"""The terminal demo's `home`: the App Home view the bot publishes, rendered as text, with its
buttons numbered and pressable like a message's; the Home is shown again after a press."""

from __future__ import annotations

import io
import os
import re

import pytest

from sandbox.demo import run_demo


@pytest.fixture
def demo_env(aws: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's state is one per process (the ``aws`` fixture resets it); the demo points boto3
    at its own AWS through the environment, which is put back after."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


class Typist:
    """Types ``lines``; ``{Approve}`` becomes the number the screen last gave that button."""

    def __init__(self, out: io.StringIO, lines: list[str]) -> None:
        self.out, self.lines = out, iter(lines)

    def __call__(self, _prompt: str) -> str | None:
        line = next(self.lines, None)
        if line and (wanted := re.fullmatch(r"\{(\w+)\}", line)):
            numbers = re.findall(rf"\[(\d+)\] {wanted.group(1)}\b", self.out.getvalue())
            return numbers[-1]
        return line


@pytest.mark.usefixtures("demo_env")
def test_home_renders_the_view_and_its_buttons_work() -> None:
    out = io.StringIO()
    typed = ["/iam offboard carol left the company", "as seclead", "home", "{Approve}", "quit"]
    assert run_demo(Typist(out, typed), out=out) == 0
    text = out.getvalue()
    welcome, _, after = text.partition("seclead> home")
    assert "`home` to open" in welcome
    first, _, pressed = after.partition("seclead> ")
    assert "[App Home of seclead]" in first and "Waiting on you" in first
    assert "Offboard IAM user carol in management (123456789012) in #C0OPS" in first  # its account
    assert "Approve" in first
    assert "Done. carol removed" in pressed
    home_again = pressed.rpartition("[App Home of seclead]")[2]
    assert "Nothing is waiting on you." in home_again and "· done" in home_again
    assert "Traceback" not in text and "no such button" not in text
