"""What every operation's plan has: the steps its request's message lists.

Each operation's plan (:class:`~bot.ops.offboard.OffboardPlan`, :class:`~bot.ops.rotate.RotatePlan`
...) is a subclass adding its own fields. A request stores ``plan.to_dict()`` and every reader
goes through ``XPlan.from_dict``, so the stored keys are those of the records written before
the plans were typed. The steps stay plain dicts (``action``, ``target``, optional ``note``):
some are :class:`~bot.iam.inventory.Step` s the journal runs, others only say what will happen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from bot.access.approvals import Request

StepDict = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The steps as the approvers see them; after a re-plan, ``unseen`` are those they have
    not approved yet (the message shows them while the request waits again)."""

    steps: tuple[StepDict, ...] = ()
    unseen: tuple[StepDict, ...] = ()

    @classmethod
    def of(cls, request: Request) -> Self:
        return cls.from_dict(request.plan)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        return cls(**cls.listed(d))

    @staticmethod
    def listed(d: dict[str, Any]) -> dict[str, tuple[StepDict, ...]]:
        """The common fields of a stored plan, for a subclass's ``from_dict``."""
        return {"steps": tuple(d.get("steps", ())), "unseen": tuple(d.get("unseen", ()))}

    def remarks(self) -> tuple[str, ...]:
        """What the approvers should know beyond the steps, in plain words: none here."""
        return ()

    def to_dict(self) -> dict[str, Any]:
        listed: dict[str, Any] = {"steps": list(self.steps)}
        if self.unseen:
            listed["unseen"] = list(self.unseen)
        return listed
