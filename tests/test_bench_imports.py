"""The benchmarks measure the bot's work, not its chat: no script in bench/ imports the Slack
room (``bot.slack``), so a workflow a benchmark needs lives in bot/ops or below, where it
returns plain data, and the chat room only renders it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.fixtures.project import ROOT

BENCHES = sorted((ROOT / "bench").glob("*.py"))
# The one bench that measures something the Slack room serves itself: the /metrics scrape,
# which the operators' endpoint beside Slack's answers (bot/slack/metrics.py).
KNOWN = {("bench/history_reads.py", "bot.slack.metrics")}


def _slack_imports(path: Path) -> set[str]:
    """Every module under bot.slack that ``path`` imports from."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        found |= {n for n in names if n == "bot.slack" or n.startswith("bot.slack.")}
    return found


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", BENCHES, ids=_name)
def test_no_bench_imports_the_slack_room(path: Path) -> None:
    known = {module for name, module in KNOWN if name == _name(path)}
    assert {m for m in _slack_imports(path) if not m.startswith(tuple(known))} == set()


@pytest.mark.parametrize(("name", "module"), sorted(KNOWN))
def test_known_slack_imports_are_still_there(name: str, module: str) -> None:
    assert module in _slack_imports(ROOT / name)
