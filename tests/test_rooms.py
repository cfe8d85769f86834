"""The rooms stay apart: nothing in bot/iam, bot/access or bot/ops speaks Slack, and no room
imports one above it.

Those rooms say what happened with IDs and plain words; only bot/slack turns a user ID into a
mention, a channel ID into a link or a URL into a link, and only it chooses bold, emoji, buttons
and their styles. A module there that writes Slack markup (or Block Kit's words) or imports
Slack's SDK (or the Slack room) fails here, with the line. The rooms stand one on another,
bot/iam lowest and bot/slack highest, on the ground floor (the modules directly in bot/, but
for the composition roots that put the rooms together): a module that imports from a room
above its own fails here too, with the line, and a ground-floor module imports no room.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.project import ROOT

ROOMS = ("iam", "access", "ops")
MODULES = sorted(p for room in ROOMS for p in (ROOT / "bot" / room).rglob("*.py"))

# A mention (<@U..>), a channel link (<#C..>), a special mention (<!here>), a link (<url|text>),
# bold (*word*, as mrkdwn reads it: from a word's start to a word's end) or an emoji shortcode
# (:warning:, with a space on at least one side and nothing but a space or an end on the other,
# so that ARNs, a split on ":secret:" and "follow-up:rotate" are not).
MARKUP = re.compile(
    r"<[@#!]|<[^<>|\s]+\|[^<>]*>"
    r"|(?:^|(?<=[\s(]))\*[^\s*][^*\n]*(?<=[^\s*])\*(?=$|[\s.,;:!?)])"
    r"|(?:^|(?<=\s)):[a-z][a-z0-9_+-]*:(?=\s)|(?<=\s):[a-z][a-z0-9_+-]*:$"
)
# Block Kit's own words: a workflow says what it offers and in which tone, never how Slack
# draws it. Checked in the strings built and in the names given (a field, an argument).
BLOCK_KIT = re.compile(r"\b(?:action_id|block_id|mrkdwn|plain_text)\b|\Astyle\Z")
# Records stored before the follow-ups spoke plain words keep Slack's names as their keys, which
# are read (never written) where the old shape is read: as strings there, nowhere else. Nothing
# may be added here.
OLD_RECORDS = {("bot/ops/followups.py", "action_id"), ("bot/ops/followups.py", "style")}
SLACK_PACKAGES = ("slack_sdk", "slack_bolt", "bot.slack")

# Lowest first: each room may import from its own room and the ones before it, never after.
ORDER = ("iam", "access", "ops", "slack")
EVERY_MODULE = sorted(p for room in ORDER for p in (ROOT / "bot" / room).rglob("*.py"))
# Where the rooms are put together: these may import any of them.
COMPOSITION_ROOTS = ("__main__.py", "cli.py", "lambda_handler.py")
GROUND_FLOOR = sorted(p for p in (ROOT / "bot").glob("*.py") if p.name not in COMPOSITION_ROOTS)
# Climbs older than this check, to be removed by issue 19 section 3 ("a house without climbs"),
# which moves what they need below them. Nothing may be added here.
KNOWN_CLIMBS: set[tuple[str, str]] = set()


def _docstrings(tree: ast.Module) -> set[int]:
    """The ids of every docstring node: prose may show what markup looks like."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _strings(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every string the code builds, an f-string with ``{}`` for each value it fills in."""
    skip = _docstrings(tree)
    parts_of_fstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = ""
            for part in node.values:
                parts_of_fstrings.add(id(part))
                is_text = isinstance(part, ast.Constant) and isinstance(part.value, str)
                text += part.value if is_text else "{}"
            yield node.lineno, text
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip | parts_of_fstrings
        ):
            yield node.lineno, node.value


def _imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every name imported, in full (``from bot import slack`` gives ``bot.slack``)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield from ((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)


def _is_slack(module: str) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in SLACK_PACKAGES)


