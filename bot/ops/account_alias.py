"""Changing the account alias (it is in every console sign-in URL): confirmed, journaled."""

from __future__ import annotations

import enum
from typing import Any

from bot.access.approvals import Request
from bot.access.journal import run_journaled
from bot.iam import account
from bot.iam.inventory import Step
from bot.ops.context import Ops, RunReport


class AliasChange(enum.StrEnum):
    SET = "set account alias"
    DELETE = "delete account alias"


def execute(ops: Ops, request: Request) -> RunReport:
    aws = ops.services.aws
    verb = AliasChange.SET if request.plan["verb"] == "set" else AliasChange.DELETE
    step = Step(verb, request.target, 1)

    def change(_: Any) -> str:
        if verb is AliasChange.SET:
            account.create_account_alias(aws, step.target)
        else:
            account.delete_account_alias(aws, step.target)
        return "done"

    result = run_journaled(ops.services.store, request.id, [step], change, aws.map)
    if failed := result.failed:
        return RunReport(False, f"AWS said {failed.message or failed.code}.", {})
    done = (
        f"The account alias is now `{step.target}`."
        if verb is AliasChange.SET
        else "The alias is deleted."
    )
    return RunReport(True, done, {})
