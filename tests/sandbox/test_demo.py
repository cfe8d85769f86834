"""The terminal demo reaches every flow: every button of every card it shows can be pressed,
a modal asks for its input (again, with the bot's errors, as Slack keeps it open), a typed
`@bob` reaches the bot as Slack sends it, and `wait` moves the bot's clock (and IAM's, so the
credential report ages) so scheduled steps run."""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator

import pytest

from sandbox.demo import run_demo

_BUTTON = re.compile(r"\[(\d+)\] ([^\[]+?)(?=\s+\[\d+\]|$)")
_KEY_ID = re.compile(r"\bAKIA[A-Z0-9]{16}\b")  # "Delete AKIA…" is one kind of button, any key
#: What the walk starts from; the walker then presses every button these lead to.
_ROOTS = [
    "/iam offboard bob moved teams",  # denied: the first Deny is pressed before anything else
    "/iam rotate alice",
    "wait 2h",  # alice's key was used minutes ago: the rotation holds it
    "/iam whois {dave.old-key}",
    "/iam audit",
    "wait 25h",  # the held key's deletion is due, and the scheduled audit
]
_FINISH = ("Confirm", "Approve")  # pressed again on later cards, so their requests go through
_PRESSES = 12  # per root: enough to reach every card it leads to
_APPROVER = "carol"  # the requester (alice) confirms; an approval needs someone else


class Walker:
    """Answers the demo's prompts: types the roots, then on each screen presses every kind of
    button (by its label) not pressed before (Deny first, Deactivate now last), then Confirm or Approve (as the
    approver), and gives a modal its reason. It sees what the demo printed since its last answer."""

    def __init__(self, out: io.StringIO) -> None:
        self.out = out
        self.read = 0
        self.buttons: dict[str, int] = {}  # label -> number on the screen now
        self.shown: set[str] = set()
        self.pressed: set[str] = set()
        self.tried: set[str] = set()  # on the screen now
        self.lines = self._lines()

    def __call__(self, prompt: str) -> str | None:
        self._look()
        if not prompt.endswith("> "):  # a modal's input
            return "not this week"
        return next(self.lines, None)

    def _look(self) -> None:
        text = self.out.getvalue()
        fresh, self.read = text[self.read :], len(text)
        screen = {}
        for line in fresh.splitlines():
            for number, label in _BUTTON.findall(line):
                screen[_KEY_ID.sub("AKIA…", label.strip())] = int(number)
        self.shown |= set(screen)
        if screen:
            self.buttons, self.tried = screen, set()

    def _next_press(self) -> str | None:
        untried = [label for label in self.buttons if label not in self.tried]
        # Deny first; Deactivate now last, as it takes the key's other buttons away with it.
        order = {"Deny": 0, "Deactivate now": 2}
        new = sorted(
            (lb for lb in untried if lb not in self.pressed), key=lambda lb: order.get(lb, 1)
        )
        return next(iter(new), None) or next((lb for lb in untried if lb in _FINISH), None)

    def _lines(self) -> Iterator[str]:
        for root in _ROOTS:
            for _ in range(4):  # a root's screen again, for its buttons a deeper walk hid
                yield "as alice"
                yield root
                for _ in range(_PRESSES):
                    if (label := self._next_press()) is None:
                        break
                    self.pressed.add(label)
                    self.tried.add(label)
                    yield f"as {_APPROVER if label == 'Approve' else 'alice'}"
                    yield str(self.buttons[label])
                if self.shown <= self.pressed:
                    break


@pytest.fixture
def demo_env(aws: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's state is one per process: the demo's own AWS starts from the ``aws`` fixture's
    reset. The demo points boto3 at its AWS through the environment; that is put back after."""
    for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setenv("AWS_DEFAULT_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


@pytest.mark.usefixtures("demo_env")
def test_every_button_of_every_card_can_be_pressed() -> None:
    out = io.StringIO()
    walker = Walker(out)
    assert run_demo(walker, out=out) == 0
    text = out.getvalue()
    assert "Traceback" not in text and "no such button" not in text
    assert "cannot be pressed" not in text
    assert walker.shown <= walker.pressed, walker.shown - walker.pressed
    assert {"Deactivate now", "Rotate", "Confirm", "Approve", "Deny", "Cancel"} <= walker.pressed
    assert {"Deactivate anyway", "Extend 24 hours"} <= walker.pressed  # a held rotation
    assert "[modal] == Deny request ==" in text and "Why? not this week" in text
    assert "Denied by @alice" in text and "Done. bob removed" not in text
    assert "time passes: 25 hours" in text and "== IAM audit ==" in text


@pytest.mark.usefixtures("demo_env")
def test_script_names_demo_keys_and_waits() -> None:
    out = io.StringIO()
    lines = iter(["/iam whois {dave.old-key}", "/iam keys {nobody.key}", "wait 90m", "quit"])
    assert run_demo(lambda _prompt: next(lines, None), out=out) == 0
    text = out.getvalue()
    assert "belongs to IAM user dave" in text
    assert "no demo key {nobody.key}; there are alice.key" in text
    assert "(time passes: 90 minutes;" in text
    assert "carol    approve" in text and "bob      nothing more" in text  # the welcome


def _demo(*lines: str) -> str:
    """What the demo printed for ``lines`` (modal answers included), as a person sees it."""
    out = io.StringIO()
    answers = iter(lines)
    assert run_demo(lambda _prompt: next(answers, None), out=out) == 0
    return out.getvalue()


@pytest.mark.usefixtures("demo_env")
def test_a_typed_mention_reaches_the_bot_as_slack_sends_it() -> None:
    text = _demo("/iam keys @bob", "quit")
    assert "== Access keys of bob ==" in text
    assert "No IAM user named `@bob`" not in text


@pytest.mark.usefixtures("demo_env")
def test_a_modal_answered_with_errors_stays_open_and_shows_them() -> None:
    text = _demo("/iam offboard bob moved teams", "as carol", "2", "", "not this week", "quit")
    assert "✖ A denial needs a reason. (answer again, or leave it empty to close)" in text
    assert "(modal closed)" not in text
    assert "Denied by @carol:\n  >not this week" in text


@pytest.mark.usefixtures("demo_env")
def test_wait_ages_the_credential_report_so_the_audit_reads_a_new_one() -> None:
    text = _demo("/iam audit", "wait 5h", "/iam audit", "quit")
    first, _, later = text.partition("alice> wait 5h")
    assert "The credential report was built just now" in first
    audit = later.rpartition("alice> /iam audit")[2]
    assert "The credential report was built just now" in audit
    assert "5 hours ago" not in audit


@pytest.mark.usefixtures("demo_env")
def test_a_leak_arrives_as_an_incident_card_and_is_contained_in_one_click() -> None:
    text = _demo("leak {bob.key}", "1", "1", "quit")
    assert "== Leaked access key" in text and "[1] Contain" in text
    assert "== What" in text and "No CloudTrail event" in text  # the thread's investigation
    assert "Contained by @alice" in text and "now inactive" in text
