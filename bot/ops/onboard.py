"""Onboarding: a new IAM user, its groups, console password and access key.

Approval-gated: nothing is created before approval. Then, journaled and resumable: the user
with its tags first; then, at once, its groups, its console password (reset required at first
sign-in, with ``IAMUserChangePassword`` attached so that it can) and its access key.
Credentials go straight to Secrets Manager, never to chat, logs or the store: the password is
put there *before* IAM gets it, so a password nobody holds never exists; the key's secret as
rotation delivers it.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.access.approvals import Gate, Request, Target
from bot.access.journal import finished_steps, run_journaled
from bot.iam import account, errors, keys, policies, secrets, users
from bot.iam.models import Group
from bot.iam.steps import Step
from bot.ops.context import Ops, RunReport, Services, UserError
from bot.ops.declared import Declared
from bot.ops.keys import ORPHAN, create_delivered_key, delete_orphan
from bot.ops.operation import Operation
from bot.ops.outcome import Note, NoteKind, Outcome
from bot.ops.plan import Plan
from bot.wording import noun

log = logging.getLogger(__name__)

COMMAND = Operation.ONBOARD
MAX_GROUPS = 10  # IAM's quota of groups per user
CREATED_BY, REQUEST_TAG = "created-by", "iam-bot:request"


@dataclass(frozen=True)
class OnboardArgs:
    user: str
    groups: tuple[str, ...]
    console: bool
    access_key: bool
    for_user: str | None


# --- the plan -----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OnboardPlan(Plan):
    """The user to create: its name, tags and groups as IAM spells them, which credentials
    it gets, and the chat user it is for (told where to find them), if any."""

    user: str
    tags: dict[str, str]
    groups: tuple[str, ...]
    console: bool
    access_key: bool
    for_user: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "tags": self.tags,
            "groups": list(self.groups),
            "console": self.console,
            "access_key": self.access_key,
            "for": self.for_user,
            **super().to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OnboardPlan:
        return cls(
            user=d["user"],
            tags=d["tags"],
            groups=tuple(d["groups"]),
            console=d["console"],
            access_key=d["access_key"],
            for_user=d.get("for"),
            **cls.listed(d),
        )


class Act(enum.StrEnum):
    CREATE_USER = "create user"
    ADD_TO_GROUP = "add to group"
    CREATE_PASSWORD = "create console password"
    ATTACH_POLICY = "attach managed policy"
    CREATE_KEY = "create access key"


def plan_steps(plan: OnboardPlan, services: Services) -> list[Step]:
    """The steps of a plan: what the message shows and what execution runs, from one place."""
    config = services.config
    user = plan.user
    tags = ", ".join(f"{k}={v}" for k, v in plan.tags.items())
    steps = [Step(Act.CREATE_USER, user, 1, f"tags {tags}, {REQUEST_TAG}")]
    steps += [Step(Act.ADD_TO_GROUP, group, 2) for group in plan.groups]
    if plan.console:
        secret = config.onboarding.secret_name.format(user=user)
        note = f"reset required at first sign-in; stored in Secrets Manager as `{secret}`"
        steps.append(Step(Act.CREATE_PASSWORD, user, 2, note))
        own = "so they can set their own"
        steps.append(Step(Act.ATTACH_POLICY, policies.CHANGE_PASSWORD, 2, own))
    if plan.access_key:
        secret = config.rotation.secret_name.format(user=user)
        steps.append(Step(Act.CREATE_KEY, user, 2, f"stored in Secrets Manager as `{secret}`"))
    return steps


def _exists(fetch: Callable[[], Any]) -> Any | None:
    try:
        return fetch()
    except errors.NotFound:
        return None


def open_request(ops: Ops, spec: OnboardArgs, *, requester: str, channel: str) -> Request:
    """The plan for a new user, as a request for approval; nothing exists before it runs."""
    services = ops.services
    aws = services.aws
    tags = {CREATED_BY: requester}
    if spec.for_user:
        tags = {services.config.identity.tag: spec.for_user, **tags}
    existing, *found = aws.run_all(
        lambda: _exists(lambda: users.get_user(aws, spec.user)),
        *(lambda g=g: _exists(lambda: policies.get_group(aws, g)) for g in spec.groups),
    )
    if existing is not None:
        raise UserError(f"An IAM user named `{spec.user}` already exists. Nothing was changed.")
    missing = [g for g, group in zip(spec.groups, found, strict=True) if group is None]
    if missing:
        listed = ", ".join(f"`{g}`" for g in missing)
        raise UserError(f"No IAM group named {listed}. Nothing was changed.")
    groups: list[Group] = found
    plan = OnboardPlan(
        user=spec.user,
        tags=tags,
        groups=tuple(g.name for g in groups),  # IAM's spelling
        console=spec.console,
        access_key=spec.access_key,
        for_user=spec.for_user,
    )
    plan = replace(plan, steps=tuple(s.to_dict() for s in plan_steps(plan, services)))
    for_whom = f" for {ops.notify.person(spec.for_user)}" if spec.for_user else ""
    return ops.ask(
        COMMAND,
        spec.user,
        plan,
        f"new IAM user{for_whom}",
        requester=requester,
        channel=channel,
        subjects=(spec.for_user,) if spec.for_user else None,  # never decided by its owner-to-be
        tags=tags,
    )


# --- execution ----------------------------------------------------------------------------------


class _Run:
    """The step runners of one execution of one request."""

    def __init__(self, ops: Ops, request: Request) -> None:
        self.ops, self.request = ops, request
        self.services = ops.services
        self.aws = ops.services.aws
        self.plan = OnboardPlan.of(request)
        self.user = self.plan.user

    def __call__(self, step: Step) -> str:
        match step.action:
            case Act.CREATE_USER:
                self.create_user(step)
            case Act.ADD_TO_GROUP:
                policies.add_user_to_group(self.aws, self.user, step.target)
            case Act.CREATE_PASSWORD:
                self.create_password()
            case Act.ATTACH_POLICY:
                policies.attach_policy(self.aws, self.user, policies.CHANGE_PASSWORD_ARN)
            case Act.CREATE_KEY:
                new = create_delivered_key(
                    self.ops, self.request.id, step.id, self.user, keys_before=()
                )
                self.services.approvals.note(
                    self.request.id, new_key=new.key_id, key_secret_arn=new.secret_arn
                )
            case _:
                raise ValueError(f"unknown onboarding step {step.action!r}")
        return "done"

    def create_user(self, step: Step) -> None:
        tags = {**self.plan.tags, REQUEST_TAG: self.request.id}
        try:
            users.create_user(self.aws, self.user, tags)
        except errors.Conflict as exc:
            if exc.code != "EntityAlreadyExists" or not self._made_earlier(step):
                raise errors.Conflict(
                    f"an IAM user named {self.user} was created by someone else meanwhile",
                    code=exc.code,
                    operation=exc.operation,
                ) from exc

    def _made_earlier(self, step: Step) -> bool:
        """An earlier attempt of this request started CreateUser, and the user it finds carries
        this request's tag: then the user is ours, and creating it counts as done."""
        starts = [
            e
            for e in self.services.store.journal(self.request.id)
            if e.step == step.id and e.event == "start"
        ]
        if len(starts) < 2:  # this attempt's own start is already journaled
            return False
        found = users.get_user(self.aws, self.user)
        return found.tags.get(REQUEST_TAG) == self.request.id

    def create_password(self) -> None:
        config = self.services.config
        url = self._console_url()
        arn = secrets.issue_console_password(
            self.aws,
            self.user,
            config.onboarding.secret_name.format(user=self.user),
            kms_key_id=config.rotation.kms_key_id,
            console_url=url,
        )
        self.services.approvals.note(
            self.request.id, password_secret_arn=arn, console_url=url or ""
        )

    def _console_url(self) -> str | None:
        try:
            aliases = account.list_account_aliases(self.aws)
            name = aliases[0] if aliases else keys.own_account(self.aws)
        except errors.IamError:
            log.warning("could not name the account for the sign-in URL", exc_info=True)
            return None
        return f"https://{name}.signin.aws.amazon.com/console"


