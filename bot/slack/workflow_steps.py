"""Workflow Builder steps the bot runs, and how each one ends in Slack.

A step (a ``function_executed`` event) opens a request and is then left waiting, as long as
the request waits for its approvers. Its function execution ID is kept beside the request;
when the request ends, the step is completed with the outcome as its outputs
(``functions.completeSuccess``), or, when nothing could be opened, failed with the reason
(``functions.completeError``). Either is an outbox step of its own, retried apart and sent
once: Slack failing never holds up the request or its AWS work.

Slack retries an event it thinks was not taken, and a workflow can deliver one step twice:
a step is claimed by its execution ID (create-if-absent) before anything is opened, so one
execution opens at most one request. The claim chooses the request's ID and links it to the
step before the request is opened: a bot stopped at any point never leaves a request whose end
its step does not hear of. A claim still opening long after it was made (the bot stopped
before the request was opened, or while it was) is settled by the scheduler's tick
(:meth:`WorkflowSteps.settle_stuck`): linked when its request exists, else its step failed,
saying so. A bot that was only slow and opens the request after that withdraws it at once: the
step was told nothing was opened, and it stays so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient

from bot.access.approvals import Request, State, new_request_id
from bot.access.store import Record, Store
from bot.slack.outbox import Outbox

log = logging.getLogger(__name__)

KIND = "workflow-step"
_OPENING, _WAITING, _FAILED = "opening", "waiting", "failed"
# How long a step may take to open its request before the tick settles it: an offboarding's
# plan reads every account first, which takes seconds.
OPENING_GIVEN_UP = timedelta(minutes=15)
STOPPED = (
    f"The request was not opened within {OPENING_GIVEN_UP.seconds // 60} minutes (the bot "
    "stopped, or was that slow). Run the workflow again."
)
# Why a request opened after its step was given up is withdrawn at once.
OPENED_TOO_LATE = "its workflow step had already been given up"
# What a request's end is called in the step's ``outcome`` output.
OUTCOMES = {
    State.DONE: "done",
    State.DENIED: "denied",
    State.EXPIRED: "expired",
    State.FAILED: "failed",
    State.CANCELLED: "cancelled",
}


class WorkflowSteps:
    def __init__(
        self, store: Store, outbox: Outbox, client: WebClient, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._client = client
        self._clock = clock
        outbox.handlers[KIND] = self._complete

    def claim(self, execution: str) -> str | None:
        """Take the step ``execution`` once, and link it to the request it is to open: that
        request's ID. None when it was taken before (Slack's retry, a second delivery), by
        this replica or another."""
        request_id = new_request_id()
        data = {"request_id": request_id, "at": self._clock().isoformat()}
        if self._store.put_if_version(Record(_claim_id(execution), KIND, _OPENING, data)) is None:
            return None
        self._store.put_if_version(_link(request_id, execution))
        return request_id

    def waiting_on(self, execution: str) -> bool:
        """Its request is open: the step ends when the request does. False when the tick gave
        the step up meanwhile: the request opened too late for it, and is its caller's to
        withdraw."""
        return self._move(execution, _OPENING, _WAITING)

    def failed(self, execution: str, reason: str) -> None:
        """Nothing was opened: the step fails with ``reason``, shown to whoever runs it; not
        when it was settled meanwhile (its request opened, and the step ends with it; or it
        was failed already)."""
        if not self._move(execution, _OPENING, _FAILED):
            log.info("workflow step %s was settled meanwhile; not failed again", execution)
            return
        payload = {"execution": execution, "error": reason}
        self._outbox.add(KIND, _lane(execution), payload, id=f"{KIND}/{execution}/failed")

    def settle_stuck(self, find: Callable[[str], Request | None]) -> None:
        """The scheduler's tick: each step still opening :data:`OPENING_GIVEN_UP` after its
        claim is linked to its request when ``find`` finds it (told at once if it ended
        already), else failed (:data:`STOPPED`)."""
        cutoff = self._clock() - OPENING_GIVEN_UP
        for claim in self._store.list_by_state(KIND, [_OPENING]):
            execution = claim.id.removeprefix(f"{KIND}/")
            try:
                at, request_id = datetime.fromisoformat(claim.data["at"]), claim.data["request_id"]
            except (KeyError, TypeError, ValueError):
                # claimed by a version that linked its step itself once it had opened, or
                # damaged: nothing this can settle, said once
                log.warning("workflow step %s: its claim names no request; left", execution)
                self._move(execution, _OPENING, _WAITING)
                continue
            if at > cutoff:
                continue
            request = find(request_id)
            if request is None:
                self.failed(execution, STOPPED)
            else:
                self.waiting_on(execution)
                self.shown(request)

    def _move(self, execution: str, was: str, to: str) -> bool:
        """Move the step's claim from ``was`` to ``to``, compare-and-set: of the opener and the
        tick, one wins. True when this moved it, or there is no claim (refused before it)."""
        claim = self._store.get(_claim_id(execution))
        if claim is None:
            return True
        if claim.state != was:
            return False
        moved = Record(claim.id, KIND, to, claim.data, claim.version)
        return self._store.put_if_version(moved) is not None

    def shown(self, request: Request) -> None:
        """Every change of a request passes here: an ended one completes its step, if a step
        opened it, once."""
        outcome = OUTCOMES.get(request.state)
        if outcome is None or (link := self._store.get(_link_id(request.id))) is None:
            return
        execution = link.data["execution"]
        claim = self._store.get(_claim_id(execution))
        if claim is not None and claim.state == _FAILED:
            return  # the step was told it failed (its request opened too late): it is over
        outputs = {"outcome": outcome, "request_id": request.id}
        self._outbox.add(
            KIND,
            _lane(execution),
            {"execution": execution, "outputs": outputs},
            request_id=request.id,
            id=f"{_link_id(request.id)}/completed",
        )

    def _complete(self, payload: dict[str, Any]) -> None:
        """The outbox's handler: tell Slack how the step ended (with the bot's own token: the
        workflow's lasts only while the event is handled)."""
        execution = payload["execution"]
        if "error" in payload:
            self._client.functions_completeError(
                function_execution_id=execution, error=payload["error"]
            )
        else:
            self._client.functions_completeSuccess(
                function_execution_id=execution, outputs=payload["outputs"]
            )


def _link_id(request_id: str) -> str:
    return f"{request_id}/{KIND}"


def _link(request_id: str, execution: str) -> Record:
    return Record(_link_id(request_id), KIND, _WAITING, {"execution": execution})


def _claim_id(execution: str) -> str:
    return f"{KIND}/{execution}"


def _lane(execution: str) -> str:
    return f"{KIND}:{execution}"
