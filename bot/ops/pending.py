"""What is open for a person, as requests: what waits on them, what they asked for that is not
over, and the latest requests they may see. `/iam pending` and the Home tab show these; the
queries decide only who may see what, never how it looks.

Each shows only what the person may already act on or see through commands (requests they
opened; pending ones they may decide, by `approve` in the request's own account; held
rotations, by `rotate` there; running grants, by `grant` there; the latest requests they
could have asked for), so it tells nobody anything new.
"""

from __future__ import annotations

from bot.access.approvals import Approvals, Request, State
from bot.operator_rules import Config
from bot.ops import grant
from bot.ops.context import Ops, Services

# How many of the most recently changed requests the latest requests are picked from: enough
# to find the few shown among those others opened in DMs or other accounts.
RECENT = 200


def waiting_on(ops: Ops, user: str) -> list[Request]:
    """What waits on ``user``: rotations held for a decision they may take (`rotate` in the
    rotation's account), then pending requests they may approve there and have not yet:
    never their own, nor one about them (they may not decide it), nor one its requester
    confirms (an approver could, but it waits on its requester)."""
    rules, approvals = ops.services.rules, ops.services.approvals
    pending = [
        r
        for r in _live(approvals, State.PENDING)
        if r.required
        and r.requester != user
        and user not in r.approvers
        and rules.allowed(user, "approve", account=r.account)
        and not approvals.is_about(r, user)
    ]
    return [r for r in held(ops) if rules.allowed(user, "rotate", account=r.account)] + pending


def held(ops: Ops) -> list[Request]:
    """Finished requests whose scheduled step is held for a person's decision (a rotation
    whose old key is still in use), newest first."""
    found = ops.services.approvals.some(job.request_id for job in ops.scheduler.held())
    return sorted(found, key=lambda r: r.created, reverse=True)


def opened_by(ops: Ops, user: str) -> list[Request]:
    """``user``'s requests that are not over: waiting, approved, running, or failed (which an
    approver may retry)."""
    states = (State.PENDING, State.APPROVED, State.RUNNING, State.FAILED)
    return [r for r in _live(ops.services.approvals, *states) if r.requester == user]


def running_grants(ops: Ops, user: str) -> list[Request]:
    """Group memberships granted for a while and not over, that ``user`` may end or extend
    (`grant` in the grant's account), the soonest end first."""
    rules = ops.services.rules
    return [r for r in grant.active_grants(ops) if rules.allowed(user, "grant", account=r.account)]


def _live(approvals: Approvals, *states: State) -> list[Request]:
    """Requests in ``states``, newest first; a pending one past its expiry is over already."""
    found = approvals.in_state(*states)
    alive = [r for r in found if r.state is not State.PENDING or approvals.is_open(r)]
    return sorted(alive, key=lambda r: r.created, reverse=True)


def latest_for(services: Services, user: str, shown: int) -> list[Request]:
    """The ``shown`` newest requests ``user`` may see, among the :data:`RECENT` most recently
    changed: reading that window, never the whole history."""
    window = services.approvals.latest(RECENT)
    seen = [r for r in window if _may_see(services, user, r)]
    return sorted(seen, key=lambda r: r.created, reverse=True)[:shown]


def _may_see(services: Services, user: str, request: Request) -> bool:
    """Whether ``request`` is among someone's latest requests: their own; one they may decide
    (`approve` in its account); or one they could have asked for there (its command's
    permission), posted where /iam works for everyone (not in another person's DM)."""
    rules, account = services.rules, request.account
    if request.requester == user or rules.allowed(user, "approve", account=account):
        return True
    permissions = services.approvals.gate(request.command).permissions
    could_ask = rules.allowed_any(user, permissions, account=account)
    return could_ask and _shared(services.config, request.channel)


def _shared(config: Config, channel: str) -> bool:
    """A channel people share (public or private), where /iam works: not a DM, which a
    request opened from Home is posted in when /iam works anywhere."""
    return channel[:1] in ("C", "G") and (not config.channels or channel in config.channels)
