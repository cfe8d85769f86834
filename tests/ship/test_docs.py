"""What the README and docs/ tell an operator to write is what the bot accepts: every YAML block
in them, and every inline config such as `accounts: {list: [...]}`, loads with the bot's own
config loader, as `iam-bot serve` would load it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.operator_rules import load_config
from bot.ops.terms import OPERATIONS
from tests.fixtures.project import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.S | re.M)
# An inline example of a config section in backticks: `accounts: {role_name: iam-bot-action}`.
_INLINE = re.compile(r"`([a-z_]+: \{[^`]*\})`")


def _blocks() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        examples = _YAML_BLOCK.findall(text) + _INLINE.findall(text)
        found += [(f"{page.name}#{n}", example) for n, example in enumerate(examples)]
    return found


def test_the_docs_show_the_configs_an_operator_copies() -> None:
    """The quick start's minimal config, the full example, the accounts example and the
    inline ones of the deployment steps at least."""
    assert len(_blocks()) >= 5


@pytest.mark.parametrize(("where", "block"), _blocks(), ids=[w for w, _ in _blocks()])
def test_every_config_in_the_docs_is_accepted_by_the_loader(
    where: str, block: str, tmp_path: Path
) -> None:
    path = tmp_path / "iam-bot.yml"
    path.write_text(block, encoding="utf-8")
    load_config(str(path), OPERATIONS)  # raises ConfigError naming the setting the docs got wrong
