"""Changing the account alias (it is in every console sign-in URL): confirmed, journaled."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from bot.access.approvals import Gate, Request, Target
from bot.access.journal import run_journaled
from bot.iam import account
from bot.iam.steps import Step
from bot.ops.context import Ops, RunReport, UserError
from bot.ops.declared import Declared
from bot.ops.operation import Operation
from bot.ops.plan import Plan


class AliasChange(enum.StrEnum):
    SET = "set account alias"
    DELETE = "delete account alias"


@dataclass(frozen=True, kw_only=True)
class AliasPlan(Plan):
    verb: str  # "set" or "delete"; the alias itself is the request's target

    @property
    def change(self) -> AliasChange:
        return AliasChange.SET if self.verb == "set" else AliasChange.DELETE

    def to_dict(self) -> dict[str, Any]:
        return {"verb": self.verb, **super().to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AliasPlan:
        return cls(verb=d["verb"], **cls.listed(d))


def open_request(ops: Ops, alias: str | None, *, requester: str, channel: str) -> Request:
    """Setting the alias to ``alias`` (None: deleting the current one), as a request its
    requester confirms."""
    current = account.list_account_aliases(ops.services.aws)
    if alias is None and not current:
        raise UserError("The account has no alias to delete.")
    verb = "delete" if alias is None else "set"
    target = current[0] if alias is None else alias
    note = f"replaces `{current[0]}`" if alias and current else "changes the console sign-in URL"
    step = {"action": f"{verb} account alias", "target": target, "note": note}
    plan = AliasPlan(verb=verb, steps=(step,))
    why = f"{verb} the account alias"
    return ops.ask(Operation.ACCOUNT_ALIAS, target, plan, why, requester=requester, channel=channel)


def execute(ops: Ops, request: Request) -> RunReport:
    aws = ops.services.aws
    verb = AliasPlan.of(request).change
    step = Step(verb, request.target, 1)

    def change(_: Any) -> str:
        if verb is AliasChange.SET:
            account.create_account_alias(aws, step.target)
        else:
            account.delete_account_alias(aws, step.target)
        return "done"

    result = run_journaled(ops.services.store, request.id, [step], change, aws.map)
    if failed := result.failed:
        return RunReport(False, failed.aws_said, {})
    done = (
        f"The account alias is now `{step.target}`."
        if verb is AliasChange.SET
        else "The alias is deleted."
    )
    return RunReport(True, done, {})


def title(request: Request) -> str:
    if AliasPlan.of(request).change is AliasChange.SET:
        return f"Set the account alias to {request.target}"
    return f"Delete the account alias {request.target}"


DECLARED = Declared(
    Operation.ACCOUNT_ALIAS,
    Gate(("admin",), confirms=True, floor=0, target=Target.NONE),
    AliasPlan,
    title,
    execute,
    "account",
)
