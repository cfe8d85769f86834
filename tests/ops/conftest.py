"""A workflow's whole world without chat: the services on moto and a SQLite store, and a
notifier that keeps what it was asked to say, in plain words. Tests here run a workflow's
``open_request`` and ``execute`` directly and look at the structured outcome and at AWS."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from bot.access.accounts import AccountBook
from bot.access.approvals import Approvals, Request, utc_now
from bot.access.identity import IdentityMap
from bot.access.rules import Rules
from bot.access.schedule import Scheduler
from bot.access.store import SqliteStore
from bot.iam.audit import CredentialReports
from bot.iam.aws import Aws
from bot.iam.keys import caller_identity
from bot.operator_rules import parse_config
from bot.ops.context import Ops, Services, Team
from bot.ops.outcome import Note
from bot.ops.registry import GATES, schedule_all
from bot.ops.runner import Runner
from bot.ops.terms import OPERATIONS
from sandbox.aws import FaithfulAws
from tests.fixtures.slack import CONFIG, GROUPS, PEOPLE


@dataclass
class PlainNotifier:
    """The :class:`~bot.ops.context.Notifier` of these tests: people by ID, links as text."""

    shown: list[str] = field(default_factory=list)  # request IDs, in the order shown
    announced: list[str | Note] = field(default_factory=list)
    dms: list[tuple[str, str]] = field(default_factory=list)

    def opened(self, request: Request) -> None:
        self.shown.append(request.id)

    def show(self, request: Request) -> None:
        self.shown.append(request.id)

    def announce(self, request: Request, event: str | Note) -> None:
        self.announced.append(event)

    def dm(self, user_id: str, text: str) -> None:
        self.dms.append((user_id, text))

    def person(self, user_id: str) -> str:
        return f"@{user_id}"

    def link(self, url: str, text: str) -> str:
        return f"{text} ({url})"

    def explain(self, refusal: Exception) -> str:
        return str(refusal)

    def remind(self, request: Request) -> None:
        pass

    def reading(self, arns: list[str], user: str, ask: str) -> str:
        return f"ask @{ask} how to read {', '.join(arns)}"

    def when(self, moment: datetime) -> str:
        return moment.isoformat()


@dataclass
class Direct:
    """A workflow's world and what it told people; ``run`` executes an approved request as
    the runner does (``execute`` of its operation, then finished with its report)."""

    ops: Ops
    notifier: PlainNotifier
    runner: Runner
    aws: FaithfulAws  # the sandbox, for arranging what boto3 cannot (a key's age, last use)

    def approve_and_run(self, request: Request, approver: str = "U0SEC1") -> Request:
        approvals = self.ops.services.approvals
        if request.required:
            approvals.approve(request.id, approver)
            self.runner.run(request.id, approver, "approve")
        else:
            approvals.approve(request.id, request.requester)
            self.runner.run(request.id, request.requester, "run")
        found = approvals.get(request.id)
        assert found is not None
        return found


@pytest.fixture
def direct(aws, tmp_path: Path) -> Callable[..., Direct]:
    """Build the world for a config (the end-to-end tests' one by default)."""

    def build(config_text: str = CONFIG, clock: Callable[[], datetime] = utc_now) -> Direct:
        config = parse_config(config_text, OPERATIONS)
        client = Aws(attributed=config.accounts.enabled)
        store = SqliteStore(tmp_path / "state.sqlite3")
        rules = Rules(
            config,
            lambda group: frozenset(GROUPS.get(group, ())),
            self_user=lambda: caller_identity(client).user_name,
        )
        emails = {u: p["email"] for u, p in PEOPLE.items()}
        identity = IdentityMap(
            client,
            config.identity,
            emails.get,
            slack_name=lambda u: PEOPLE.get(u, {}).get("name"),
            slack_user_by_email=lambda e: next((u for u, m in emails.items() if m == e), None),
        )
        services = Services(
            config=config,
            aws=client,
            rules=rules,
            identity=identity,
            store=store,
            approvals=Approvals(store, rules, config, clock, None, identity, gates=GATES),
            accounts=AccountBook(config.accounts, client, store, clock),
            clock=clock,
            team=Team(lambda: "T0TEAM"),
        )
        notifier = PlainNotifier()
        ops = Ops(services, Scheduler(store, clock), notifier, CredentialReports(client, clock))
        schedule_all(ops)
        return Direct(ops, notifier, Runner(ops, submit=lambda f, *a: f(*a)), aws)

    return build
