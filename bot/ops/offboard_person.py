"""Offboarding a person from every account: their IAM users, found in each account the bot
knows, removed through one request.

Each account is searched in its own scope with the one identity rule every command uses
(:meth:`~bot.access.identity.IdentityMap.links`: the identity tag, the e-mail tag, the name),
in parallel; every user found is in the plan, its heading saying how it was found ("found by
name only" too: ``/iam keys me`` takes such a user as the person's, so offboarding does). The
request has one plan, its steps grouped by account and user (each group is the plan a
single-account offboard of that user shows), and one approval: as many approvers as the
strictest account asks, from those who may approve in every one of them, never the person
(:mod:`bot.access.approvals` refuses a decision otherwise). The requester needs `offboard` in
every account of the plan. The request lives in the account it was asked in; its parts act
in their own accounts. Approved, every part runs at once in its account's scope for the
requester, journaled on its own, so a failure in one stops no other and a retry resumes only
what is left in each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.access.approvals import Gate, Request, State, Target, account_here
from bot.access.identity import How, IdentityMap, Link, NotLinked
from bot.access.rules import Denied
from bot.iam import sessions
from bot.iam.models import User
from bot.iam.sessions import Account, Actor
from bot.iam.steps import Step
from bot.ops import identity_center, offboard
from bot.ops.context import Ops, RunReport, Services, UserError
from bot.ops.declared import Declared
from bot.ops.identity_center import IcPart
from bot.ops.offboard import Mode, OffboardPlan
from bot.ops.operation import Operation
from bot.ops.plan import Plan, StepDict
from bot.wording import counted

COMMAND = Operation.OFFBOARD_PERSON
ACCOUNT = "account"  # the key of a step's account ID in a plan's step dicts
USER = "user"  # the key of the IAM user it belongs to
GROUP = "group"  # the key of its heading (see bot.slack.messages.approval.plan_lines)


@dataclass(frozen=True)
class Part:
    """One IAM user of the person in one account, how it was found, and its steps."""

    account: str
    name: str
    user: str
    steps: tuple[Step, ...]
    how: How = How.TAG

    @property
    def label(self) -> str:
        return Account(self.account, self.name).label

    def step_dicts(self, steps: Sequence[Step] | None = None) -> tuple[StepDict, ...]:
        """``steps`` (by default its own) as a plan stores them: each names its account and
        user, under a heading saying how the user was found."""
        heading = f"{self.label}: IAM user {self.user}, found by {self.how.value}"
        return tuple(
            {**s.to_dict(), ACCOUNT: self.account, USER: self.user, GROUP: heading}
            for s in (self.steps if steps is None else steps)
        )


@dataclass(frozen=True, kw_only=True)
class PersonPlan(Plan):
    mode: Mode = Mode.DELETE
    users: tuple[dict[str, str], ...] = ()  # each: its account's ID and name, the user, how
    person_name: str = ""  # how the person is called, for the title
    identity_center: dict[str, Any] | None = None  # an IcPart's, when the person has a user

    def to_dict(self) -> dict[str, Any]:
        named = {"person_name": self.person_name} if self.person_name else {}
        center = {"identity_center": self.identity_center} if self.identity_center else {}
        listed = {"mode": self.mode.value, "users": list(self.users)}
        return {**listed, **named, **center, **super().to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PersonPlan:
        users = tuple(d.get("users", ()))
        mode, name = Mode(d.get("mode", Mode.DELETE)), d.get("person_name", "")
        center = d.get("identity_center")
        return cls(
            mode=mode, users=users, person_name=name, identity_center=center, **cls.listed(d)
        )

    def center(self) -> IcPart | None:
        """The Identity Center part, if the person has a user there."""
        return IcPart.from_dict(self.identity_center) if self.identity_center else None

    def center_steps(self) -> list[Step]:
        return [identity_center.from_dict(s) for s in self.steps if identity_center.is_part_step(s)]

    def remarks(self) -> tuple[str, ...]:
        center = self.center()
        return identity_center.remarks(center) if center else ()

    def parts(self) -> list[Part]:
        def steps_of(account: str, user: str) -> tuple[Step, ...]:
            return tuple(
                Step.from_dict(s)
                for s in self.steps
                if s.get(ACCOUNT) == account and s.get(USER, user) == user
            )

        return [
            Part(
                u["id"],
                u["name"],
                u["user"],
                steps_of(u["id"], u["user"]),
                How(u.get("how", How.TAG)),
            )
            for u in self.users
        ]


def title(request: Request) -> str:
    plan = PersonPlan.of(request)
    verb = "Disable" if plan.mode is Mode.DISABLE else "Offboard"
    person = f"@{plan.person_name}" if plan.person_name else request.target
    users = ", ".join(f"{p.user} in {p.name}" for p in plan.parts())
    if center := plan.center():
        where = f"Identity Center user {center.person.user_name}"
        return f"{verb} {person}: " + (f"IAM users {users}; {where}" if users else where)
    return f"{verb} the IAM users of {person}: {users}"


def journal_of(request: Request, part: Part) -> str:
    """Each user's steps are journaled apart: a step ID (``delete_inline_policy:inline``) can
    be the same for two users, in one account or two."""
    return f"{request.id}/{part.account}/{part.user}"


def parts_about(services: Services, user: User, *states: State) -> list[Request]:
    """The person-wide requests in ``states`` with a part for this IAM user in the current
    account (since it was created), each as that part alone (:func:`as_single`)."""
    here = sessions.current_account()
    account, name = (here.id if here else ""), user.name.casefold()
    return [
        as_single(request, part)
        for request in services.approvals.in_state(*states)
        if request.command == COMMAND and request.created >= user.created
        for part in PersonPlan.of(request).parts()
        if part.account == account and part.user.casefold() == name
    ]


def with_parts(
    services: Services, user: User, requests: list[Request], *states: State
) -> list[Request]:
    """``requests`` about an IAM user and the parts about it of person-wide requests in
    ``states`` (:func:`parts_about`), newest first."""
    merged = [*requests, *parts_about(services, user, *states)]
    return sorted(merged, key=lambda r: r.created, reverse=True)


def as_single(request: Request, part: Part) -> Request:
    """One part of a person-wide request as what it is in its account: an offboarding of that
    user, whose ID is its part's journal (under which its snapshot is kept). So what looks
    for earlier requests about a user (enable, undoing a disable) finds the person's too."""
    plan = OffboardPlan(
        mode=PersonPlan.of(request).mode, steps=tuple(s.to_dict() for s in part.steps)
    )
    return replace(
        request,
        id=journal_of(request, part),
        command=offboard.COMMAND,
        target=part.user,
        account=part.account,
        account_name=part.name,
        plan=plan.to_dict(),
    )


