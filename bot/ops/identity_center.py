"""The IAM Identity Center part of a person's offboarding: their permission sets, groups and
user, removed under the same approval as their IAM users.

Found by the person's chat e-mail in the instance's account (``identity_center:`` in the rules
file), acting there through its role for the requester. The plan lists each direct assignment
(removed), each group membership (removed; what comes through the group stays, for its other
members) and the user (deleted, unless the request disables, or an identity provider
provisions the user: then only direct assignments go, since its next sync would bring the rest
back). Sessions already issued cannot be ended by any API: the plan says how long they may
last. Run, the person is read again; steps the approvers did not see re-open the request;
every change is one journaled step, so a retry resumes.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from bot.access.approvals import Request
from bot.access.store import Record
from bot.iam import identity_center as ic
from bot.iam import sessions
from bot.iam.errors import NotFound
from bot.iam.identity_center import Assignment, Person
from bot.iam.sessions import Account, Actor
from bot.iam.steps import Step
from bot.ops import offboard
from bot.ops.context import Ops, RunReport, Services
from bot.ops.offboard import Mode
from bot.ops.plan import StepDict
from bot.wording import duration

ROLE_NAME = "iam-bot-identity-center"  # deploy/identity-center-role.yaml's default
PART = "identity_center"  # the key marking a plan step as this part's (its value: True)
SNAPSHOT = "identity-center-snapshot"
GROUP = "group"  # the heading key of bot.ops.offboard_person's steps


class IcAction(enum.StrEnum):
    """This part's steps; the value, then the step's target, reads as a plan line."""

    DELETE_ASSIGNMENT = "remove permission set"
    DELETE_MEMBERSHIP = "remove from Identity Center group"
    DELETE_USER = "delete Identity Center user"
    CREATE_ASSIGNMENT = "give permission set back"
    CREATE_MEMBERSHIP = "add back to Identity Center group"


@dataclass(frozen=True)
class IcPart:
    """The person as Identity Center knows them, where, and what the request does to them."""

    account: str  # the instance's account
    name: str  # that account's name
    region: str
    person: Person
    keeps_user: bool  # a disable, or a user an identity provider provisions
    provisioned: bool  # by an identity provider: only direct assignments go

    def to_dict(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "name": self.name,
            "region": self.region,
            "person": self.person.to_dict(),
            "keeps_user": self.keeps_user,
            "provisioned": self.provisioned,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> IcPart:
        return cls(**{**d, "person": Person.from_dict(d["person"])})

    @property
    def label(self) -> str:
        return Account(self.account, self.name).label

    @property
    def heading(self) -> str:
        return f"IAM Identity Center in {self.label}: user {self.person.user_name}"


@contextlib.contextmanager
def acting(services: Services, actor: Actor | None) -> Iterator[None]:
    """Calls inside act in the instance's account through its Identity Center role (the
    configured one, else ``ROLE_NAME`` there: deploy/identity-center-role.yaml), for ``actor``;
    with no ``accounts:``, with the bot's own credentials unless a role is configured."""
    center = services.config.identity_center
    assert center is not None  # callers check that the feature is on
    if not services.accounts.enabled and not center.role:
        yield  # one account, the bot's own credentials
        return
    account = services.accounts.get(center.account)
    role = center.role or f"arn:aws:iam::{center.account}:role/{ROLE_NAME}"
    with sessions.acting(replace(account, role_arn=role), actor):
        yield


def find(services: Services, email: str | None, mode: Mode, actor: Actor) -> IcPart | None:
    """The person's Identity Center part; None when the feature is off or they have no user."""
    center = services.config.identity_center
    if center is None or not email:
        return None
    with acting(services, actor):
        return _read(services, email, mode)


def _read(services: Services, email: str, mode: Mode) -> IcPart | None:
    center = services.config.identity_center
    assert center is not None
    aws = services.aws
    where = ic.instance(aws, center.region, center.instance_arn, center.identity_store_id)
    person = ic.find(aws, center.region, where, email)
    if person is None:
        return None
    provisioned = center.scim or person.provisioned
    account = services.accounts.get(center.account) if services.accounts.enabled else None
    return IcPart(
        center.account,
        account.name if account else center.account,
        center.region,
        person,
        keeps_user=provisioned or mode is Mode.DISABLE,
        provisioned=provisioned,
    )


def _account_label(services: Services, account_id: str) -> str:
    known = services.accounts.known(account_id) if services.accounts.enabled else None
    return known.label if known else account_id


def assignment_words(services: Services, a: Assignment) -> str:
    return f"{a.permission_set} in {_account_label(services, a.account)}"


def planned(services: Services, part: IcPart) -> list[tuple[Step, Callable[[], None]]]:
    """The part's steps, each with the change it makes: direct assignments, then group
    memberships (not for a provisioned user), then the user (unless it is kept)."""
    aws, region, person = services.aws, part.region, part.person
    where, user = person.instance, person.user_id
    steps: list[tuple[Step, Callable[[], None]]] = [
        (
            Step(IcAction.DELETE_ASSIGNMENT, assignment_words(services, a), 1),
            lambda a=a: ic.delete_assignment(aws, region, where, user, a),  # type: ignore[misc]
        )
        for a in person.direct
    ]
    if not part.provisioned:
        steps += [
            (
                Step(IcAction.DELETE_MEMBERSHIP, m.group, 2, _through(services, m.assignments)),
                lambda m=m: ic.delete_membership(aws, region, where, m.membership_id),  # type: ignore[misc]
            )
            for m in person.groups
        ]
    if not part.keeps_user:
        steps.append(
            (
                Step(IcAction.DELETE_USER, person.user_name, 3),
                lambda: ic.delete_user(aws, region, where, user),
            )
        )
    return steps


