"""`python -m sandbox.demo` (`make demo`): the real bot on an embedded AWS and Slack.

Everything production runs, runs here: the Bolt app behind the waitress HTTP server, receiving
slash commands and button presses signed with the real scheme, calling IAM through boto3. Only
the peers are local: moto (behind the faithful layer) stands in for AWS, and a fake Slack Web
API records what the bot posts, which this module renders as text.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.logs import setup_logging
from sandbox.aws import FaithfulAws
from sandbox.harness import RunningBot, point_boto3_at, start_bot
from sandbox.seed import DEMO_PEOPLE, seed_demo
from sandbox.slack_api import FakeSlack, Message

DEMO_CONFIG = """\
permissions:
  keys: ["*"]
  rotate: [S0ONCALL]
  deactivate: [S0ONCALL]
  offboard: [U0ALICE, U0SECLEAD]
  onboard: [U0SECLEAD]
  approve: [S0SECURITY]
  audit: ["*"]
  account: ["*"]
  admin: [U0SECLEAD]
audit_channel: C0AUDIT
approvals:
  required: 1
  expire_minutes: 60
protected_users: [break-glass-admin]
"""
DEMO_GROUPS = {"S0ONCALL": ["U0ALICE", "U0DAVE"], "S0SECURITY": ["U0SECLEAD", "U0CAROL"]}
TOUR = Path(__file__).with_name("demo_tour.txt")
_BOLD = re.compile(r"\*([^*\n]+)\*")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_DATE = re.compile(r"<!date\^\d+\^[^|]*\|([^>]*)>")
_BUTTON = re.compile(r"[0-9]{1,4}")  # ASCII digits: str.isdigit() takes "²", int() does not
_EMOJI = {
    ":warning:": "⚠",
    ":zzz:": "💤",
    ":rotating_light:": "🚨",
    ":x:": "✖",
    ":large_green_circle:": "●",
    ":white_circle:": "○",
    ":point_left:": "◀",
    ":white_check_mark:": "✔",
    ":hourglass:": "⏳",
    ":gear:": "⚙",
    ":no_entry:": "⛔",
    ":heavy_minus_sign:": "-",
}


def _text(mrkdwn: str) -> str:
    """Slack mrkdwn as plain terminal text: emoji as glyphs, *bold* unmarked, dates readable."""
    for code, glyph in _EMOJI.items():
        mrkdwn = mrkdwn.replace(code, glyph)
    mrkdwn = _DATE.sub(r"\1", mrkdwn)
    return _BOLD.sub(r"\1", mrkdwn)


def render_blocks(
    blocks: list[dict[str, Any]], buttons: list[tuple[Message | None, dict]]
) -> list[str]:
    """Blocks as terminal lines; each button gets the next number in ``buttons``."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {block['text']['text']} ==")
        elif kind == "section":
            if block.get("text"):
                lines.extend(_text(block["text"]["text"]).splitlines())
            if (accessory := block.get("accessory")) and accessory.get("type") == "button":
                buttons.append((None, accessory))
                lines.append(f"      [{len(buttons)}] {accessory['text']['text']}")
            fields = [_text(f["text"]).replace("\n", ": ", 1) for f in block.get("fields", [])]
            for i in range(0, len(fields), 2):
                lines.append("   " + "   ".join(f"{f:<38}" for f in fields[i : i + 2]).rstrip())
        elif kind == "context":
            lines.append(
                "  (" + " ".join(_text(e.get("text", "")) for e in block["elements"]) + ")"
            )
        elif kind == "divider":
            lines.append("-" * 60)
        elif kind == "actions":
            labels = []
            for element in block["elements"]:
                if element.get("type") == "button":
                    buttons.append((None, element))
                    labels.append(f"[{len(buttons)}] {element['text']['text']}")
            lines.append("   " + "   ".join(labels))
    return lines