def about_person(services: Services, person: str) -> list[Request]:
    """The person-wide requests about the chat user ``person`` (their offboardings and what
    gives back their Identity Center access), in any state."""
    mine = (COMMAND, Operation.ENABLE_IDENTITY_CENTER)
    every = services.approvals.in_state(*State)
    return [r for r in every if r.command in mine and r.target == person]


def latest_disable(services: Services, person: str) -> Request | None:
    """The newest finished person-wide disable of ``person``, if any."""
    done = [
        r
        for r in services.approvals.in_state(State.DONE)
        if r.command == COMMAND and r.target == person and PersonPlan.of(r).mode is Mode.DISABLE
    ]
    return max(done, key=lambda r: r.created, default=None)


# --- opening --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    parts: tuple[Part, ...] = ()
    refused: str = ""  # a protected user, named
    tried: str = ""  # what was looked for, when nothing was found


def _search(
    services: Services, account: Account, person: str, email: str | None, mode: Mode, actor: Actor
) -> _Found:
    """The person's IAM users in ``account`` and their plans, searched in that account's
    scope. Each search gets its own identity map, given the e-mail the chat layer read once,
    and reads the account's users afresh: an offboarding must not miss a user created since
    a cached listing."""
    identity = IdentityMap(services.aws, services.config.identity, lambda _: email)
    with services.acting(account.id, actor):
        try:
            links = identity.links(person)
            planned = [(link, offboard.planned(services, link.user, mode)) for link in links]
        except NotLinked as missing:
            return _Found(tried=missing.tried)
        except Denied as denied:
            return _Found(refused=f"in {account.label}, {denied}")
    return _Found(tuple(_part(account, link, *plan) for link, plan in planned))


