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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.logs import setup_logging
from bot.operator_rules import Accounts, parse_config
from bot.ops.terms import OPERATIONS
from sandbox.aws import FaithfulAws
from sandbox.aws_events import health_event
from sandbox.harness import RunningBot, ShiftedClock, point_boto3_at, start_bot
from sandbox.seed import BOT_ROLE, DEMO_PEOPLE, LISTING_ROLE, seed_demo
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
rotation:
  grace_minutes: 60    # `wait 2h` shows the old key checked and deactivated
audit:
  schedule: "0 9 * * *"  # `wait 1d` shows the scheduled audit in #audit
incidents:               # `leak {key}` shows AWS's alarm about a leaked key arriving
  channel: C0SEC
  oncall: S0ONCALL
cloudtrail_regions: [us-east-1]
"""
# The Organization's accounts are discovered; the list names the management account (AWS calls
# it by its owner's choice) and gives production stricter rules: offboarding there takes two
# approvers, and only the security team may rotate.
ACCOUNTS_CONFIG = """\
accounts:
  role_name: {role}
  default: management
  organization:
    listing_role: arn:aws:iam::{management}:role/{listing_role}
  list:
    - id: "{management}"
      name: management
    - id: "{production}"
      name: production
      approvals: {{offboard: 2}}
      permissions:
        rotate: [S0SECURITY]
identity_center:
  account: management
"""
DEMO_GROUPS = {"S0ONCALL": ["U0ALICE", "U0DAVE"], "S0SECURITY": ["U0SECLEAD", "U0CAROL"]}
TOUR = Path(__file__).with_name("demo_tour.txt")
_BOLD = re.compile(r"\*([^*\n]+)\*")
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_TYPED_MENTION = re.compile(r"(?<![\w<@])@([a-z][a-z0-9_-]*)")  # not an e-mail's @
_DATE = re.compile(r"<!date\^\d+\^[^|]*\|([^>]*)>")
_LINK = re.compile(r"<https?://[^|>]*\|([^>]*)>")
_CHANNEL = re.compile(r"<#([CDG][A-Z0-9]+)(?:\|([^>]*))?>")
_GROUP = re.compile(r"<!subteam\^(S[A-Z0-9]+)(?:\|([^>]*))?>")
_BUTTON = re.compile(r"[0-9]{1,4}")  # ASCII digits: str.isdigit() takes "²", int() does not
_WAIT = re.compile(r"wait\s+([0-9]{1,4})\s*([mhd])")
_UNITS = {"m": ("minutes", 1), "h": ("hours", 60), "d": ("days", 1440)}
_KEY_NAME = re.compile(r"\{([a-z0-9.-]+)\}")
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
    ":key:": "🔑",
    ":wastebasket:": "🗑",
    ":lock:": "🔒",
    ":information_source:": "💡",
}


def _text(mrkdwn: str) -> str:
    """Slack mrkdwn as plain terminal text: emoji as glyphs, *bold* unmarked, dates, links,
    channels and group mentions readable, escaped characters as typed."""
    for code, glyph in _EMOJI.items():
        mrkdwn = mrkdwn.replace(code, glyph)
    mrkdwn = _DATE.sub(r"\1", mrkdwn)
    mrkdwn = _LINK.sub(r"\1", mrkdwn)
    mrkdwn = _GROUP.sub(lambda m: m.group(2) or f"@{m.group(1)}", mrkdwn)
    mrkdwn = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", mrkdwn)
    mrkdwn = mrkdwn.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _BOLD.sub(r"\1", mrkdwn)


def render_blocks(
    blocks: list[dict[str, Any]], buttons: list[dict[str, Any]], first: int = 1
) -> list[str]:
    """Blocks as terminal lines; each button joins ``buttons`` and shows its number on the
    screen (``first`` for the first one: several messages share one numbering)."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(f"== {block['text']['text']} ==")
        elif kind == "section":
            if block.get("text"):
                lines.extend(_text(block["text"]["text"]).splitlines())
            if (accessory := block.get("accessory")) and accessory.get("type") == "button":
                buttons.append(accessory)
                lines.append(f"      [{first + len(buttons) - 1}] {accessory['text']['text']}")
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
                    buttons.append(element)
                    labels.append(f"[{first + len(buttons) - 1}] {element['text']['text']}")
            lines.append("   " + "   ".join(labels))
    return lines


def typed_mentions(text: str) -> str:
    """A typed ``@bob`` as Slack's clients send it, ``<@U0BOB>``; a name nobody in the demo
    has stays as typed, as it would in Slack."""
    ids = {name: user_id for user_id, (name, _) in DEMO_PEOPLE.items()}
    return _TYPED_MENTION.sub(
        lambda m: f"<@{ids[m.group(1)]}>" if m.group(1) in ids else m.group(0), text
    )