@dataclass
class Terminal:
    """Types commands as a chosen Slack user and prints what that user would see."""

    bot: RunningBot
    user_id: str = "U0ALICE"
    out: Any = sys.stdout
    _seen: dict[tuple[str, str], Any] = field(default_factory=dict)
    _buttons: list[tuple[Message | None, dict]] = field(default_factory=list)

    def _name(self, user_id: str) -> str:
        return DEMO_PEOPLE.get(user_id, (user_id, ""))[0]

    def _print(self, lines: Iterable[str]) -> None:
        for line in lines:
            print(line, file=self.out)

    def handle(self, line: str) -> bool:
        """Run one input line; False means quit."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        self._print([f"{self._name(self.user_id)}> {line}"])
        if line in ("quit", "exit"):
            return False
        if line.startswith("as "):
            self._switch(line[3:].strip())
        elif line.startswith("/iam"):
            reply = self.bot.sender.command(line[4:].strip(), user_id=self.user_id)
            self._show_ack(reply.json)
            self._settle()
        elif _BUTTON.fullmatch(line) or line.startswith("press "):
            self._press(line.removeprefix("press ").strip())
        else:
            self._print(["  type /iam <command>, a button number, `as <person>` or `quit`"])
        return True

    def _switch(self, who: str) -> None:
        for user_id, (name, _) in DEMO_PEOPLE.items():
            if who in (user_id, name):
                self.user_id = user_id
                self._print([f"  (you are now {name}, {user_id})"])
                return
        people = ", ".join(name for name, _ in DEMO_PEOPLE.values())
        self._print([f"  no such person; try one of: {people}"])

    def _show_ack(self, body: dict[str, Any] | None) -> None:
        if body and (body.get("blocks") or body.get("text")):
            self._show([(None, body.get("blocks") or [], body.get("text", ""))])

    def _show(self, shown: list[tuple[Message | None, list[dict], str]]) -> None:
        """Print messages; their buttons replace the numbered ones, if they bring any."""
        buttons: list[tuple[Message | None, dict]] = []
        for message, blocks, text in shown:
            if message is not None:
                where = "only you" if message.ephemeral else f"#{message.channel}"
                self._print([f"  [{where}]"])
            start = len(buttons)
            lines = render_blocks(blocks, buttons) if blocks else [_text(text)]
            buttons[start:] = [(message, button) for _, button in buttons[start:]]
            self._print("  " + self._people(line) for line in lines)
        if buttons:
            self._buttons = buttons

    def _people(self, line: str) -> str:
        return _MENTION.sub(lambda m: "@" + DEMO_PEOPLE.get(m.group(1), (m.group(1), ""))[0], line)

    def _settle(self) -> None:
        """Wait for the work the command started, then show every new or changed message."""
        self.bot.settle()
        fresh = []
        for message in self.bot.slack.messages():
            key = (message.channel, message.ts)
            state = (message.text, repr(message.blocks))
            if self._seen.get(key) != state:
                self._seen[key] = state
                fresh.append(message)
        self._show(
            [
                (m, m.blocks or [], m.text or "")
                for m in fresh
                if not m.ephemeral or m.user in (None, self.user_id)
            ]
        )

    def _press(self, which: str) -> None:
        if not _BUTTON.fullmatch(which) or not 1 <= int(which) <= len(self._buttons):
            self._print(["  no such button"])
            return
        message, button = self._buttons[int(which) - 1]
        if message is None:
            self._print(["  that button is in a reply that cannot be pressed in the demo"])
            return
        self.bot.sender.press(message, user_id=self.user_id, action_id=button["action_id"])
        self._settle()


def _lines(script: str | None) -> Iterable[str]:
    if script:
        return Path(script).read_text(encoding="utf-8").splitlines()
    if sys.stdin.isatty():
        return _prompt()
    piped = sys.stdin.read().splitlines()
    return piped or TOUR.read_text(encoding="utf-8").splitlines()


def _prompt() -> Iterable[str]:
    print("iam-bot demo: embedded AWS (moto) and Slack. Try `/iam keys alice`, `/iam help`, ")
    print("`as bob` to type as someone else, a button number to press it, `quit` to leave.")
    while True:
        try:
            yield input("> ")
        except EOFError:
            return


def run_demo(script: str | None = None) -> int:
    people = {uid: {"name": name, "email": email} for uid, (name, email) in DEMO_PEOPLE.items()}
    with (
        FaithfulAws() as aws,
        FakeSlack(users=people, groups=DEMO_GROUPS) as slack,
        tempfile.TemporaryDirectory() as state,
    ):
        seed_demo(aws)
        point_boto3_at(aws.endpoint_url)
        bot = start_bot(slack, DEMO_CONFIG, Path(state) / "demo.sqlite3")
        try:
            terminal = Terminal(bot)
            for line in _lines(script):
                if not terminal.handle(line):
                    break
        finally:
            bot.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.demo",
        description="iam-bot on an embedded AWS (moto) and Slack, in the terminal.",
    )
    parser.add_argument("--script", help="run the commands in FILE (one per line) and exit")
    args = parser.parse_args(argv)
    if args.script and not Path(args.script).is_file():
        print(f"demo: no such script file: {args.script}", file=sys.stderr)
        return 2
    setup_logging("WARNING")
    try:
        return run_demo(script=args.script)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
