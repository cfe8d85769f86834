"""Workflow Builder steps the bot runs, and how each one ends in Slack.

A step (a ``function_executed`` event) opens a request and is then left waiting, as long as
the request waits for its approvers. Its function execution ID is kept beside the request;
when the request ends, the step is completed with the outcome as its outputs
(``functions.completeSuccess``), or, when nothing could be opened, failed with the reason
(``functions.completeError``). Either is an outbox step of its own, retried apart and sent
once: Slack failing never holds up the request or its AWS work.

Slack retries an event it thinks was not taken, and a workflow can deliver one step twice:
a step is claimed by its execution ID (create-if-absent) before anything is opened, so one
execution opens at most one request.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.access.approvals import Request, State
from bot.access.store import Record, Store
from bot.slack.outbox import Outbox

KIND = "workflow-step"
_OPENING, _WAITING = "opening", "waiting"
# What a request's end is called in the step's ``outcome`` output.
OUTCOMES = {
    State.DONE: "done",
    State.DENIED: "denied",
    State.EXPIRED: "expired",
    State.FAILED: "failed",
    State.CANCELLED: "cancelled",
}


class WorkflowSteps:
    def __init__(self, store: Store, outbox: Outbox, client: WebClient) -> None:
        self._store = store
        self._outbox = outbox
        self._client = client
        outbox.handlers[KIND] = self._complete

    def claim(self, execution: str) -> bool:
        """Take the step ``execution`` once: False when it was taken before (Slack's retry,
        a second delivery), by this replica or another."""
        claim = Record(f"{KIND}/{execution}", KIND, _OPENING, {})
        return self._store.put_if_version(claim) is not None

    def waiting_on(self, execution: str, request: Request) -> None:
        """The step ends when ``request`` does."""
        link = Record(_link_id(request.id), KIND, _WAITING, {"execution": execution})
        self._store.put_if_version(link)

    def failed(self, execution: str, reason: str) -> None:
        """Nothing was opened: the step fails with ``reason``, shown to whoever runs it."""
        payload = {"execution": execution, "error": reason}
        self._outbox.add(KIND, _lane(execution), payload, id=f"{KIND}/{execution}/failed")

    def shown(self, request: Request) -> None:
        """Every change of a request passes here: an ended one completes its step, if a step
        opened it, once."""
        outcome = OUTCOMES.get(request.state)
        if outcome is None or (link := self._store.get(_link_id(request.id))) is None:
            return
        execution = link.data["execution"]
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


def _lane(execution: str) -> str:
    return f"{KIND}:{execution}"
