"""What a slash command's handler gets, after the ack: who asked, where, the words, and the
workflows' world to act in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.ops.context import Ops


@dataclass(frozen=True)
class Request:
    """One slash command, as a handler sees it after the ack."""

    user_id: str
    channel_id: str
    args: tuple[str, ...]
    respond: Callable[..., Any]
    client: Any
    ops: Ops
