"""Shared pieces of every reply, and the guard that keeps a reply inside Block Kit's limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000


@dataclass(frozen=True)
class Reply:
    """A message to show: fallback text (notifications, screen readers) plus blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, object]:
        return {"text": self.text, "blocks": [b.to_dict() for b in fit(self.blocks)]}


def section(text: str) -> SectionBlock:
    if len(text) > MAX_SECTION_TEXT:
        text = text[: MAX_SECTION_TEXT - 1] + "…"
    return SectionBlock(text=MarkdownTextObject(text=text))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text[:MAX_SECTION_TEXT])])


def fit(blocks: list[Block]) -> list[Block]:
    """Cut a reply to Block Kit's 50 blocks, saying how many were left out."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    return [*kept, context(f"…and {len(blocks) - len(kept)} more not shown.")]


def plain(text: str) -> Reply:
    return Reply(text=text, blocks=[section(text)])


def day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")


def days(n: int) -> str:
    return "1 day" if n == 1 else f"{n} days"