def restoring(
    services: Services, part: IcPart, now: Person | None = None
) -> list[tuple[Step, Callable[[], None]]]:
    """What giving back ``part``'s direct assignments and memberships takes, each with its
    change; against ``now`` (the person as read again), what they have again already is
    left as it is."""
    aws, region, person = services.aws, part.region, part.person
    where, user = person.instance, person.user_id
    has = {(a.account, a.permission_set_arn) for a in now.direct} if now else set()
    groups = {m.group_id for m in now.groups} if now else set()

    def unless(there: bool, change: Callable[[], None]) -> Callable[[], None]:
        return (lambda: None) if there else change

    return [
        *(
            (
                Step(IcAction.CREATE_ASSIGNMENT, assignment_words(services, a), 1),
                unless(
                    (a.account, a.permission_set_arn) in has,
                    lambda a=a: ic.create_assignment(aws, region, where, user, a),  # type: ignore[misc]
                ),
            )
            for a in person.direct
        ),
        *(
            (
                Step(IcAction.CREATE_MEMBERSHIP, m.group, 1),
                unless(
                    m.group_id in groups,
                    lambda m=m: ic.create_membership(aws, region, where, user, m.group_id),  # type: ignore[misc]
                ),
            )
            for m in person.groups
        ),
    ]


def _through(services: Services, assignments: tuple[Assignment, ...]) -> str:
    if not assignments:
        return "nothing is assigned through it"
    given = ", ".join(assignment_words(services, a) for a in assignments)
    return f"through it: {given}, which stays for the group's other members"


def planned_steps(services: Services, part: IcPart) -> tuple[StepDict, ...]:
    """The part's steps as the plan stores them."""
    return step_dicts(part, [step for step, _ in planned(services, part)])


def step_dicts(part: IcPart, steps: list[Step]) -> tuple[StepDict, ...]:
    return tuple({**s.to_dict(), PART: True, GROUP: part.heading} for s in steps)


def is_part_step(step: StepDict) -> bool:
    return bool(step.get(PART))


def from_dict(step: StepDict) -> Step:
    return Step.from_dict(step, IcAction)


def remarks(part: IcPart) -> tuple[str, ...]:
    """What the plan says beyond its steps: how long issued sessions may last, and who must
    deprovision a provisioned user."""
    said = []
    if minutes := part.person.longest_session_minutes:
        said.append(
            f"Identity Center sessions already issued may last up to {duration(minutes)}: "
            "no API ends them."
        )
    if part.provisioned:
        said.append(
            f"{part.person.user_name} is provisioned by an identity provider (SCIM): only "
            "direct assignments are removed here; the identity provider must deprovision the "
            "person, or its next sync brings the rest back."
        )
    return tuple(said)


# --- running --------------------------------------------------------------------------------


def journal_of(request: Request, part: IcPart) -> str:
    return f"{request.id}/identity-center"


def recheck(
    ops: Ops, request: Request, part: IcPart, planned_steps: list[Step]
) -> tuple[IcPart | None, list[Step]]:
    """The person read again (None: their user is gone) and the steps the approvers did not
    see; the first attempt's read is kept as the snapshot an enable restores from."""
    services = ops.services
    with acting(services, actor_of(ops, request)):
        now = _reread(services, part)
    if now is None:
        return None, []
    fresh = [s for s, _ in planned(services, now)]
    new = offboard.unseen_steps(services, journal_of(request, part), planned_steps, fresh)
    if not new:
        snapshot = offboard.snapshot_id(journal_of(request, part))
        services.store.put_if_version(Record(snapshot, SNAPSHOT, "saved", now.to_dict()))
    return now, new


def snapshot_of(services: Services, request: Request, part: IcPart) -> IcPart:
    """What the part had when its first run started (its plan's read if it never ran)."""
    record = services.store.get(offboard.snapshot_id(journal_of(request, part)))
    return IcPart.from_dict(record.data) if record else part


def _reread(services: Services, part: IcPart) -> IcPart | None:
    """The same user, read again by their ID (their e-mail may have changed since)."""
    center = services.config.identity_center
    assert center is not None
    person = ic.read(services.aws, part.region, part.person.instance, part.person.user_id)
    if person is None:
        return None
    provisioned = center.scim or person.provisioned
    keeps = part.keeps_user or provisioned
    return replace(part, person=person, provisioned=provisioned, keeps_user=keeps)


def actor_of(ops: Ops, request: Request) -> Actor:
    """The requester, signing with the request's ID and approvers."""
    return Actor(request.requester, ops.services.team(), request.id, tuple(request.approvers))


def run(ops: Ops, request: Request, part: IcPart) -> RunReport:
    """The part's steps, journaled apart from the IAM users' parts."""
    with acting(ops.services, actor_of(ops, request)):
        steps = planned(ops.services, part)
        actions = {step.id: change for step, change in steps}

        def do(step: Step) -> str:
            try:
                actions[step.id]()
            except NotFound:
                return "gone"
            return "done"

        result = offboard.run_plan(
            ops,
            request,
            [s for s, _ in steps],
            do,
            journal=journal_of(request, part),
            label="Identity Center: ",
        )
    kept = " (user kept)" if part.keeps_user else ""
    return offboard.run_report(
        result, f"{part.person.user_name} removed from Identity Center{kept}"
    )
