"""The rooms stay apart: nothing in bot/iam, bot/access or bot/ops speaks Slack, and no room
imports one above it.

Those rooms say what happened with IDs and plain words; only bot/slack turns a user ID into a
mention, a channel ID into a link or a URL into a link. A module there that writes Slack markup
or imports Slack's SDK (or the Slack room) fails here, with the line. The rooms stand one on
another, bot/iam lowest and bot/slack highest, on the ground floor (the modules directly in
bot/, but for the composition roots that put the rooms together): a module that imports from a
room above its own fails here too, with the line, and a ground-floor module imports no room.
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

# A mention (<@U..>), a channel link (<#C..>), a special mention (<!here>), a link (<url|text>).
MARKUP = re.compile(r"<[@#!]|<[^<>|\s]+\|[^<>]*>")
SLACK_PACKAGES = ("slack_sdk", "slack_bolt", "bot.slack")

# Lowest first: each room may import from its own room and the ones before it, never after.
ORDER = ("iam", "access", "ops", "slack")
EVERY_MODULE = sorted(p for room in ORDER for p in (ROOT / "bot" / room).rglob("*.py"))
# Where the rooms are put together: these may import any of them.
COMPOSITION_ROOTS = ("__main__.py", "cli.py", "lambda_handler.py")
GROUND_FLOOR = sorted(p for p in (ROOT / "bot").glob("*.py") if p.name not in COMPOSITION_ROOTS)
# Climbs older than this check, to be removed by issue 19 section 3 ("a house without climbs"),
# which moves what they need below them. Nothing may be added here.
KNOWN_CLIMBS = {
    ("bot/iam/audit.py", "bot.ops.operation.Operation"),
    ("bot/access/approvals.py", "bot.ops.operation.Operation"),
}


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
    ],
)
def test_what_counts_as_markup(text: str, markup: bool) -> None:
    assert bool(MARKUP.search(text)) is markup


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