def _listed(steps: list[Step]) -> str:
    return ", ".join(f"{s.action} `{s.target}`" for s in steps) or "nothing"


def execute(ops: Ops, request: Request) -> RunReport:
    services = ops.services
    plan = OnboardPlan.of(request)
    steps = plan_steps(plan, services)
    total = len(steps)

    def progressed(results: list[Any]) -> None:
        done = len(finished_steps(services.store, request.id) & {s.id for s in steps})
        ops.progress(request, f"{done}/{total} steps done.")

    result = run_journaled(
        services.store,
        request.id,
        steps,
        do=_Run(ops, request),
        fan_out=services.aws.map,
        on_wave_done=progressed,
    )
    finished = finished_steps(services.store, request.id)
    done = [s for s in steps if s.id in finished]
    detail = {"steps_run": len(result.results), "seconds": round(result.seconds, 2)}
    if result.failed:
        failed = [r for r in result.results if r.status == "failed"]
        what = "; ".join(
            f"{r.step.action} `{r.step.target}` failed: {r.aws_said.removesuffix('.')}"
            for r in failed
        )
        left = [s for s in steps if s.id not in finished and s not in [r.step for r in failed]]
        return RunReport(
            False,
            f"{what}. Done: {_listed(done)}." + (f" Not started: {_listed(left)}." if left else ""),
            {**detail, "failed_step": failed[0].step.id},
        )
    outcome = Outcome.of(services.approvals.get(request.id))
    _note_secrets(ops, request, outcome)
    _tell_new_user(ops, request, plan, outcome)
    groups = plan.groups
    got = [f"{noun(len(groups), 'group')} {', '.join(groups)}"] if groups else []
    got += ["a console password"] if plan.console else []
    got += ["an access key"] if plan.access_key else []
    with_what = f" with {', '.join(got)}" if got else ""
    earlier = f"; {result.skipped} of its steps had finished earlier" if result.skipped else ""
    return RunReport(
        True,
        f"IAM user {request.target} created{with_what}, in {result.seconds:.1f} s{earlier}.",
        detail,
    )


