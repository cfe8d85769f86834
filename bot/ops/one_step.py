"""An approved request whose plan is one step on its IAM user (a key deactivated or deleted,
say), run journaled as every plan is."""

from __future__ import annotations

from bot.access.approvals import Request
from bot.access.journal import run_journaled
from bot.iam.steps import Step, run_step
from bot.ops.context import Ops, RunReport


def run_one_step(ops: Ops, request: Request, step: Step, done: str) -> RunReport:
    """Run ``step`` on the request's IAM user: ``done`` when it ran, a note when its target
    had already gone, what AWS said when it failed."""
    aws = ops.services.aws
    result = run_journaled(
        ops.services.store, request.id, [step], lambda s: run_step(aws, request.target, s), aws.map
    )
    if failed := result.failed:
        return RunReport(False, failed.aws_said, {"failed_step": step.id})
    gone = result.results and result.results[0].status == "gone"
    return RunReport(True, f"`{step.target}` was already gone." if gone else done, {})