def _part(account: Account, link: Link, user: str, steps: list[Step]) -> Part:
    return Part(account.id, account.name, user, tuple(steps), link.how)


def require_everywhere(
    services: Services, parts: list[Part], requester: str, center: IcPart | None = None
) -> None:
    """The requester may offboard (which enabling needs too) in every account of the plan
    (the Identity Center instance's too), or nothing is asked."""
    missing = {p.account: p.label for p in parts}
    if center:
        missing[center.account] = center.label
    for account in list(missing):
        if services.rules.allowed(requester, "offboard", account=account):
            del missing[account]
    if missing:
        raise Denied(
            "Nothing was asked: the plan includes IAM users in "
            + ", ".join(missing.values())
            + ", where you need the `offboard` permission."
        )


def open_request(
    ops: Ops,
    person: str,
    email: str | None,
    reason: str,
    *,
    disable: bool,
    requester: str,
    channel: str,
    person_name: str = "",
    request_id: str | None = None,
) -> Request:
    """One request to remove (or disable) the IAM users of the chat user ``person`` (whose
    e-mail is ``email``, called ``person_name``) in every account the bot knows (with the ID
    ``request_id`` when its caller chose it beforehand)."""
    services = ops.services
    accounts = list(services.accounts.listing().accounts)
    mode = Mode.DISABLE if disable else Mode.DELETE
    actor = Actor(requester, services.team())
    found = services.aws.map(lambda a: _search(services, a, person, email, mode, actor), accounts)
    if refused := [f.refused for f in found if f.refused]:
        raise UserError("Nothing was asked: " + "; ".join(refused))
    parts = [part for f in found for part in f.parts]
    center = identity_center.find(services, email, mode, actor)
    if not parts and center is None:
        tried = next((f.tried for f in found if f.tried), f"tag {services.config.identity.tag}")
        raise NotLinked(person, f"{tried}, in {counted(len(accounts), 'account')}")
    require_everywhere(services, parts, requester, center)
    center_steps = identity_center.planned_steps(services, center) if center else ()
    plan = PersonPlan(
        mode=mode,
        users=tuple(
            {"id": p.account, "name": p.name, "user": p.user, "how": p.how.value} for p in parts
        ),
        steps=tuple(d for p in parts for d in p.step_dicts()) + center_steps,
        person_name=person_name,
        identity_center=center.to_dict() if center else None,
    )
    acting_in = {p.account for p in parts} | ({center.account} if center else set())
    return ops.ask(
        COMMAND,
        person,
        plan,
        reason,
        requester=requester,
        channel=channel,
        subjects=(person,),
        plan_accounts={p.account: p.name for p in parts}
        | ({center.account: center.name} if center else {}),
        required=_required(services, acting_in),
        asked=_asked(services, {account_here(), *acting_in}, (requester, person)),
        request_id=request_id,
    )


def _required(services: Services, accounts: set[str]) -> int:
    """The strictest account's count; an account's rule for `offboard` counts here too."""
    config = services.config
    commands = (Operation.OFFBOARD, COMMAND)
    return max(config.required_for(c, account) for c in commands for account in accounts)


def _asked(services: Services, accounts: set[str], not_them: tuple[str, ...]) -> tuple[str, ...]:
    """Who may approve in every one of ``accounts``, but the requester and the person: the
    principals every account that narrows `approve` lists (such a list already requires the
    global permission), else the global list. Only named entries are compared: a group
    listed in one account and its member in another is not matched here (the approval itself
    is checked member by member)."""
    config = services.config
    lists = [
        listed
        for account in sorted(accounts)
        if (listed := config.account_principals("approve", account)) is not None
    ]
    everywhere = lists[0] if lists else config.principals("approve")
    for listed in lists[1:]:
        everywhere = tuple(p for p in everywhere if p in listed)
    return tuple(p for p in everywhere if p not in not_them)


# --- running --------------------------------------------------------------------------------


