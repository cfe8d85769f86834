"""What every benchmark builds the same way: the bot's workflows with nobody told, and a timed
run against the sandbox (its latency on only while timing, its calls counted)."""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable, Sized
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from bot.access.accounts import AccountBook
from bot.access.approvals import Approvals, Request, utc_now
from bot.access.identity import IdentityMap
from bot.access.rules import Rules
from bot.access.schedule import Scheduler
from bot.access.store import SqliteStore
from bot.iam.audit import CredentialReports
from bot.iam.aws import Aws
from bot.operator_rules import parse_config
from bot.ops.context import Ops, Services, Team
from bot.ops.outcome import Note
from bot.ops.registry import GATES
from bot.ops.terms import OPERATIONS
from sandbox.aws import FaithfulAws
from sandbox.process import SandboxProcess

R = TypeVar("R", bound=Sized)


class Silent:
    """A notifier that tells nobody: the benchmark measures the work, not Slack."""

    def opened(self, request: Request) -> None: ...

    def show(self, request: Request) -> None: ...

    def announce(self, request: Request, event: str | Note) -> None: ...

    def dm(self, user_id: str, text: str) -> None: ...

    def person(self, user_id: str) -> str:
        return user_id

    def link(self, url: str, text: str) -> str:
        return text

    def explain(self, refusal: Exception) -> str:
        return str(refusal)

    def remind(self, request: Request) -> None: ...

    def reading(self, arns: list[str], user: str, ask: str) -> str:
        return ""

    def when(self, moment: datetime) -> str:
        return f"{moment:%Y-%m-%d %H:%M} UTC"


def bot_ops(aws: Aws, store: SqliteStore, config_text: str) -> Ops:
    """The bot's workflows as ``build_app`` wires them, without Slack."""
    config = parse_config(config_text, OPERATIONS)
    rules = Rules(config, lambda group: frozenset())
    services = Services(
        config=config,
        aws=aws,
        rules=rules,
        identity=IdentityMap(aws, config.identity, lambda user: None),
        store=store,
        approvals=Approvals(store, rules, config, utc_now, gates=GATES),
        accounts=AccountBook(config.accounts, aws, store, utc_now),
        team=Team(lambda: "T0BENCH"),  # no chat here: a workspace for source identities
    )
    return Ops(services, Scheduler(store, utc_now), Silent(), CredentialReports(aws))


def timed(
    sandbox: SandboxProcess, delay_s: float, label: str, what: str, run: Callable[[], R]
) -> tuple[float, int, R]:
    """``run`` with ``delay_s`` per AWS call: seconds, AWS calls, and its result (printed as
    a count of ``what``). What earlier runs left (a gateway discarded, its clients and
    connection pools) is collected first, not inside the run timed: a collection then cost
    whichever path came second as much CPU as its own work (timeit pauses the collector for
    the same reason)."""
    gc.collect()
    before = sandbox.call_count()
    sandbox.set_delay(delay_s)
    start = time.perf_counter()
    result = run()
    elapsed = time.perf_counter() - start
    sandbox.set_delay(0)
    calls = sandbox.call_count() - before
    print(f"{label:40s} {elapsed:7.2f} s  {calls:5d} AWS calls  {len(result)} {what}")
    return elapsed, calls, result


def seed_users(sandbox: FaithfulAws, count: int, seed: int, account_id: str | None = None) -> None:
    """In the sandbox's process: ``count`` users with 1 or 2 keys each, aged 1-400 days, last
    used recently, long ago or never; straight at moto (through the proxy it takes minutes)."""
    iam = sandbox.client("iam", account_id)
    rng, now = random.Random(seed), datetime.now(UTC)
    for i in range(count):
        user = f"user{i:04d}"
        iam.create_user(UserName=user)
        for _ in range(1 if rng.random() < 0.6 else 2):
            key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
            age = rng.randint(1, 400)
            used = rng.choice([None, rng.randint(0, age)])
            last = (now - timedelta(days=used), "s3", "us-east-1") if used is not None else None
            sandbox.backdate_access_key(key, now - timedelta(days=age), last, account_id)
