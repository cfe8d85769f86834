"""An Organization's stale-key audit: 20 accounts of 500 users, 5 and 50 ms per AWS call.

The bot's ``/iam audit --org`` (every account's credential report at once on the gateway's
bounded pool, then the worst ten across them named) against the same audit done the way one
would without it: the bot's own single-account audit (``/iam audit --account X``), one account
after another. Same sandbox, same latency, same run; both must find the same findings. Each
path gets a gateway of its own (no role session cached from the other), once with the role
sessions assumed by the audit itself and once with them already held (a running bot keeps each
13 minutes). The credential reports are built during seeding, as IAM keeps one for four hours
(``bench/audit.py`` measures a build). The sandbox runs in a process of its own
(sandbox/process.py): its CPU per call (moto, the faithful layer) is AWS's work, not the bot's,
and must not take turns with the bot's for one interpreter lock; seeding runs there too.

The CPU the bot spends on one account's path is printed first, step by step (role session,
the report IAM keeps read, the quarantine listing, findings, the worst named): the accounts'
reports are read at once, but that CPU is spent one account after another on one interpreter
lock, so it, not the round trips, bounds the ``--org`` figure at 5 ms per call. Each path's
figure also gives the bot's CPU for it and the most ``--org`` could gain with that CPU per
account (the serial time over 20 times it), and the run the machine's load average (a shared
machine slows both paths' wall time, the ``--org`` one most, since it is the one bound by CPU).

Then ``/iam whois <key>`` of a key in one member account, through the bot's code path (the
command's scope, ``scope.in_key_account``, ``keys.key_owner``), with 1, 10 and 50 member
accounts configured: STS names the key's account, so the calls must not grow with them.
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from moto.core import DEFAULT_ACCOUNT_ID

from bench.rig import bot_ops, seed_users, timed
from bot.access.store import SqliteStore
from bot.iam import account as iam_account
from bot.iam import audit as audit_rules
from bot.iam import keys
from bot.iam.aws import Aws
from bot.iam.sessions import Actor
from bot.ops import audit, scope
from bot.ops.context import Ops
from sandbox.aws import FaithfulAws
from sandbox.harness import point_boto3_at
from sandbox.process import SandboxProcess

ACCOUNTS, USERS = 20, 500
DELAYS_S = (0.005, 0.05)
WHOIS_ACCOUNTS = (1, 10, 50)
ROLE = "iam-bot-action"
ASKER = "U0BENCH"


def seed_account(sandbox: FaithfulAws, account_id: str, seed: int) -> None:
    """An account's users and keys, its role for the bot, and its credential report built
    (through the proxy)."""
    seed_users(sandbox, USERS, seed, account_id)
    sandbox.add_bot_role(account_id, ROLE)
    sandbox.client("iam", account_id, faithful=True).generate_credential_report()


def seed(sandbox: FaithfulAws, names: list[str]) -> list[str]:
    """In the sandbox's process: member accounts ``names``, the first ACCOUNTS seeded (at once);
    their IDs."""
    members = [sandbox.add_account(name) for name in names]
    with ThreadPoolExecutor(max_workers=ACCOUNTS) as pool:
        list(pool.map(lambda n: seed_account(sandbox, members[n], n), range(ACCOUNTS)))
    return members


def leaked_key(sandbox: FaithfulAws, account_id: str) -> str:
    """In the sandbox's process: the bot's role in the management account, and a key of a user
    of ``account_id``."""
    sandbox.add_bot_role(sandbox.accounts()["management"], ROLE)
    owner = sandbox.client("iam", account_id)
    owner.create_user(UserName="leaker")
    return str(owner.create_access_key(UserName="leaker")["AccessKey"]["AccessKeyId"])


def actions_since(sandbox: FaithfulAws, before: int) -> list[str]:
    """In the sandbox's process: the actions of the calls after the first ``before``."""
    return [c.action for c in sandbox.calls()[before:]]


