"""Offboarding a user with ~30 attachments, and the largest user IAM's quotas allow, every AWS
call delayed 0, 50 and 200 ms.

Baseline: seed 004's script, as written: each kind listed and each item removed one call after
another, then DeleteUser. Bot: the real runner and executor, on a request opened and approved
through the real approvals (not timed), from the moment it starts running: the checks before
acting, the re-inventory against the approved plan, the snapshot, every removal at once in one
wave, then DeleteUser, each step journaled. Only the Slack side is silent. Same faithful moto,
same latency proxy, same user built the same way; the sandbox runs in a process of its own
(sandbox/process.py), so its CPU per call is AWS's, not the bot's.

The bot's round trips are counted where it calls AWS: each call made by the thread running the
plan, and each fan-out as one round trip per pool-full (they should not grow with the number
of attachments); the seed's are its calls. Goals: the bot at least 8x faster at 50 ms on the
~30-attachment user, and at 200 ms within 10% of the round-trip ratio (the seed's calls / the
bot's round trips).
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import boto3

from bench.rig import bot_ops
from bot.access.approvals import State
from bot.access.store import SqliteStore
from bot.iam.aws import Aws
from bot.ops import offboard
from bot.ops.context import Ops
from bot.ops.runner import Runner
from bot.process_settings import DEFAULT_WORKERS
from sandbox.harness import point_boto3_at
from sandbox.process import SandboxProcess
from sandbox.seed import attach_everything, enable_virtual_mfa

DELAYS_S = (0.0, 0.05, 0.2)
GOAL_DELAY_S = 0.05
CONFIG = "permissions: {offboard: ['*'], approve: ['*']}\n"
# attach_everything adds a login profile, one virtual MFA device, a boundary and tags.
SHAPES = {
    "~30 attachments": (  # 2+1+2+3+2+1+4+8+8 = 31 attachments
        {
            "keys": 2,
            "certificates": 2,
            "ssh_keys": 3,
            "service_credentials": 2,
            "inline_policies": 4,
            "managed_policies": 8,
            "groups": 8,
        },
        0,
    ),
    "largest IAM allows": (  # 2+1+2+5+2+8+8+20+10 = 58 attachments
        {
            "keys": 2,  # IAM's quotas per user: 2 access keys,
            "certificates": 2,  # 2 signing certificates, 5 SSH keys,
            "ssh_keys": 5,  # 2 service-specific credentials per service,
            "service_credentials": 2,  # 8 MFA devices, 20 managed policies (raised
            "inline_policies": 8,  # from 10), 10 groups; inline policies: 2,048
            "managed_policies": 20,  # characters in all, these 8 take ~1,300
            "groups": 10,
        },
        7,  # more virtual MFA devices: 8 in all
    ),
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


class CountedAws(Aws):
    """The gateway, counting the round trips of the plan's thread (the benchmark's main one)."""

    def __init__(self, workers: int = DEFAULT_WORKERS) -> None:
        super().__init__(max_workers=workers)
        self.workers = workers
        self.rounds = 0
        self._fanning_out = False

    def _planning(self) -> bool:
        return threading.current_thread() is threading.main_thread() and not self._fanning_out

    def call(self, service: str, operation: str, **params):
        self.rounds += self._planning()
        return super().call(service, operation, **params)

    def pages(self, service: str, operation: str, result_key: str, **params):
        for page in super().pages(service, operation, result_key, **params):
            self.rounds += self._planning()
            yield page

    def map(self, fn, items):
        items = list(items)
        if not self._planning():
            return super().map(fn, items)
        self.rounds += math.ceil(len(items) / self.workers)
        self._fanning_out = True
        try:
            return super().map(fn, items)
        finally:
            self._fanning_out = False


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


def build(iam, user: str, shape: str) -> None:
    attachments, more_mfa = SHAPES[shape]
    attach_everything(iam, user, **attachments)
    for n in range(more_mfa):
        enable_virtual_mfa(iam, user, f"{user}-token-{n}")


def measure(
    sandbox: SandboxProcess, iam, aws: CountedAws, ops: Ops, shape: str, delay: float, tag: str
) -> dict[str, float]:
    """Seconds and AWS calls of the seed and the bot, one user each, both built as ``shape``."""
    times = {}
    for name, user in (("seed", f"seq-{tag}"), ("bot", f"bot-{tag}")):
        build(iam, user, shape)
        work = bot_executor(ops, user) if name == "bot" else partial(seed_004, iam, user)
        before, rounds_before = sandbox.call_count(), aws.rounds
        sandbox.set_delay(delay)
        elapsed, count = timed(work)
        sandbox.set_delay(0)
        calls = sandbox.call_count() - before
        rounds = aws.rounds - rounds_before if name == "bot" else calls
        assert user not in {u["UserName"] for u in iam.list_users()["Users"]}, f"{name} left {user}"
        times[name], times[f"{name} calls"], times[f"{name} rounds"] = elapsed, calls, rounds
        label = "seed 004, sequential" if name == "seed" else f"bot executor ({count} steps)"
        print(f"    {label:28s} {elapsed:6.2f} s  {calls:3d} AWS calls in {rounds:2d} round trips")
    print(f"    ratio: {times['seed'] / times['bot']:.1f}x")
    return times


def main() -> None:
    results: dict[tuple[str, float], dict[str, float]] = {}
    with SandboxProcess() as sandbox:
        point_boto3_at(sandbox.endpoint_url)
        iam = boto3.client("iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
        with tempfile.TemporaryDirectory() as state:
            aws = CountedAws()
            ops = bot_ops(aws, SqliteStore(Path(state) / "bench.sqlite3"), CONFIG)
            build(iam, "warm-up", "~30 attachments")  # connections, first-call imports
            bot_executor(ops, "warm-up")()
            for n, shape in enumerate(SHAPES):
                for delay in DELAYS_S:
                    print(f"{shape}, {delay * 1000:.0f} ms per AWS call:")
                    tag = f"{n}-{delay * 1000:.0f}ms"
                    results[shape, delay] = measure(sandbox, iam, aws, ops, shape, delay, tag)
    print("round trips (the seed's are its calls):")
    rt_ratio = {}
    for shape in SHAPES:
        slow = results[shape, 0.2]
        rt_ratio[shape] = slow["seed rounds"] / slow["bot rounds"]
        print(
            f"  {shape}: seed {slow['seed rounds']:.0f}, bot {slow['bot rounds']:.0f}; "
            f"round-trip ratio {rt_ratio[shape]:.1f}x, measured at 200 ms "
            f"{slow['seed'] / slow['bot']:.1f}x"
        )
    main_ratio = (lambda r: r["seed"] / r["bot"])(results["~30 attachments", GOAL_DELAY_S])
    print(
        f"goal >= 8x at {GOAL_DELAY_S * 1000:.0f} ms (~30 attachments):",
        "met" if main_ratio >= 8 else f"NOT met ({main_ratio:.1f}x)",
    )
    for shape in SHAPES:
        slow = results[shape, 0.2]
        at_200 = slow["seed"] / slow["bot"]
        within = at_200 >= 0.9 * rt_ratio[shape]
        print(
            f"goal at 200 ms within 10% of the round-trip ratio ({shape}):",
            "met" if within else f"NOT met ({at_200:.1f}x of {rt_ratio[shape]:.1f}x)",
        )


if __name__ == "__main__":
    main()
