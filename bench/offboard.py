"""Offboarding a user with ~30 attachments, every AWS call delayed 50 ms.

Baseline: seed 004's script, as written: each kind listed and each item removed one call after
another, then DeleteUser. Bot: its executor as it runs after approval: inventory (every list at
once, then every detail at once), every removal at once in one wave, then DeleteUser, each step
journaled. Same process, same faithful moto, same latency proxy, same user built the same way.
Goal: bot at least 8x faster.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.access.journal import run_journaled
from bot.access.store import SqliteStore
from bot.iam.aws import Aws
from bot.iam.inventory import removal_steps, run_step, take_inventory
from bot.sandbox.aws import FaithfulAws
from bot.sandbox.seed import attach_everything

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


def serve_sandbox() -> None:
    """Child process: the sandbox AWS, so its CPU does not compete with the bot's for one GIL
    (real AWS does its work elsewhere). Stdin commands: ``seed NAME``, ``delay S``, ``calls``."""
    with FaithfulAws() as sandbox:
        iam = boto3.client(
            "iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
        print(sandbox.endpoint_url, flush=True)
        for line in sys.stdin:
            command, _, arg = line.strip().partition(" ")
            if command == "seed":
                attach_everything(iam, arg, **SHAPE)
            elif command == "delay":
                sandbox.set_delay(float(arg))
            elif command == "calls":
                print(len(sandbox.calls()), flush=True)
                continue
            print("ok", flush=True)


class Sandbox:
    def __init__(self) -> None:
        self.child = subprocess.Popen(
            [sys.executable, __file__, "--sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.endpoint_url = self.child.stdout.readline().strip()

    def ask(self, command: str) -> str:
        self.child.stdin.write(command + "\n")
        self.child.stdin.flush()
        return self.child.stdout.readline().strip()

    def close(self) -> None:
        self.child.stdin.close()
        self.child.wait(10)


def measure(
    sandbox: Sandbox, iam, aws: Aws, store: SqliteStore, delay: float, tag: str
) -> dict[str, float]:
    times = {}
    for name, user in (("seed 004, sequential", f"seq-{tag}"), ("bot executor", f"bot-{tag}")):
        sandbox.ask(f"seed {user}")
        before = int(sandbox.ask("calls"))
        sandbox.ask(f"delay {delay}")
        if name == "bot executor":
            elapsed, count = timed(lambda u=user: bot_executor(aws, store, u))
        else:
            elapsed, count = timed(lambda u=user: seed_004(iam, u))
        sandbox.ask("delay 0")
        calls = int(sandbox.ask("calls")) - before - 1  # less the "delay 0" round itself: none
        assert user not in {u["UserName"] for u in iam.list_users()["Users"]}, f"{name} left {user}"
        times[name] = elapsed
        unit = "steps" if name == "bot executor" else "calls"
        print(f"  {name:22s} {elapsed:6.2f} s  {calls + 1:3d} AWS calls  ({count} {unit})")
    ratio = times["seed 004, sequential"] / times["bot executor"]
    print(f"  ratio: {ratio:.1f}x")
    return {"ratio": ratio, **times}


def main() -> None:
    sandbox = Sandbox()
    try:
        os.environ.update(
            AWS_ENDPOINT_URL=sandbox.endpoint_url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
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
    finally:
        sandbox.close()
    print(
        f"goal >= 8x at {DELAY_S * 1000:.0f} ms:",
        "met" if main_ratio >= 8 else f"NOT met ({main_ratio:.1f}x)",
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--sandbox"]:
        serve_sandbox()
    else:
        main()