def demo_config(accounts: dict[str, str]) -> str:
    """The demo's rules, and the Organization ``accounts`` (name -> ID) it acts in."""
    return DEMO_CONFIG + ACCOUNTS_CONFIG.format(
        role=BOT_ROLE, listing_role=LISTING_ROLE, **accounts
    )


def welcome(config: str, keys: dict[str, str], accounts: dict[str, str]) -> list[str]:
    """Who the demo's people are and what each may do, read from the demo's own rules; the
    Organization's accounts and what differs in each."""
    parsed = parse_config(config, OPERATIONS)
    permissions = parsed.permissions
    everyone = [name for name, who in permissions.items() if "*" in who]
    lines = [
        "iam-bot demo: the real bot on an embedded AWS (moto) and Slack.",
        f"Everyone may use: {', '.join(everyone)}. Besides that:",
    ]
    for user_id, (name, _) in DEMO_PEOPLE.items():
        own = [p for p, who in permissions.items() if "*" not in who and _member(user_id, who)]
        lines.append(f"  {name:<8} {', '.join(own) or 'nothing more'}")
    names = ", ".join(f"{{{name}}}" for name in keys)
    return [
        *lines,
        *_accounts_welcome(parsed.accounts, accounts),
        "Type /iam <command> (try /iam help), a button's number to press it, `home` to open",
        "your App Home tab, `as <person>` to type as someone else, `wait 25h` (m, h, d) to let",
        "time pass, `leak {key}` for AWS's alarm about a leaked key, `quit` to leave.",
        f"Demo keys by name: {names}.",
    ]


def _accounts_welcome(config: Accounts, accounts: dict[str, str]) -> list[str]:
    """The accounts (name and ID), which is the default, and each account's own rules."""
    lines = ["AWS accounts of the Organization (add `--account <name>` to a command):"]
    for name, account_id in accounts.items():
        rule = config.rule_for(account_id)
        notes = ["the default"] if config.default in (name, account_id) else []
        if rule:
            notes += [f"{command} needs {n} approvers" for command, n in rule.approvals.items()]
            notes += [
                f"{permission} only for {', '.join(_names(who))}"
                for permission, who in rule.permissions.items()
            ]
        lines.append(f"  {name:<11} {account_id}  {'; '.join(notes)}".rstrip())
    return lines


def _names(who: Iterable[str]) -> list[str]:
    """People's and groups' IDs as the demo's names (a group as its members)."""
    return [
        DEMO_PEOPLE[user][0] if user in DEMO_PEOPLE else user
        for w in who
        for user in DEMO_GROUPS.get(w, [w])
    ]


def _member(user_id: str, who: Iterable[str]) -> bool:
    return any(user_id == w or user_id in DEMO_GROUPS.get(w, []) for w in who)


#: The next input line (the prompt shows at a terminal); None when there are no more.
Ask = Callable[[str], str | None]


