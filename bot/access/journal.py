"""Running a multi-step plan so that nothing is lost or done twice.

Each step is journaled before and after it runs. A retry, or a restart after a crash, reads the
journal and runs only what has not finished; a step whose target has already gone counts as
done. Steps of one wave run concurrently; a wave starts only when the one before has succeeded.

The journal entries of one run are written one at a time, in this process, under a lock: the
stores serialise them anyway, but badly for a burst of concurrent steps. SQLite's writer lock
makes every other writer sleep in growing steps (its busy handler: 1, 2, 5, 10 ... ms, up to
80 ms a write seen in a wave of 32), and DynamoDB's next sequence number goes to one writer
while every other one reads and tries again. A lock hands over at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.access.leases import LeaseLost, require_held
from bot.access.store import Store
from bot.iam.errors import IamError

log = logging.getLogger(__name__)

FINISHED = ("done", "gone")


class PlannedStep(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def wave(self) -> int: ...


@dataclass(frozen=True)
class StepResult:
    step: Any
    status: str  # done | gone | failed
    code: str = ""
    message: str = ""

    @property
    def aws_said(self) -> str:
        """AWS's own words about a failure as one sentence (its messages often end with a
        period already, so one is added only when missing); a failure with no code is the
        bot's own refusal, in its own words."""
        said = (self.message or self.code).rstrip()
        said += "" if said.endswith((".", "!", "?")) else "."
        return f"AWS said {said}" if self.code else said


@dataclass(frozen=True)
class RunResult:
    results: list[StepResult]
    skipped: int  # finished in an earlier run, per the journal
    seconds: float

    @property
    def failed(self) -> StepResult | None:
        return next((r for r in self.results if r.status == "failed"), None)

    @property
    def ok(self) -> bool:
        return self.failed is None

    @property
    def problem(self) -> str | None:
        """What went wrong, for a person ("Could not <step's action> `<target>`: AWS said
        ..."); None when the run succeeded."""
        if (failed := self.failed) is None:
            return None
        return f"Could not {failed.step.action} `{failed.step.target}`: {failed.aws_said}"


def finished_steps(store: Store, record_id: str) -> set[str]:
    return {e.step for e in store.journal(record_id) if e.event in FINISHED}


def run_journaled(
    store: Store,
    record_id: str,
    steps: Sequence[PlannedStep],
    do: Callable[[Any], str],
    fan_out: Callable[[Callable[[Any], StepResult], list[Any]], list[StepResult]],
    on_wave_done: Callable[[list[StepResult]], None] = lambda _: None,
) -> RunResult:
    started = time.monotonic()
    finished = finished_steps(store, record_id)
    results: list[StepResult] = []
    writing = threading.Lock()

    def journal(step: Any, event: str, **detail: Any) -> None:
        with writing:
            store.append_journal(record_id, step.id, event, **detail)

    def one(step: Any) -> StepResult:
        require_held()  # a run taken over by another replica takes no further step here
        journal(step, "start")
        try:
            status = do(step)
        except LeaseLost:
            raise  # stopped mid-step, unsent: the new holder resumes it from "start"
        except IamError as exc:
            journal(step, "failed", code=exc.code, message=exc.message)
            return StepResult(step, "failed", exc.code, exc.message)
        except Exception as exc:  # a bug must still leave a journal entry and a resumable run
            log.exception("step %s failed unexpectedly", step.id)
            journal(step, "failed", code=type(exc).__name__)
            return StepResult(
                step, "failed", type(exc).__name__, "unexpected error (see the bot's log)"
            )
        journal(step, status)
        return StepResult(step, status)

    for wave in sorted({s.wave for s in steps}):
        todo = [s for s in steps if s.wave == wave and s.id not in finished]
        if not todo:
            continue
        wave_results = fan_out(one, todo)
        results += wave_results
        on_wave_done(results)
        if any(r.status == "failed" for r in wave_results):
            break
    skipped = sum(1 for s in steps if s.id in finished)
    return RunResult(results, skipped, time.monotonic() - started)
