"""Offboarding a user with ~30 attachments, every AWS call delayed 50 ms.

Baseline: seed 004's script, as written: each kind listed and each item removed one call after
another, then DeleteUser. Bot: the real runner and executor, on a request opened and approved
through the real approvals (not timed), from the moment it starts running: the checks before
acting, the re-inventory against the approved plan, the snapshot, every removal at once in one
wave, then DeleteUser, each step journaled. Only the Slack side is silent. Same process, same
faithful moto, same latency proxy, same user built the same way. Goal: bot at least 8x faster.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

import boto3

from bot.access.accounts import AccountBook
from bot.access.approvals import Approvals, Request, State, utc_now
from bot.access.identity import IdentityMap
from bot.access.rules import Rules
from bot.access.schedule import Scheduler
from bot.access.store import SqliteStore
from bot.config import parse_config
from bot.iam.audit import CredentialReports
from bot.iam.aws import Aws
from bot.ops import offboard
from bot.ops.context import Ops, Services
from bot.ops.runner import Runner
from sandbox.harness import point_boto3_at
from sandbox.process import SandboxProcess
from sandbox.seed import attach_everything

DELAY_S = 0.05
CONFIG = "permissions: {offboard: ['*'], approve: ['*']}\n"
SHAPE = {  # 2+1+2+3+2+1+4+8+8 = 31 attachments, plus the boundary and tags
    "keys": 2,
    "certificates": 2,
    "ssh_keys": 3,
    "service_credentials": 2,
    "inline_policies": 4,
    "managed_policies": 8,
    "groups": 8,
}


def seed_004(iam, user: str) -> int:
    """The seed's Python script: sequential, first page only, no confirmation. Returns calls."""
    calls = 0

    def call(fn, **kwargs):
        nonlocal calls
        calls += 1
        return fn(**kwargs)

    with contextlib.suppress(iam.exceptions.NoSuchEntityException):
        call(iam.delete_login_profile, UserName=user)
    for key in call(iam.list_access_keys, UserName=user)["AccessKeyMetadata"]:
        call(iam.delete_access_key, UserName=user, AccessKeyId=key["AccessKeyId"])
    for cert in call(iam.list_signing_certificates, UserName=user)["Certificates"]:
        call(iam.delete_signing_certificate, UserName=user, CertificateId=cert["CertificateId"])
    for key in call(iam.list_ssh_public_keys, UserName=user)["SSHPublicKeys"]:
        call(iam.delete_ssh_public_key, UserName=user, SSHPublicKeyId=key["SSHPublicKeyId"])
    creds = call(iam.list_service_specific_credentials, UserName=user)["ServiceSpecificCredentials"]
    for cred in creds:
        call(iam.delete_service_specific_credential, UserName=user,
             ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"])  # fmt: skip
    for device in call(iam.list_mfa_devices, UserName=user)["MFADevices"]:
        call(iam.deactivate_mfa_device, UserName=user, SerialNumber=device["SerialNumber"])
        call(iam.delete_virtual_mfa_device, SerialNumber=device["SerialNumber"])
    for name in call(iam.list_user_policies, UserName=user)["PolicyNames"]:
        call(iam.delete_user_policy, UserName=user, PolicyName=name)
    for policy in call(iam.list_attached_user_policies, UserName=user)["AttachedPolicies"]:
        call(iam.detach_user_policy, UserName=user, PolicyArn=policy["PolicyArn"])
    for group in call(iam.list_groups_for_user, UserName=user)["Groups"]:
        call(iam.remove_user_from_group, GroupName=group["GroupName"], UserName=user)
    call(iam.delete_user, UserName=user)
    return calls


class Silent:
    """A notifier that tells nobody: the benchmark measures the work, not Slack."""

    def opened(self, request: Request) -> None: ...

    def show(self, request: Request) -> None: ...

    def announce(self, request: Request, event: str) -> None: ...

    def dm(self, user_id: str, text: str) -> None: ...

    def person(self, user_id: str) -> str:
        return user_id

    def link(self, url: str, text: str) -> str:
        return text

    def explain(self, refusal: Exception) -> str:
        return str(refusal)

    def remind(self, request: Request) -> None: ...

    def when(self, moment: datetime) -> str:
        return f"{moment:%Y-%m-%d %H:%M} UTC"


def bot_ops(aws: Aws, store: SqliteStore) -> Ops:
    config = parse_config(CONFIG)
    rules = Rules(config, lambda group: frozenset())
    services = Services(
        config=config,
        aws=aws,
        rules=rules,
        identity=IdentityMap(aws, config.identity, lambda user: None),
        store=store,
        approvals=Approvals(store, rules, config, utc_now),
        accounts=AccountBook(config.accounts, aws, store, utc_now),
    )
    return Ops(services, Scheduler(store, utc_now), Silent(), CredentialReports(aws))


def bot_executor(ops: Ops, user: str) -> Callable[[], int]:
    """Open and approve the request (not timed); the returned run is what is timed."""
    request = offboard.open_request(
        ops, user, "benchmark", disable=False, requester="U0ASKER", channel="C0BENCH"
    )
    approvals = ops.services.approvals
    approvals.approve(request.id, "U0APPROVER")
    running = approvals.start(request.id, "U0APPROVER").request

    def run() -> int:
        Runner(ops, submit=lambda *_: None).execute(running)
        done = approvals.get(request.id)
        assert done is not None and done.state is State.DONE, done and done.outcome
        return len(done.plan["steps"])

    return run


def timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    count = fn()
    return time.perf_counter() - start, count


def measure(sandbox: SandboxProcess, iam, ops: Ops, delay: float, tag: str) -> dict[str, float]:
    times = {}
    for name, user in (("seed 004, sequential", f"seq-{tag}"), ("bot executor", f"bot-{tag}")):
        attach_everything(iam, user, **SHAPE)
        work = bot_executor(ops, user) if name == "bot executor" else partial(seed_004, iam, user)
        before = sandbox.call_count()
        sandbox.set_delay(delay)
        elapsed, count = timed(work)
        sandbox.set_delay(0)
        calls = sandbox.call_count() - before
        assert user not in {u["UserName"] for u in iam.list_users()["Users"]}, f"{name} left {user}"
        times[name] = elapsed
        unit = "steps" if name == "bot executor" else "calls"
        print(f"  {name:22s} {elapsed:6.2f} s  {calls:3d} AWS calls  ({count} {unit})")
    ratio = times["seed 004, sequential"] / times["bot executor"]
    print(f"  ratio: {ratio:.1f}x")
    return {"ratio": ratio, **times}


def main() -> None:
    with SandboxProcess() as sandbox:
        point_boto3_at(sandbox.endpoint_url)
        iam = boto3.client("iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
        with tempfile.TemporaryDirectory() as state:
            ops = bot_ops(Aws(), SqliteStore(Path(state) / "bench.sqlite3"))
            print("no added latency (the sandbox's own cost per call):")
            measure(sandbox, iam, ops, 0.0, "cpu")
            print(f"{DELAY_S * 1000:.0f} ms per AWS call:")
            main_ratio = measure(sandbox, iam, ops, DELAY_S, "50ms")["ratio"]
            print("200 ms per AWS call (latency dominating, as against real IAM from afar):")
            measure(sandbox, iam, ops, 0.2, "200ms")
    print(
        f"goal >= 8x at {DELAY_S * 1000:.0f} ms:",
        "met" if main_ratio >= 8 else f"NOT met ({main_ratio:.1f}x)",
    )


if __name__ == "__main__":
    main()