@dataclass
class Terminal:
    """Types commands as a chosen Slack user and prints what that user would see."""

    bot: RunningBot
    clock: ShiftedClock
    ask: Ask
    keys: dict[str, str] = field(default_factory=dict)  # seeded key IDs by stable name
    echo: bool = True  # print each line read, as it was not typed at a terminal
    user_id: str = "U0ALICE"
    out: Any = sys.stdout
    _seen: dict[tuple[str, str], Any] = field(default_factory=dict)
    _views: set[str] = field(default_factory=set)
    # The buttons on screen: a message and its nth button, or a person's Home view (their ID).
    _buttons: list[tuple[Message | str, int]] = field(default_factory=list)

    def run(self) -> None:
        """Read and run lines until there are none or one says quit."""
        while (line := self.ask(self.prompt())) is not None and self.handle(line):
            pass

    def prompt(self) -> str:
        return f"{self._name(self.user_id)}> "

    def prime(self) -> None:
        """What the bot posted while starting (its first scheduled audit) counts as seen."""
        self.bot.catch_up()
        self._fresh()
        self._views = {view["id"] for view in self.bot.slack.views()}

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
        if self.echo:
            self._print([f"{self.prompt()}{line}"])
        if line in ("quit", "exit"):
            return False
        if unknown := [n for n in _KEY_NAME.findall(line) if n not in self.keys]:
            self._print([f"  no demo key {{{unknown[0]}}}; there are {', '.join(self.keys)}"])
            return True
        line = _KEY_NAME.sub(lambda m: self.keys[m.group(1)], line)
        if line.startswith("as "):
            self._switch(line[3:].strip())
        elif line.startswith("/iam"):
            self._command(line[4:].strip())
        elif line == "home":
            self._open_home()
        elif line.startswith("leak "):
            self._leak(line[5:].strip())
        elif _BUTTON.fullmatch(line) or line.startswith("press "):
            self._press(line.removeprefix("press ").strip())
        elif wait := _WAIT.fullmatch(line):
            self._wait(int(wait.group(1)), wait.group(2))
        else:
            self._print(
                [
                    "  type /iam <command>, a button number, `home`, `as <person>`, `wait 25h`,"
                    " `leak {key}` or `quit`"
                ]
            )
        return True

    def _switch(self, who: str) -> None:
        for user_id, (name, _) in DEMO_PEOPLE.items():
            if who in (user_id, name):
                self.user_id = user_id
                self._print([f"  (you are now {name}, {user_id})"])
                return
        people = ", ".join(name for name, _ in DEMO_PEOPLE.values())
        self._print([f"  no such person; try one of: {people}"])

    def _command(self, text: str) -> None:
        """The ack shows as the ephemeral message it is in Slack, so its buttons work too."""
        reply = self.bot.sender.command(typed_mentions(text), user_id=self.user_id)
        body = reply.json if isinstance(reply.json, dict) else {}
        shown = []
        if body.get("blocks") or body.get("text"):
            ack = Message(
                channel="C0OPS",
                ts=f"ack.{reply.response_key}",
                text=str(body.get("text") or ""),
                blocks=list(body.get("blocks") or []),
                ephemeral=True,
                user=self.user_id,
                response_key=reply.response_key,
            )
            shown.append(ack)
        self.bot.settle()
        self._show(shown + self._fresh())
        self._modals()

    def _leak(self, key_id: str) -> None:
        """AWS's own alarm about ``key_id`` (a Health event, as EventBridge delivers it)
        arriving, as the Lambda handler or the queue poller hands it to the bot."""
        assert self.bot.app is not None
        self.bot.app.incidents.intake(health_event(key_id))
        self.bot.settle()
        self._show(self._fresh())

    def _open_home(self) -> None:
        """Open the App Home tab as Slack does (an ``app_home_opened`` event) and show the view
        the bot published; its buttons are pressed by number like a message's."""
        self.bot.sender.open_home(self.user_id)
        self.bot.settle()
        self._show(self._fresh(), home=True)

    def _wait(self, amount: int, unit: str) -> None:
        name, minutes = _UNITS[unit]
        self.clock.advance(timedelta(minutes=amount * minutes))
        self._print(
            [f"  (time passes: {amount} {name}; it is now {self.clock():%Y-%m-%d %H:%M} UTC)"]
        )
        self.bot.catch_up()
        self._show(self._fresh())

    def _show(self, messages: list[Message], *, home: bool = False) -> None:
        """Print messages, then (``home``) this user's App Home view; their buttons replace the
        numbered ones, if they bring any."""
        buttons: list[tuple[Message | str, int]] = []
        for message in messages:
            where = "only you" if message.ephemeral else f"#{message.channel}"
            self._print([f"  [{where}]"])
            found: list[dict[str, Any]] = []
            lines = (
                render_blocks(message.blocks, found, first=len(buttons) + 1)
                if message.blocks
                else _text(message.text).splitlines()
            )
            buttons += [(message, n) for n in range(1, len(found) + 1)]
            self._print("  " + self._people(line) for line in lines)
        if home:
            buttons += self._show_home(first=len(buttons) + 1)
        if buttons:
            self._buttons = buttons

    def _show_home(self, first: int) -> list[tuple[Message | str, int]]:
        """Print the Home view published for this user; its buttons, numbered from ``first``."""
        view = self.bot.slack.home(self.user_id)
        if view is None:
            self._print(["  (the bot published no Home view)"])
            return []
        found: list[dict[str, Any]] = []
        lines = render_blocks(view.get("blocks", []), found, first=first)
        self._print([f"  [App Home of {self._name(self.user_id)}]"])
        self._print("  " + self._people(line) for line in lines)
        return [(self.user_id, n) for n in range(1, len(found) + 1)]

    def _people(self, line: str) -> str:
        return _MENTION.sub(lambda m: "@" + DEMO_PEOPLE.get(m.group(1), (m.group(1), ""))[0], line)

    def _fresh(self) -> list[Message]:
        """Every message this user can see that is new or changed since last looked at."""
        fresh = []
        for message in self.bot.slack.messages(seen_by=self.user_id):
            key = (message.channel, message.ts)
            state = (message.text, repr(message.blocks))
            if self._seen.get(key) != state:
                self._seen[key] = state
                fresh.append(message)
        return fresh

    def _press(self, which: str) -> None:
        if not _BUTTON.fullmatch(which) or not 1 <= int(which) <= len(self._buttons):
            self._print(["  no such button"])
            return
        where, number = self._buttons[int(which) - 1]
        if isinstance(where, str):
            self._press_home(where, number)
            return
        if where.ephemeral and where.user not in (None, self.user_id):
            self._print([f"  that button is in a message only {self._name(where.user)} sees"])
            return
        self.bot.sender.press(where, user_id=self.user_id, number=number)
        self.bot.settle()
        self._show(self._fresh())
        self._modals()

    def _press_home(self, owner: str, number: int) -> None:
        """A button of ``owner``'s Home view; the bot publishes it again once the press is done."""
        if owner != self.user_id:
            self._print([f"  that button is in {self._name(owner)}'s Home tab"])
            return
        self.bot.sender.press_home(owner, number=number)
        self.bot.settle()
        self._modals()
        self._show(self._fresh(), home=True)

    def _modals(self) -> None:
        """A modal the bot opened asks its inputs (a script's next lines), then is submitted."""
        for view in self.bot.slack.views():
            if view["id"] not in self._views:
                self._views.add(view["id"])
                self._modal(view)

    def _modal(self, view: dict[str, Any]) -> None:
        """Ask the modal's inputs and submit them. A submission the bot answers with errors
        leaves the modal open, as Slack does: each error shows under its input, which is asked
        again; an empty answer then closes the modal (Slack's Cancel)."""
        self._print([f"  [modal] == {view['title']['text']} =="])
        errors: dict[str, str] = {}
        while (values := self._inputs(view, errors)) is not None:
            reply = self.bot.sender.submit_view(view, user_id=self.user_id, values=values)
            answer = reply.json if isinstance(reply.json, dict) else {}
            if answer.get("response_action") != "errors":
                self.bot.settle()
                self._show(self._fresh())
                return
            errors = answer["errors"]
        self._print(["  (modal closed)"])

    def _inputs(self, view: dict[str, Any], errors: dict[str, str]) -> dict[str, Any] | None:
        """The modal's inputs as answered (None: closed); ``errors`` (by block) from the last
        submission show under theirs, and only those inputs are asked again."""
        values: dict[str, Any] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                if not errors:
                    self._print("  " + line for line in render_blocks([block], []))
                continue
            label, element = block["label"]["text"], block["element"]
            if error := errors.get(block["block_id"]):
                self._print([f"  ✖ {error} (answer again, or leave it empty to close)"])
            answer = self.ask(f"  {label} ")
            if answer is None or (errors and not answer.strip()):
                return None
            if self.echo:
                self._print([f"  {label} {answer}"])
            values[block["block_id"]] = {
                element["action_id"]: {"type": element["type"], "value": answer}
            }
        return values