def execute(ops: Ops, request: Request) -> RunReport | None:
    plan = PersonPlan.of(request)
    parts = plan.parts()
    aws = ops.services.aws
    fresh = aws.map(lambda p: _recheck(ops, request, p, plan.mode), parts)
    center = _center_now(ops, request, plan)
    if any(new for _, new in fresh) or center.new:
        _reopen(ops, request, plan, parts, fresh, center)
        return None
    reports = aws.map(lambda p: _run(ops, request, p, plan.mode), parts)
    lines = [f"{p.label}: {r.summary}" for p, r in zip(parts, reports, strict=True)]
    failed = [p.account for p, r in zip(parts, reports, strict=True) if not r.ok]
    if center.part is not None:
        report = _run_center(ops, request, center.part, center.now)
        lines.append(f"IAM Identity Center in {center.part.label}: {report.summary}")
        failed += [] if report.ok else [center.part.account]
    detail = {"accounts": len(parts), "failed_accounts": failed}
    return RunReport(not failed, "\n".join(lines), detail)


@dataclass(frozen=True)
class _Center:
    """The plan's Identity Center part (None: none), as read again (None: its user is gone),
    and the steps its approvers did not see."""

    part: IcPart | None = None
    now: IcPart | None = None
    new: tuple[Step, ...] = ()


def _center_now(ops: Ops, request: Request, plan: PersonPlan) -> _Center:
    if (part := plan.center()) is None:
        return _Center()
    now, new = identity_center.recheck(ops, request, part, plan.center_steps())
    return _Center(part, now, tuple(new))


def _run_center(ops: Ops, request: Request, part: IcPart, now: IcPart | None) -> RunReport:
    """The Identity Center part, checked right before acting in the instance's account."""
    scoped = replace(request, account=part.account, target=part.person.user_name)
    with ops.acting_for(scoped):
        if why := ops.still_allowed(scoped):
            return RunReport(False, f"Not run: {why}")
    if now is None:
        return RunReport(True, f"{part.person.user_name} was already gone.")
    return identity_center.run(ops, request, now)


def _scoped(request: Request, part: Part) -> Request:
    """The request as its part in one account sees it: that account, that user (so
    :meth:`Ops.acting_for` acts there for the requester, with the request's ID and approvers,
    and :meth:`Ops.still_allowed` checks that account's rules)."""
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
    center: _Center,
) -> None:
    """Back to the approvers with every account's steps as they are now, the new ones shown."""
    steps: list[StepDict] = []
    unseen: list[StepDict] = []
    for part, (now, new) in zip(parts, fresh, strict=True):
        steps += part.step_dicts(part.steps if now is None else now)
        unseen += part.step_dicts(new)
    said = [f"{Step.from_dict(s).id} in {s[ACCOUNT]}" for s in unseen]
    if center.part is not None:
        shown = center.now or center.part
        steps += identity_center.planned_steps(ops.services, shown)
        unseen += identity_center.step_dicts(shown, list(center.new))
        said += [f"{s.id} in IAM Identity Center" for s in center.new]
    replanned = replace(plan, steps=tuple(steps), unseen=tuple(unseen))
    if center.now is not None:
        replanned = replace(replanned, identity_center=center.now.to_dict())
    offboard.reopen(ops, request, replanned, said)


def _run(ops: Ops, request: Request, part: Part, mode: Mode) -> RunReport:
    """One account's part, in its scope, checked right before acting; its own journal."""
    scoped = _scoped(request, part)
    with ops.acting_for(scoped):
        if why := ops.still_allowed(scoped):
            return RunReport(False, f"Not run: {why}")
        if why := ops.services.protection(offboard.COMMAND, part.user):  # the part's user
            return RunReport(False, f"Not run: {why}.")
        result = offboard.remove(
            ops,
            request,
            part.user,
            list(part.steps),
            journal=journal_of(request, part),
            label=f"{part.name}: ",
        )
    return offboard.run_report(result, offboard.done_what(part.user, mode))


DECLARED = Declared(
    COMMAND,
    # Its target is a person: each of their users is judged by its own part of the run.
    Gate(("offboard",), confirms=False, floor=1, target=Target.NONE),
    PersonPlan,
    title,
    execute,
    "offboard",
    across_accounts=True,
)