def _note_secrets(ops: Ops, request: Request, outcome: Outcome) -> None:
    approvals = ops.services.approvals
    if arn := outcome.password_secret_arn:
        where = "Console password (change required at first sign-in) in Secrets Manager:"
        approvals.note(request.id, line=Note(NoteKind.SECRET, where, secret_arn=arn).to_dict())
    if arn := outcome.key_secret_arn:
        where = f"Access key `{outcome.new_key}`; its secret is in Secrets Manager:"
        approvals.note(request.id, line=Note(NoteKind.SECRET, where, secret_arn=arn).to_dict())


def _tell_new_user(ops: Ops, request: Request, plan: OnboardPlan, outcome: Outcome) -> None:
    """DM the person the user is for where to find their credentials (never the credentials)."""
    person = plan.for_user
    if not person:
        return
    by = ops.notify.person(request.requester)
    lines = [f"Your IAM user {request.target} is ready (requested by {by})."]
    if url := outcome.console_url:
        lines.append(f"Sign in at {url}")
    if arn := outcome.password_secret_arn:
        lines.append(
            f"Console password (you must change it at first sign-in): {ops.secret_link(arn)}"
        )
    if arn := outcome.key_secret_arn:
        lines.append(f"Access key `{outcome.new_key}`: {ops.secret_link(arn)}")
    if arns := [a for a in (outcome.password_secret_arn, outcome.key_secret_arn) if a]:
        lines.append(ops.notify.reading(arns, request.target, request.requester))
    ops.dm(person, "\n".join(lines))


DECLARED = Declared(
    COMMAND,
    Gate(("onboard",), confirms=False, floor=0, target=Target.NEW_USER),
    OnboardPlan,
    lambda r: f"Onboard {r.target}",
    execute,
    "onboard",
    {ORPHAN: delete_orphan},
)