def _reader(script: str | None) -> tuple[Ask, bool]:
    """Where lines come from, and whether to echo them (they were not typed at a terminal)."""
    if script:
        return _from(Path(script).read_text(encoding="utf-8").splitlines()), True
    if sys.stdin.isatty():
        import readline  # noqa: F401  (line editing and history for input())

        return _typed, False
    piped = sys.stdin.read().splitlines()
    return _from(piped or TOUR.read_text(encoding="utf-8").splitlines()), True


def _from(lines: list[str]) -> Ask:
    remaining: Iterator[str] = iter(lines)
    return lambda _prompt: next(remaining, None)


def _typed(prompt: str) -> str | None:
    try:
        return input(prompt)
    except EOFError:
        print()
        return None


def run_demo(ask: Ask, *, echo: bool = True, out: Any = sys.stdout) -> int:
    """The demo, reading its lines from ``ask`` (a test can answer what it sees)."""
    people = {uid: {"name": name, "email": email} for uid, (name, email) in DEMO_PEOPLE.items()}
    clock = ShiftedClock()  # the bot's and IAM's: `wait` ages the credential report too
    with (
        FaithfulAws(clock=clock) as aws,
        FakeSlack(users=people, groups=DEMO_GROUPS) as slack,
        tempfile.TemporaryDirectory() as state,
    ):
        keys = seed_demo(aws)
        config = demo_config(aws.accounts())
        point_boto3_at(aws.endpoint_url)
        bot = start_bot(slack, config, Path(state) / "demo.sqlite3", clock=clock)
        try:
            terminal = Terminal(bot, clock, ask, keys, echo, out=out)
            terminal.prime()
            print("\n".join(welcome(config, keys, aws.accounts())), file=out)
            terminal.run()
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
        ask, echo = _reader(args.script)
        return run_demo(ask, echo=echo)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
