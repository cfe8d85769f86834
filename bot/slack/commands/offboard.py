"""`/iam offboard <user> <reason> [--disable]`: remove (or first disable) a user, approval-gated.

Nothing changes before approval. At execution the user is inventoried again: if anything
appeared that the approvers did not see, the request goes back to them with the difference.
A snapshot of what the user had is stored before the first change.
"""

from __future__ import annotations

from typing import Any

from bot.access.journal import finished_steps, run_journaled
from bot.access.store import Record
from bot.iam import errors
from bot.iam.inventory import (
    Inventory,
    Step,
    disable_steps,
    removal_steps,
    run_step,
    snapshot,
    take_inventory,
)
from bot.iam.names import user_name
from bot.slack.context import Request as SlackRequest
from bot.slack.context import Services
from bot.slack.messages.approval import plan_lines
from bot.slack.replies import UserError
from bot.slack.requests import RequestFlow, RunReport

USAGE = "offboard <user> <reason> [--disable]"
COMMAND = "offboard"


def _parse(args: tuple[str, ...]) -> tuple[str, str, bool]:
    disable = "--disable" in args
    words = [a for a in args if a != "--disable"]
    if len(words) < 2:
        raise UserError(f"Usage: `/iam {USAGE}` (a reason is required)")
    return user_name(words[0]), " ".join(words[1:]), disable


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def _steps(inv: Inventory, mode: str) -> list[Step]:
    return disable_steps(inv) if mode == "disable" else removal_steps(inv)


def _inventory(services: Services, user: str) -> Inventory:
    try:
        return take_inventory(services.aws, user)
    except errors.NotFound:
        raise UserError(f"No IAM user named `{user}`.") from None


def run(services: Services, request: SlackRequest) -> None:
    user, reason, disable = _parse(request.args)
    inv = _inventory(services, user)
    services.rules.require_unprotected(inv.user)
    mode = "disable" if disable else "delete"
    plan = {"mode": mode, "steps": [s.to_dict() for s in _steps(inv, mode)]}
    opened = services.approvals.open(
        command=COMMAND,
        target=user,
        requester=request.user_id,
        reason=reason,
        plan=plan,
        channel=request.channel_id,
    )
    request.flow.post(opened)


SNAPSHOT = "snapshot"


def snapshot_id(request_id: str) -> str:
    return f"{request_id}/snapshot"


def execute(flow: RequestFlow, request: Any) -> RunReport | None:
    services = flow.services
    store = services.store
    mode = request.plan.get("mode", "delete")
    planned = [Step.from_dict(d) for d in request.plan["steps"]]
    try:
        inv: Inventory | None = take_inventory(services.aws, request.target, last_use=False)
    except errors.NotFound:
        inv = None  # already gone: every remaining step will find its target gone
    if inv is not None:
        known = {s.id for s in planned} | finished_steps(store, request.id)
        unseen = [s for s in _steps(inv, mode) if s.id not in known]
        if unseen:
            fresh = {**request.plan, "steps": [s.to_dict() for s in _steps(inv, mode)]}
            why = "appeared after approval: " + ", ".join(s.id for s in unseen)
            reopened = services.approvals.reopen(request.id, fresh, why)
            note = ":warning: *Changed since approval, so nothing was done.* New:\n" + plan_lines(
                [s.to_dict() for s in unseen]
            )
            flow.refresh(reopened.request, note)
            flow.audit(reopened.request, "re-opened for approval: " + why)
            return None
        store.put_if_version(Record(snapshot_id(request.id), SNAPSHOT, "saved", snapshot(inv)))

    total = len(planned)

    def progressed(results: list[Any]) -> None:
        flow.progress(request, f"{len(results)}/{total} steps done.")

    note = f"disabled by iam-bot request {request.id}"
    result = run_journaled(
        store,
        request.id,
        planned,
        do=lambda step: run_step(services.aws, request.target, step, disabled_note=note),
        fan_out=services.aws.map,
        on_wave_done=progressed,
    )
    gone = sum(1 for r in result.results if r.status == "gone")
    detail = {
        "steps_run": len(result.results),
        "already_gone": gone,
        "seconds": round(result.seconds, 2),
    }
    if failed := result.failed:
        return RunReport(
            False,
            f"Step *{failed.step.action.value} `{failed.step.target}`* failed: AWS said "
            f"{failed.message or failed.code}.",
            {**detail, "failed_step": failed.step.id},
        )
    verb = "disabled" if mode == "disable" else "removed"
    done = len(result.results) - gone
    return RunReport(
        True,
        f"{request.target} {verb}: {done} steps done, {gone} already gone, "
        f"{result.skipped} finished earlier, in {result.seconds:.1f} s. "
        f"`/iam history {request.target}` shows what was there.",
        detail,
    )