def org_ops(accounts: list[str], store: SqliteStore) -> Ops:
    """The bot's workflows with ``accounts`` listed (the first the default), on a new gateway."""
    listed = "".join(f'    - id: "{a}"\n      name: a{n:02d}\n' for n, a in enumerate(accounts))
    aws = Aws()
    # As a running bot has them after its first calls, not the audit's work: a ready STS
    # client, and IAM's models (its API and its paginators) loaded by botocore, once per
    # process (a new gateway's first paged call scans botocore's data for them: ~65 ms of
    # CPU, and it fell on whichever path came first to a paged call, inside the timing).
    aws.client("sts")
    iam_account.list_account_aliases(aws)
    return bot_ops(
        aws,
        store,
        "permissions: {audit: ['*'], keys: ['*']}\n"
        f"accounts:\n  role_name: {ROLE}\n  default: a00\n  list:\n{listed}",
    )


Found = set[tuple[str, str, str, int]]
R = TypeVar("R")


def org_audit(ops: Ops) -> Found:
    """``/iam audit --org``: the command's scope (the default account, the person asking)."""
    services = ops.services
    accounts = services.accounts.listing().accounts
    with scope.acting(ops, ASKER, "", None, ("audit",)):
        result = audit.audit_accounts(
            services, ops.reports, accounts, Actor(ASKER, services.team()), None
        )
    return {(f.account.id if f.account else "", f.user, f.kind, f.days) for f in result.found}


def one_after_another(ops: Ops) -> Found:
    """``/iam audit --account X`` for each account in turn."""
    found: Found = set()
    for account in ops.services.accounts.listing().accounts:
        with scope.acting(ops, ASKER, "", account.id, ("audit",)):
            mine = audit.audit_here(ops.services, ops.reports, None).found
        found |= {(account.id, f.user, f.kind, f.days) for f in mine}
    return found


def whois(ops: Ops, key_id: str) -> str | None:
    """``/iam whois <key>``: the command's scope, then the key's own account."""
    with (
        scope.acting(ops, ASKER, "", None, ("keys",)),
        scope.in_key_account(ops, key_id, ("keys",)),
    ):
        return keys.key_owner(ops.services.aws, key_id).user_name


def warmed(ops: Ops) -> Ops:
    """``ops`` with a role session (and its IAM client) already held in every account, as a
    running bot keeps each for 13 minutes: building one costs an AssumeRole and about 5 ms of
    CPU (botocore builds a client from the one session's loaded models)."""
    for account in ops.services.accounts.listing().accounts:
        with scope.acting(ops, ASKER, "", account.id, ("audit",)):
            ops.services.aws.client("iam")
    return ops


def _cpu(run: Callable[[], R]) -> tuple[float, R]:
    """Seconds of this process's CPU (every thread: the gateway's pool too) ``run`` took; what
    earlier runs left is collected first, as :func:`bench.rig.timed` does."""
    gc.collect()
    start = time.process_time()
    result = run()
    return time.process_time() - start, result


SESSION = "role session (AssumeRole, IAM client)"
WORST_KEYS = f"ListAccessKeys for the worst {audit.WORST}"


def _path_cpu(ops: Ops) -> dict[str, float]:
    """One account's path, on ``ops``'s new gateway: each step's seconds of CPU."""
    aws, config = ops.services.aws, ops.services.config
    where = ops.services.accounts.listing().accounts[0]
    with scope.acting(ops, ASKER, "", where.id, ("audit",)):
        took = {SESSION: _cpu(lambda: aws.client("iam"))[0]}
        took["GetCredentialReport (the one IAM keeps), CSV read"], report = _cpu(
            lambda: iam_account.stored_credential_report(aws)
        )
        assert report is not None, "seeding builds every account's report"
        took["quarantine (ListPolicies)"] = _cpu(
            lambda: audit_rules.quarantine_findings(aws, where)
        )[0]
        took[f"findings of {len(report.rows)} rows"], found = _cpu(
            lambda: audit_rules.findings(
                report,
                rotation_age_days=config.rotation_age_days,
                unused_days=config.unused_days,
                at=datetime.now(UTC),
                account=where,
            )
        )
        took[WORST_KEYS] = _cpu(lambda: audit_rules.name_keys(aws, found[: audit.WORST]))[0]
    return took


