"""What every workflow gets: the services, the scheduler, and a way to tell people.

Workflows never talk to chat themselves. They change the request (its outcome, its notes) and
ask the :class:`Notifier` to show it; the chat layer decides how a person, a link or a message
looks, and delivers it on its own time (a failed delivery never fails the work).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.access.accounts import AccountBook
from bot.access.approvals import Approvals, Request, Target, account_here
from bot.access.identity import IdentityMap
from bot.access.journal import PlannedStep, RunResult, run_journaled
from bot.access.rules import Denied, Rules, SlackUnavailable
from bot.access.schedule import Scheduler
from bot.access.store import Record, Store
from bot.iam import errors, secrets, users
from bot.iam.audit import CredentialReports
from bot.iam.aws import Aws
from bot.iam.models import User
from bot.iam.sessions import Actor, acting
from bot.operator_rules import Config
from bot.ops.outcome import Note
from bot.ops.plan import Plan

log = logging.getLogger(__name__)


class UserError(Exception):
    """A problem with what the user asked, in words meant for them."""


class NoTeam(UserError, SlackUnavailable):
    """The chat workspace is not known yet and chat did not say: nothing may act in AWS. Like
    any question chat did not answer, a run or a step waits for it and tries again."""


WORKSPACE = "workspace"  # the record naming the chat workspace, once any replica learned it


class Team:
    """The chat workspace's ID, which every change's source identity carries (``U456@T123``,
    what CloudTrail is searched by): learned from the first input that names it and kept in
    ``store`` (the first one any replica learned counts), so work a process does before any
    input reaches it (a scheduled step after a restart, a Lambda tick) is signed without
    asking chat; else asked of chat (``ask``) each time until it answers. Never guessed or
    left out: without it the work is refused (:class:`NoTeam`), so no change reaches
    CloudTrail as ``U456`` alone."""

    def __init__(self, ask: Callable[[], str] = lambda: "", store: Store | None = None) -> None:
        self._ask = ask
        self._store = store
        self._known = ""

    def learn(self, team_id: str) -> None:
        """What an input from chat (or chat itself) says the workspace is: kept, unless one
        was learned before, here or by another replica (create-if-absent)."""
        if not team_id or self._known:
            return
        if self._store is None:
            self._known = team_id
            return
        kept = Record(WORKSPACE, WORKSPACE, WORKSPACE, {"team": team_id})
        if self._store.put_if_version(kept) is not None:
            self._known = team_id
        else:
            self._known = self._kept() or team_id

    def _kept(self) -> str:
        found = self._store.get(WORKSPACE) if self._store is not None else None
        return str(found.data.get("team") or "") if found is not None else ""

    def __call__(self) -> str:
        if not self._known:
            self._known = self._kept()
        if not self._known:
            try:
                self.learn(self._ask())
            except Exception:
                log.warning("chat did not say which workspace this is (auth.test failed)")
        if not self._known:
            raise NoTeam(
                "Slack did not answer, so the bot cannot yet sign AWS changes with your "
                "workspace: nothing was changed in AWS. Try again in a minute."
            )
        return self._known


@dataclass(frozen=True)
class Services:
    """Long-lived collaborators, built once at startup and shared by every request."""

    config: Config
    aws: Aws
    rules: Rules
    identity: IdentityMap
    store: Store
    approvals: Approvals
    accounts: AccountBook
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    team: Team = field(default_factory=Team)  # the chat workspace, for attribution

    @contextlib.contextmanager
    def acting(self, account_id: str, actor: Actor) -> Iterator[None]:
        """AWS calls inside act in ``account_id`` for ``actor`` (with no ``accounts:`` config,
        in the bot's own account with its own credentials)."""
        if not self.accounts.enabled:
            yield
            return
        with acting(self.accounts.get(account_id), actor):
            yield

    def protection(
        self,
        command: str,
        target: str,
        read: User | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> str | None:
        """Why no request of ``command`` may change ``target``: it is a protected user, judged
        by what the operation declares its target is (:class:`Target`): an IAM user as
        ``read`` (else read now; one already gone is nobody's to protect), a user still to be
        created by its name and the ``tags`` it will get, or no user at all. The one rule
        for every operation, part of :meth:`Ops.refusal`, when a request opens and right
        before it runs. None: it may."""
        kind = self.approvals.gate(command).target
        if kind in (Target.NONE, Target.LEAKED_KEY):
            return None
        if kind is Target.NEW_USER:
            protected = self.rules.name_is_protected(target, tags)
            return f"`{target}` is a protected user" if protected else None
        if read is None:
            try:
                read = users.get_user(self.aws, target)
            except errors.NotFound:
                return None
        return f"`{read.name}` is a protected user" if self.rules.is_protected(read) else None

    def require_unprotected(
        self,
        command: str,
        target: str,
        read: User | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Refused (:class:`Denied`) if ``target`` is protected (:meth:`protection`): part of
        :meth:`Ops.refusal`; alone, for what no request is opened about by itself (each
        account's part of a person's offboarding), and to refuse a key's owner before a plan
        for the key is read."""
        if why := self.protection(command, target, read, tags):
            raise Denied(f"{why}: no /iam command changes it.")


@dataclass(frozen=True)
class RunReport:
    """How a run ended: ``summary`` for people, ``detail`` kept in the request's outcome."""

    ok: bool
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)


class Notifier(Protocol):
    """How a workflow tells people; implemented by the chat layer."""

    def opened(self, request: Request) -> None:
        """A request was opened: show it, and announce who asked and why."""

    def show(self, request: Request) -> None:
        """Bring the request's message up to date."""

    def announce(self, request: Request, event: str | Note) -> None:
        """Record ``event`` about the request where the team follows what the bot does."""

    def dm(self, user_id: str, text: str) -> None: ...

    def person(self, user_id: str) -> str:
        """How a chat user is named in a text (a mention, in Slack)."""

    def link(self, url: str, text: str) -> str:
        """How a link is written in a text."""

    def explain(self, refusal: Exception) -> str:
        """How a refusal reads (a denial names the channels it allows, linked in Slack)."""

    def remind(self, request: Request) -> None:
        """A pending request is about to expire: nudge whoever can still decide it."""

    def reading(self, arns: list[str], user: str, ask: str) -> str:
        """How whoever the secrets ``arns``, delivered for IAM user ``user``, are for reads
        them: where, how, and who may; naming the chat user ``ask`` to ask for help."""

    def when(self, moment: datetime) -> str:
        """How a moment is written: in Slack, in each reader's own time zone, with the date
        when it is not today."""


@dataclass(frozen=True)
class Ops:
    """A workflow's whole world."""

    services: Services
    scheduler: Scheduler
    notify: Notifier
    reports: CredentialReports

    def ask(
        self,
        command: str,
        target: str,
        plan: Plan,
        reason: str,
        *,
        requester: str,
        channel: str,
        notes: Sequence[Note] = (),
        read: User | None = None,
        tags: Mapping[str, str] | None = None,
        **more: Any,
    ) -> Request:
        """Open a request for ``plan`` (with what its plan already has to say, and anything
        else :meth:`Approvals.open` takes) in one write, and show it; refused first as
        :meth:`refusal` says (the target judged as ``read``, or a new user with ``tags``)."""
        where = account_here()
        if why := self.refusal(command, target, requester, channel, where, read=read, tags=tags):
            raise why
        request = self.services.approvals.open(
            command=command,
            target=target,
            requester=requester,
            reason=reason,
            plan=plan.to_dict(),
            channel=channel,
            notes=[n.to_dict() for n in notes],
            **more,
        )
        return self.post(request)

    def post(self, request: Request) -> Request:
        self.notify.opened(request)
        return request

    def refresh(self, request: Request) -> None:
        self.notify.show(request)

    def audit(self, request: Request, event: str | Note) -> None:
        self.notify.announce(request, event)

    def dm(self, user_id: str, text: str) -> None:
        self.notify.dm(user_id, text)

    def secret_link(self, arn: str) -> str:
        """A secret's ARN, linked to its page in the AWS console (where it is read, never
        in chat)."""
        return self.notify.link(secrets.console_link(arn), arn)

    def acting_for(self, request: Request) -> contextlib.AbstractContextManager[None]:
        """Where and for whom a request's AWS work runs: its account, its requester (the
        session's source identity), its ID and approvers (session tags); scheduled steps
        carry the original requester too. Refused (:class:`NoTeam`) while the chat workspace
        is unknown: a session must not be signed without it."""
        if not self.services.accounts.enabled:
            return contextlib.nullcontext()  # the bot's own credentials: no session to sign
        actor = Actor(request.requester, self.services.team(), request.id, tuple(request.approvers))
        return self.services.acting(request.account, actor)

    def run_once(
        self, request_id: str, steps: Sequence[PlannedStep], do: Callable[[Any], None]
    ) -> RunResult:
        """Run ``steps`` (wave by wave, in order) through the request's journal, each done
        when ``do`` returns: a re-run after a crash (a recovered request or scheduled job runs
        again) skips every step that finished."""

        def one(step: Any) -> str:
            do(step)
            return "done"

        return run_journaled(self.services.store, request_id, steps, one, self.services.aws.map)

    def progress(self, request: Request, text: str) -> None:
        self.refresh(self.services.approvals.note(request.id, progress=text).request)

    def note(self, request_id: str, note: Note, **facts: Any) -> None:
        """Add a note to the request's message (and ``facts`` to its outcome); announce it."""
        updated = self.services.approvals.note(request_id, line=note.to_dict(), **facts).request
        self.refresh(updated)
        self.audit(updated, note)

    def refusal(
        self,
        command: str,
        target: str,
        requester: str,
        channel: str,
        account: str,
        *,
        fresh: bool = False,
        read: User | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> Denied | None:
        """Why a request of ``command`` about ``target``, asked by ``requester`` in
        ``channel``, may not act in ``account``: the channel rule, the requester's permission
        (any one the operation declares) and the target's protection (:meth:`Services.protection`,
        on ``read`` or ``tags`` when given). The one check for every operation, when a
        request opens (:meth:`ask`) and again right before it runs (:meth:`still_allowed`,
        ``fresh``: group members asked of chat again). None: it may.

        A target its plan and its run read anyway (an offboarding's, with everything attached)
        is judged on those reads (:meth:`Services.require_unprotected` when it is planned,
        :meth:`Services.protection` right before its first change): reading it here too
        would be one more round trip."""
        rules = self.services.rules
        gate = self.services.approvals.gate(command)
        try:
            rules.require_channel(channel)
            if not rules.allowed_any(requester, gate.permissions, fresh=fresh, account=account):
                named = " or ".join(f"`{p}`" for p in gate.permissions)
                raise Denied(f"The requester does not hold the {named} permission this needs.")
            if gate.target is not Target.USER_READ_BY_RUN:
                self.services.require_unprotected(command, target, read, tags)
        except Denied as denied:
            return denied
        return None

    def still_allowed(self, request: Request) -> str | None:
        """Why the request may no longer run, checked right before acting: :meth:`refusal`
        (the channel rule, the requester's permission and the target's protection may all
        have changed since it was approved), and each approver's permission. None when it
        may run; raises :class:`SlackUnavailable` when Slack did not say who is in a group
        these rules need (the run waits: neither "may no longer" nor "may")."""
        rules, account = self.services.rules, request.account
        refused = self.refusal(
            request.command,
            request.target,
            request.requester,
            request.channel,
            account,
            fresh=True,
        )
        if refused is not None:
            return self.notify.explain(refused)
        if request.required:
            valid = [
                a
                for a in request.approvers
                if rules.allowed(a, "approve", fresh=True, account=account)
            ]
            if len(valid) < request.required:
                return "an approver no longer has the `approve` permission; approve it again."
        return None