def _room_of(module: str) -> str | None:
    """The room a dotted name lives in (``bot.ops.wording.counted`` -> "ops"), None below them."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "bot" and parts[1] in ORDER else None


def _climbs(room: str | None, source: str) -> list[tuple[int, str]]:
    """Every import in ``source`` (a module of ``room``; None: of the ground floor) from a
    room above it."""
    above = ORDER[ORDER.index(room) + 1 :] if room else ORDER
    return [(line, m) for line, m in _imports(ast.parse(source)) if _room_of(m) in above]


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_rooms_have_modules() -> None:
    assert {p.parent.name for p in MODULES} >= set(ROOMS)


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_slack_markup(path: Path) -> None:
    found = [
        f"{_name(path)}:{line}: {text!r}"
        for line, text in _strings(_parse(path))
        if MARKUP.search(text)
    ]
    assert not found


def _names(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every name the code gives or reads: variables, attributes, arguments, keywords."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            yield node.lineno, node.id
        elif isinstance(node, ast.Attribute):
            yield node.lineno, node.attr
        elif isinstance(node, ast.arg):
            yield node.lineno, node.arg
        elif isinstance(node, ast.keyword) and node.arg:
            yield node.value.lineno, node.arg


def _old_shape_left_out(path: Path, strings: Iterator[tuple[int, str]]) -> list[tuple[int, str]]:
    """``strings`` but the keys of :data:`OLD_RECORDS` (only as strings: a name is never one)."""
    return [(line, text) for line, text in strings if (_name(path), text) not in OLD_RECORDS]


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_block_kit_words(path: Path) -> None:
    tree = _parse(path)
    found = [
        f"{_name(path)}:{line}: {text!r}"
        for line, text in [*_old_shape_left_out(path, _strings(tree)), *_names(tree)]
        if BLOCK_KIT.search(text)
    ]
    assert not found


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_slack_imports(path: Path) -> None:
    found = [
        f"{_name(path)}:{line}: {module}"
        for line, module in _imports(_parse(path))
        if _is_slack(module)
    ]
    assert not found


@pytest.mark.parametrize("path", EVERY_MODULE, ids=_name)
def test_no_import_from_a_higher_room(path: Path) -> None:
    room = path.relative_to(ROOT / "bot").parts[0]
    found = [
        f"{_name(path)}:{line}: {module}"
        for line, module in _climbs(room, path.read_text(encoding="utf-8"))
        if (_name(path), module) not in KNOWN_CLIMBS
    ]
    assert not found


def test_the_ground_floor_has_modules() -> None:
    assert {p.name for p in GROUND_FLOOR} >= {"operator_rules.py", "process_settings.py"}


@pytest.mark.parametrize("path", GROUND_FLOOR, ids=_name)
def test_the_ground_floor_imports_no_room(path: Path) -> None:
    found = [
        f"{_name(path)}:{line}: {module}"
        for line, module in _climbs(None, path.read_text(encoding="utf-8"))
    ]
    assert not found


@pytest.mark.parametrize(("name", "module"), sorted(KNOWN_CLIMBS))
def test_known_climbs_are_still_there(name: str, module: str) -> None:
    """A climb that is gone leaves the list, so it cannot come back unnoticed."""
    room = Path(name).parts[1]
    assert module in {m for _, m in _climbs(room, (ROOT / name).read_text(encoding="utf-8"))}


@pytest.mark.parametrize(
    ("room", "source", "climbs"),
    [
        ("iam", "from bot.ops.wording import counted", True),
        ("iam", "from bot.access import rules", True),
        ("iam", "from bot import ops", True),
        ("iam", "import bot.slack.replies", True),
        ("iam", "from bot.iam import errors", False),
        ("iam", "from bot.wording import counted", False),
        ("ops", "from bot.slack.messages import common", True),
        ("ops", "from bot.access.approvals import Approvals", False),
        ("access", "from bot.ops import registry", True),
        ("slack", "from bot.ops import registry", False),
        (None, "from bot.iam import names", True),
        (None, "from bot.access.dynamo import DEFAULT_RETENTION_DAYS", True),
        (None, "import bot.slack.app", True),
        (None, "from bot.logs import LOG_FORMATS", False),
        (None, "from bot.config_error import ConfigError", False),
    ],
)
def test_what_counts_as_a_climb(room: str | None, source: str, climbs: bool) -> None:
    assert bool(_climbs(room, source)) is climbs


@pytest.mark.parametrize(
    ("text", "markup"),
    [
        ("<@{}>", True),
        ("<#{}>", True),
        ("<!here>", True),
        ("<{}|{}>", True),
        ("<https://example.com|console>", True),
        ("<root_account>", False),
        ("keys <user | @person | me>", False),
        ("offboard <user> <reason>", False),
        ("Your IAM user *{}* is ready", True),
        ("Step *{} `{}`* failed: {}", True),
        ("*x*", True),
        (":warning: {}. Held.", True),
        ("{} :key: {}", True),
        (":white_check_mark: Done.", True),
        ("arn:aws:secretsmanager:*:*:secret:{}-??????", False),
        (":secret:", False),
        ("arn:aws:iam::*:user/*", False),
        ("arn:aws:iam::aws:policy/{}", False),
        ("follow-up:deactivate", False),
        ("rotation:extend", False),
        ("{}:{}: {}", False),
        ("2 * 3 * 4", False),
        ("%H:%M:%S", False),
    ],
)
def test_what_counts_as_markup(text: str, markup: bool) -> None:
    assert bool(MARKUP.search(text)) is markup


@pytest.mark.parametrize(
    ("source", "block_kit"),
    [
        ('{"action_id": kind}', True),
        ('{"style": "danger"}', True),
        ("offer(label, kind, ref, style=None)", True),
        ("def f(style: str) -> None: ...", True),
        ("Offer.action_id", True),
        ('section("x", block_id=b)', True),
        ('{"type": "mrkdwn"}', True),
        ('{"type": "plain_text"}', True),
        ('offer("Delete key", FollowUp.DELETE_KEY, ref, Tone.DANGER)', False),
        ('"a style of its own"', False),
    ],
)
def test_what_counts_as_block_kit(source: str, block_kit: bool) -> None:
    tree = ast.parse(source)
    found = [t for _, t in [*_strings(tree), *_names(tree)] if BLOCK_KIT.search(t)]
    assert bool(found) is block_kit


@pytest.mark.parametrize(
    ("source", "slack"),
    [
        ("import slack_sdk", True),
        ("from slack_bolt import App", True),
        ("from bot import slack", True),
        ("from bot.slack.messages import common", True),
        ("import slack_sdk_extras", False),
        ("from bot.iam import audit", False),
    ],
)
def test_what_counts_as_a_slack_import(source: str, slack: bool) -> None:
    assert any(_is_slack(module) for _, module in _imports(ast.parse(source))) is slack
