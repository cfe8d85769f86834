"""Shared pieces of every reply, and the guard that keeps a reply inside Block Kit's limits."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.wording import counted

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
_LONE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")
_REPEAT = "#"  # what joins an action_id to the number that makes a repeat unique in its block


@dataclass(frozen=True)
class Reply:
    """A message to show: fallback text (notifications, screen readers) plus blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, object]:
        return {
            "text": self.text,
            "blocks": [_unique_actions(b.to_dict()) for b in fit(self.blocks)],
        }


def escape(text: str) -> str:
    """User text made inert in mrkdwn, by Slack's rules: only ``&``, ``<`` and ``>`` are
    escaped, so a typed ``<!channel>``, ``<@U..>`` or ``<https://evil|click>`` shows as typed
    instead of pinging a channel or hiding a link. Slash command text arrives escaped already
    (the manifest's ``should_escape``), so its ``&lt;`` stays as it is rather than becoming
    ``&amp;lt;``: either way no ``<`` or ``>`` is left."""
    return _LONE_AMPERSAND.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")


def quoted(text: str) -> str:
    """User text as a block quote: escaped, and every line marked, so a newline in it cannot
    start a line that reads as the bot's own (a forged ":white_check_mark: Done.")."""
    return "\n".join(f">{line}" for line in escape(text).splitlines() or [""])


def action_pattern(action_id: str) -> re.Pattern[str]:
    """What a listener registers for buttons that may repeat in one block (see ``Reply``)."""
    return re.compile(rf"\A{re.escape(action_id)}(?:{_REPEAT}[0-9]+)?\Z")


def _unique_actions(block: dict[str, Any]) -> dict[str, Any]:
    """Slack refuses a whole message (``invalid_blocks``) when one block repeats an action_id,
    as a row of "Delete" buttons, one per key, does; repeats get a number (``id#2``), which
    :func:`action_pattern` matches, and the button's value still says what it acts on."""
    if block.get("type") != "actions":
        return block
    seen: Counter[str] = Counter()
    for element in block.get("elements", []):
        action_id = element.get("action_id")
        if action_id:
            seen[action_id] += 1
            if seen[action_id] > 1:
                element["action_id"] = f"{action_id}{_REPEAT}{seen[action_id]}"
    return block


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


def mention(user_id: str) -> str:
    """A Slack user named in a message: shown by their current display name."""
    return f"<@{user_id}>"


def slack_date(moment: datetime) -> str:
    """A moment each reader sees in their own time zone ("today at 3:00 PM", "Dec 1st at
    9:00 AM"); the fallback, for clients that cannot, is UTC with the date."""
    fallback = f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def labelled_link(url: str, label: str) -> str:
    """A link shown as ``label`` (escaped). ``url`` is the bot's own or Slack's (a permalink,
    a console page), never typed by anyone, so it goes as it is."""
    return f"<{url}|{escape(label)}>"


def channel_link(channel_id: str) -> str:
    return f"<#{channel_id}>"


def plain(text: str) -> Reply:
    return Reply(text=text, blocks=[section(text)])


def day(when: datetime) -> str:
    return when.strftime("%Y-%m-%d")


def days(n: int) -> str:
    return counted(n, "day")
