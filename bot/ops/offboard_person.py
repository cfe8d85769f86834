"""Offboarding a person from every account: their IAM users, found in each account the bot
knows, removed through one request.

Each account is searched in its own scope (the identity tag, then the e-mail tag: the same
:class:`~bot.access.identity.IdentityMap` search as for one account), in parallel. The request
has one plan, its steps grouped by account (each account's part is the plan a single-account
offboard of that user shows), and one approval: as many approvers as the strictest account
asks, from those who may approve in every one of them. The request lives in the account it was
asked in; its parts act in their own accounts. Approved, every account's part runs at once in
its account's scope for the requester, journaled on its own (one journal per account), so a
failure in one account stops no other and a retry resumes only what is left in each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.access.approvals import Request
from bot.access.identity import IdentityMap, NotLinked
from bot.access.rules import Denied
from bot.iam.inventory import Step
from bot.iam.sessions import Account, Actor
from bot.ops import offboard
from bot.ops.context import Ops, RunReport, Services, UserError
from bot.ops.offboard import Mode
from bot.ops.operation import Operation
from bot.ops.plan import Plan, StepDict

COMMAND = Operation.OFFBOARD_PERSON
ACCOUNT = "account"  # the key of a step's account ID in a plan's step dicts
GROUP = "group"  # the key of its heading (see bot.slack.messages.approval.plan_lines)


@dataclass(frozen=True)
class Part:
    """One account's share of the plan: the person's IAM user there and its steps."""

    account: str
    name: str
    user: str
    steps: tuple[Step, ...]

    @property
    def label(self) -> str:
        return Account(self.account, self.name).label

    def step_dicts(self, steps: Sequence[Step] | None = None) -> tuple[StepDict, ...]:
        """``steps`` (by default its own) as a plan stores them: each names its account."""
        heading = f"{self.label}: IAM user {self.user}"
        return tuple(
            {**s.to_dict(), ACCOUNT: self.account, GROUP: heading}
            for s in (self.steps if steps is None else steps)
        )


@dataclass(frozen=True, kw_only=True)
class PersonPlan(Plan):
    mode: Mode = Mode.DELETE
    users: tuple[dict[str, str], ...] = ()  # per account: its ID, name and the IAM user

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode.value, "users": list(self.users), **super().to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PersonPlan:
        users = tuple(d.get("users", ()))
        return cls(mode=Mode(d.get("mode", Mode.DELETE)), users=users, **cls.listed(d))

    def parts(self) -> list[Part]:
        def steps_in(account: str) -> tuple[Step, ...]:
            return tuple(Step.from_dict(s) for s in self.steps if s.get(ACCOUNT) == account)

        return [Part(u["id"], u["name"], u["user"], steps_in(u["id"])) for u in self.users]


def title(request: Request) -> str:
    plan = PersonPlan.of(request)
    verb = "Disable" if plan.mode is Mode.DISABLE else "Offboard"
    users = ", ".join(f"{p.user} in {p.name}" for p in plan.parts())
    return f"{verb} the IAM users of {request.target}: {users}"


def journal_of(request: Request, part: Part) -> str:
    """Each account's steps are journaled apart: a step ID (``delete_user:carol``) can be the
    same in two accounts."""
    return f"{request.id}/{part.account}"


# --- opening --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    part: Part | None = None
    refused: str = ""  # a protected user, named


def _search(
    services: Services, account: Account, person: str, email: str | None, mode: Mode, actor: Actor
) -> _Found:
    """The person's IAM user in ``account`` and its plan, searched in that account's scope.
    Each account gets its own identity map: its index of users is of that account only."""
    identity = IdentityMap(services.aws, services.config.identity, lambda _: email)
    with services.acting(account.id, actor):
        try:
            user_name = identity.iam_user_for(person, by_name=False)  # tags only: a name
            user, steps = offboard.planned(services, user_name, mode)  # alike is no proof
        except NotLinked:
            return _Found()
        except Denied as denied:
            return _Found(refused=f"in {account.label}, {denied}")
    return _Found(Part(account.id, account.name, user, tuple(steps)))


def open_request(
    ops: Ops,
    person: str,
    email: str | None,
    reason: str,
    *,
    disable: bool,
    requester: str,
    channel: str,
) -> Request:
    """One request to remove (or disable) the IAM users of the chat user ``person`` (whose
    e-mail is ``email``) in every account the bot knows."""
    services = ops.services
    accounts = list(services.accounts.listing().accounts)
    mode = Mode.DISABLE if disable else Mode.DELETE
    actor = Actor(requester, services.team())
    found = services.aws.map(lambda a: _search(services, a, person, email, mode, actor), accounts)
    if refused := [f.refused for f in found if f.refused]:
        raise UserError("Nothing was asked: " + "; ".join(refused))
    parts = [f.part for f in found if f.part]
    if not parts:
        tried = f"tag {services.config.identity.tag}={person}"
        if email:
            tried += f" or tag {services.config.identity.email_tag}={email}"
        raise NotLinked(person, f"{tried}, in {len(accounts)} accounts")
    plan = PersonPlan(
        mode=mode,
        users=tuple({"id": p.account, "name": p.name, "user": p.user} for p in parts),
        steps=tuple(d for p in parts for d in p.step_dicts()),
    )
    opened = services.approvals.open(
        command=COMMAND,
        target=person,
        requester=requester,
        reason=reason,
        plan=plan.to_dict(),
        channel=channel,
    )
    strictest = replace(
        opened,
        required=_required(services, parts),
        asked=_asked(services, parts, requester),
    )
    saved = services.approvals.save(strictest)
    assert saved is not None, "nobody decides a request before its message is posted"
    return ops.post(saved)


def _required(services: Services, parts: list[Part]) -> int:
    """The strictest account's count; an account's rule for `offboard` counts here too."""
    config = services.config
    commands = (Operation.OFFBOARD, COMMAND)
    return max(config.required_for(c, p.account) for c in commands for p in parts)


def _asked(services: Services, parts: list[Part], requester: str) -> tuple[str, ...]:
    """Who may approve in every account of the plan."""
    config = services.config
    everywhere = config.principals("approve")
    for part in parts:
        listed = config.account_principals("approve", part.account)
        if listed is not None:
            everywhere = tuple(p for p in everywhere if p in listed)
    return tuple(p for p in everywhere if p != requester)


# --- running --------------------------------------------------------------------------------


def execute(ops: Ops, request: Request) -> RunReport | None:
    plan = PersonPlan.of(request)
    parts = plan.parts()
    aws = ops.services.aws
    fresh = aws.map(lambda p: _recheck(ops, request, p, plan.mode), parts)
    if any(new for _, new in fresh):
        _reopen(ops, request, plan, parts, fresh)
        return None
    reports = aws.map(lambda p: _run(ops, request, p, plan.mode), parts)
    lines = [f"{p.label}: {r.summary}" for p, r in zip(parts, reports, strict=True)]
    failed = [p.account for p, r in zip(parts, reports, strict=True) if not r.ok]
    detail = {"accounts": len(parts), "failed_accounts": failed}
    return RunReport(not failed, "\n".join(lines), detail)


def _scoped(request: Request, part: Part) -> Request:
    """The request as its part in one account sees it: that account, that user (so
    :meth:`Ops.acting_for` acts there for the requester, with the request's ID and approvers,
    and :meth:`Ops.still_allowed` checks that account's rules and that user's protection)."""
    return replace(request, account=part.account, target=part.user)


def _recheck(
    ops: Ops, request: Request, part: Part, mode: Mode
) -> tuple[list[Step] | None, list[Step]]:
    """The part's user inventoried again in its account: its steps now (None: already gone)
    and those of them its approvers did not see; its snapshot saved while nothing is new."""
    services = ops.services
    with ops.acting_for(_scoped(request, part)):
        inv = offboard.current_inventory(services, part.user, part.steps)
        if inv is None:
            return None, []
        now = offboard.plan_steps(services, inv, mode)
        new = offboard.unseen_steps(services, journal_of(request, part), list(part.steps), now)
        if not new:
            offboard.save_snapshot(services, journal_of(request, part), inv)
    return now, new


def _reopen(
    ops: Ops,
    request: Request,
    plan: PersonPlan,
    parts: list[Part],
    fresh: list[tuple[list[Step] | None, list[Step]]],
) -> None:
    """Back to the approvers with every account's steps as they are now, the new ones shown."""
    steps: list[StepDict] = []
    unseen: list[StepDict] = []
    for part, (now, new) in zip(parts, fresh, strict=True):
        steps += part.step_dicts(part.steps if now is None else now)
        unseen += part.step_dicts(new)
    replanned = replace(plan, steps=tuple(steps), unseen=tuple(unseen))
    offboard.reopen(
        ops, request, replanned, [f"{Step.from_dict(s).id} in {s[ACCOUNT]}" for s in unseen]
    )


def _run(ops: Ops, request: Request, part: Part, mode: Mode) -> RunReport:
    """One account's part, in its scope, checked right before acting; its own journal."""
    scoped = _scoped(request, part)
    with ops.acting_for(scoped):
        if why := ops.still_allowed(scoped):
            return RunReport(False, f"Not run: {why}")
        result = offboard.remove(
            ops,
            request,
            part.user,
            list(part.steps),
            journal=journal_of(request, part),
            label=f"{part.name}: ",
        )
    return offboard.run_report(result, offboard.done_what(part.user, mode))