def account_cpu(new_ops: Callable[[], Ops]) -> dict[str, float]:
    """The bot's CPU on one account's path, step by step (the best of 5 for each, each time on
    a new gateway, so the role session is made as an audit not held makes it), printed; and
    what the ``--org`` path spends per account, with role sessions assumed and held. That
    path spends it once per account on one interpreter lock, so it, not the round trips,
    bounds the ``--org`` figure at 5 ms per call: the worst ten's key listing is the single
    account audit's per account, the ``--org`` path's once in all."""
    best: dict[str, float] = {}
    for _ in range(5):
        took = _path_cpu(new_ops())
        best = {step: min(spent, best.get(step, spent)) for step, spent in took.items()}
    steps = ", ".join(f"{step} {spent * 1000:.1f}" for step, spent in best.items())
    org = sum(spent for step, spent in best.items() if step != WORST_KEYS)
    print(
        f"one account's path, ms of the bot's CPU: {steps}; the --org path's per account "
        f"{org * 1000:.1f} with the role session assumed, {(org - best[SESSION]) * 1000:.1f} "
        "with it held"
    )
    return {"assumed by the audit": org, "already held": org - best[SESSION]}


def compare(
    sandbox: SandboxProcess,
    sessions: str,
    delay_s: float,
    new_ops: Callable[[], Ops],
    per_account_cpu: float,
) -> None:
    """Both paths, each on a gateway of its own made by ``new_ops`` (not timed); and the most
    ``--org`` could gain with the bot's CPU as it is: the serial time over the CPU its 20
    accounts take one after another on one interpreter lock (``per_account_cpu`` each)."""
    serial, org = new_ops(), new_ops()
    print(f"role sessions {sessions}, {delay_s * 1000:.0f} ms per call:")
    serially = f"  one account after another (x{ACCOUNTS})"
    slow_cpu, (slow, slow_calls, a) = _cpu(
        lambda: timed(sandbox, delay_s, serially, "findings", lambda: one_after_another(serial))
    )
    fast_cpu, (fast, fast_calls, b) = _cpu(
        lambda: timed(sandbox, delay_s, "  /iam audit --org", "findings", lambda: org_audit(org))
    )
    assert a == b, f"the two paths disagree on {len(a ^ b)} findings"
    met = "met" if slow / fast >= 8 else "NOT met"
    print(
        f"  --org {slow / fast:.1f}x faster ({slow_calls} vs {fast_calls} calls; {ACCOUNTS} "
        f"accounts x {USERS} users, {delay_s * 1000:.0f} ms per call, the same {len(a)} "
        f"findings) (goal 8x: {met}); the bot's CPU {slow_cpu:.2f} s vs {fast_cpu:.2f} s; "
        f"at most {slow / (ACCOUNTS * per_account_cpu):.1f}x with the --org path's CPU as it "
        f"is ({ACCOUNTS} x {per_account_cpu * 1000:.1f} ms)"
    )


def whois_calls(sandbox: SandboxProcess, members: list[str], store: SqliteStore) -> None:
    """The key lives in the first member account; the management account is the default."""
    key = sandbox.run(leaked_key, members[0])
    counts = []
    for n in WHOIS_ACCOUNTS:
        ops = org_ops([DEFAULT_ACCOUNT_ID, *members[:n]], store)
        before = sandbox.call_count()
        assert whois(ops, key) == "leaker"
        made = sandbox.run(actions_since, before)
        counts.append(len(made))
        print(f"whois with {n:2d} member accounts: {counts[-1]} AWS calls ({', '.join(made)})")
    met = "met" if len(set(counts)) == 1 else "NOT met"
    print(f"whois calls with {WHOIS_ACCOUNTS} accounts: {counts} (goal the same: {met})")


def load_average() -> str:
    """The machine's load average over 1, 5 and 15 minutes (Linux), or why not."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> None:
    print(f"load average at the start: {load_average()}")
    with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as tmp:
        point_boto3_at(sandbox.endpoint_url)
        start = time.perf_counter()
        members = sandbox.run(seed, [f"member{n:02d}" for n in range(max(WHOIS_ACCOUNTS))])
        audited = members[:ACCOUNTS]
        print(f"seeded {ACCOUNTS} accounts x {USERS} users in {time.perf_counter() - start:.0f} s")
        store = SqliteStore(Path(tmp) / "state.sqlite3")
        per_account = account_cpu(lambda: org_ops(audited, store))
        for delay_s in DELAYS_S:
            for sessions, new_ops in (
                ("assumed by the audit", lambda: org_ops(audited, store)),
                ("already held", lambda: warmed(org_ops(audited, store))),
            ):
                compare(sandbox, sessions, delay_s, new_ops, per_account[sessions])
        whois_calls(sandbox, members, store)
    print(f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
