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

The CPU the bot spends turning one account's 500-user report into findings (as the audit of
several accounts does, each marked with its account) is printed first: the accounts' reports
are read at once, but their findings are made one account after another on one interpreter
lock, so that CPU, not the round trips, bounds the ``--org`` figure at 5 ms per call.

Then ``/iam whois <key>`` of a key in one member account, through the bot's code path (the
command's scope, ``scope.in_key_account``, ``keys.key_owner``), with 1, 10 and 50 member
accounts configured: STS names the key's account, so the calls must not grow with them.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from moto.core import DEFAULT_ACCOUNT_ID

from bench.rig import bot_ops, seed_users, timed
from bot.access.store import SqliteStore
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
REPEATS = 20  # reports turned into findings per CPU measurement (the best of 5 is printed)
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
    aws.client("sts")  # a ready client of its own, as a running bot has: not the audit's work
    return bot_ops(
        aws,
        store,
        "permissions: {audit: ['*'], keys: ['*']}\n"
        f"accounts:\n  role_name: {ROLE}\n  default: a00\n  list:\n{listed}",
    )


Found = set[tuple[str, str, str, int]]


def org_audit(ops: Ops) -> Found:
    """``/iam audit --org``: the command's scope (the default account, the person asking)."""
    services = ops.services
    accounts = services.accounts.listing().accounts
    with scope.acting(ops, ASKER, "", None, "audit"):
        result = audit.audit_accounts(
            services, ops.reports, accounts, Actor(ASKER, services.team()), None
        )
    return {(f.account.id if f.account else "", f.user, f.kind, f.days) for f in result.found}


def one_after_another(ops: Ops) -> Found:
    """``/iam audit --account X`` for each account in turn."""
    found: Found = set()
    for account in ops.services.accounts.listing().accounts:
        with scope.acting(ops, ASKER, "", account.id, "audit"):
            mine = audit.audit_here(ops.services, ops.reports, None).found
        found |= {(account.id, f.user, f.kind, f.days) for f in mine}
    return found


def whois(ops: Ops, key_id: str) -> str | None:
    """``/iam whois <key>``: the command's scope, then the key's own account."""
    with (
        scope.acting(ops, ASKER, "", None, "keys"),
        scope.in_key_account(ops, key_id, "keys"),
    ):
        return keys.key_owner(ops.services.aws, key_id).user_name


def warmed(ops: Ops) -> Ops:
    """``ops`` with a role session (and its IAM client) already held in every account, as a
    running bot keeps each for 13 minutes: building one costs ~0.5 s of CPU (botocore loads
    its endpoint and service data again for every new boto3 Session)."""
    for account in ops.services.accounts.listing().accounts:
        with scope.acting(ops, ASKER, "", account.id, "audit"):
            ops.services.aws.client("iam")
    return ops


def report_cpu(ops: Ops) -> float:
    """Milliseconds of CPU to turn one account's credential report into its findings, as
    ``audit_accounts`` does for each account (the report fetched once, not timed)."""
    where = ops.services.accounts.listing().accounts[0]
    with scope.acting(ops, ASKER, "", where.id, "audit"):
        report = ops.reports.get()
    config, at = ops.services.config, datetime.now(UTC)

    def turn() -> None:
        audit_rules.findings(
            report,
            rotation_age_days=config.rotation_age_days,
            unused_days=config.unused_days,
            at=at,
            account=where,
        )

    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(REPEATS):
            turn()
        best = min(best, (time.process_time() - start) / REPEATS)
    print(f"one report ({len(report.rows)} rows) into findings: {best * 1000:.1f} ms of CPU")
    return best


def compare(
    sandbox: SandboxProcess, sessions: str, delay_s: float, new_ops: Callable[[], Ops]
) -> None:
    """Both paths, each on a gateway of its own made by ``new_ops`` (not timed)."""
    serial, org = new_ops(), new_ops()
    print(f"role sessions {sessions}, {delay_s * 1000:.0f} ms per call:")
    serially = f"  one account after another (x{ACCOUNTS})"
    slow, slow_calls, a = timed(
        sandbox, delay_s, serially, "findings", lambda: one_after_another(serial)
    )
    fast, fast_calls, b = timed(
        sandbox, delay_s, "  /iam audit --org", "findings", lambda: org_audit(org)
    )
    assert a == b, f"the two paths disagree on {len(a ^ b)} findings"
    met = "met" if slow / fast >= 8 else "NOT met"
    print(
        f"  --org {slow / fast:.1f}x faster ({slow_calls} vs {fast_calls} calls; {ACCOUNTS} "
        f"accounts x {USERS} users, {delay_s * 1000:.0f} ms per call, the same {len(a)} "
        f"findings) (goal 8x: {met})"
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


def main() -> None:
    with SandboxProcess() as sandbox, tempfile.TemporaryDirectory() as tmp:
        point_boto3_at(sandbox.endpoint_url)
        start = time.perf_counter()
        members = sandbox.run(seed, [f"member{n:02d}" for n in range(max(WHOIS_ACCOUNTS))])
        audited = members[:ACCOUNTS]
        print(f"seeded {ACCOUNTS} accounts x {USERS} users in {time.perf_counter() - start:.0f} s")
        store = SqliteStore(Path(tmp) / "state.sqlite3")
        report_cpu(org_ops(audited, store))
        for delay_s in DELAYS_S:
            compare(sandbox, "assumed by the audit", delay_s, lambda: org_ops(audited, store))
            compare(sandbox, "already held", delay_s, lambda: warmed(org_ops(audited, store)))
        whois_calls(sandbox, members, store)


if __name__ == "__main__":
    main()
