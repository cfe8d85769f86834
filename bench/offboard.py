"""Offboarding a user with ~30 attachments, every AWS call delayed 50 ms.

Baseline: seed 004's script, as written: each kind listed and each item removed one call after
another, then DeleteUser. Bot: its executor as it runs after approval: inventory (every list at
once, then every detail at once), every removal at once in one wave, then DeleteUser, each step
journaled. Same process, same faithful moto, same latency proxy, same user built the same way.
Goal: bot at least 8x faster.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

import boto3

from bot.access.journal import run_journaled
from bot.access.store import SqliteStore
from bot.iam.aws import Aws
from bot.iam.inventory import removal_steps, run_step, take_inventory
from sandbox.harness import point_boto3_at
from sandbox.process import SandboxProcess
from sandbox.seed import attach_everything

DELAY_S = 0.05
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


def bot_executor(aws: Aws, store: SqliteStore, user: str) -> int:
    """What the bot runs once a request is approved (minus the Slack message updates)."""
    steps = removal_steps(take_inventory(aws, user, last_use=False))
    result = run_journaled(store, f"bench-{user}", steps, lambda s: run_step(aws, user, s), aws.map)
    assert result.ok, result.failed
    return len(steps)


def timed(fn) -> tuple[float, int]:
    start = time.perf_counter()
    count = fn()
    return time.perf_counter() - start, count


def measure(
    sandbox: SandboxProcess, iam, aws: Aws, store: SqliteStore, delay: float, tag: str
) -> dict[str, float]:
    times = {}
    for name, user in (("seed 004, sequential", f"seq-{tag}"), ("bot executor", f"bot-{tag}")):
        attach_everything(iam, user, **SHAPE)
        before = sandbox.call_count()
        sandbox.set_delay(delay)
        if name == "bot executor":
            elapsed, count = timed(lambda u=user: bot_executor(aws, store, u))
        else:
            elapsed, count = timed(lambda u=user: seed_004(iam, u))
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
        aws = Aws()
        with tempfile.TemporaryDirectory() as state:
            store = SqliteStore(Path(state) / "bench.sqlite3")
            print("no added latency (the sandbox's own cost per call):")
            measure(sandbox, iam, aws, store, 0.0, "cpu")
            print(f"{DELAY_S * 1000:.0f} ms per AWS call:")
            main_ratio = measure(sandbox, iam, aws, store, DELAY_S, "50ms")["ratio"]
            print("200 ms per AWS call (latency dominating, as against real IAM from afar):")
            measure(sandbox, iam, aws, store, 0.2, "200ms")
    print(
        f"goal >= 8x at {DELAY_S * 1000:.0f} ms:",
        "met" if main_ratio >= 8 else f"NOT met ({main_ratio:.1f}x)",
    )


if __name__ == "__main__":
    main()
