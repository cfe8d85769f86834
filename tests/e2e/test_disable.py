"""`/iam offboard --disable` and `/iam enable` end to end: a disable switches off every
credential, a later removal still removes everything, and enable gives back exactly what the
disable took (a new console password through Secrets Manager, never in chat)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.seed import Attached, attach_everything
from tests.fixtures.aws import (
    changes_since,
    iam_password,
    key_statuses,
    stored_secret,
    succeeded_changes,
    user_exists,
)
from tests.fixtures.slack import Bot, current, flatten, leaks, open_request, retry_if_failed

USER = "leaver"


def _disable(bot: Bot) -> None:
    plan = open_request(bot, f"offboard {USER} on leave --disable")
    bot.press(plan, "Approve", user="U0SEC1")
    assert "Done." in flatten(current(bot, plan))


def _credential_statuses(iam) -> dict[str, dict[str, str]]:
    """The status of every credential of the user that has one, by kind, as IAM reports it."""
    return {
        "access keys": key_statuses(iam, USER),
        "signing certificates": {
            c["CertificateId"]: c["Status"]
            for c in iam.list_signing_certificates(UserName=USER)["Certificates"]
        },
        "SSH keys": {
            k["SSHPublicKeyId"]: k["Status"]
            for k in iam.list_ssh_public_keys(UserName=USER)["SSHPublicKeys"]
        },
        "service credentials": {
            c["ServiceSpecificCredentialId"]: c["Status"]
            for c in iam.list_service_specific_credentials(UserName=USER)[
                "ServiceSpecificCredentials"
            ]
        },
    }


def _has_login_profile(iam) -> bool:
    try:
        iam.get_login_profile(UserName=USER)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def _tags(iam) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in iam.list_user_tags(UserName=USER)["Tags"]}


def _leaver(iam) -> Attached:
    """A user with two of every credential that has a status, and one of them already
    inactive before anything happens: a disable must not forget that."""
    made = attach_everything(iam, USER, certificates=2, ssh_keys=2, service_credentials=2)
    iam.update_access_key(UserName=USER, AccessKeyId=made.keys[1], Status="Inactive")
    [_, cert] = iam.list_signing_certificates(UserName=USER)["Certificates"]
    iam.update_signing_certificate(
        UserName=USER, CertificateId=cert["CertificateId"], Status="Inactive"
    )
    [_, ssh] = iam.list_ssh_public_keys(UserName=USER)["SSHPublicKeys"]
    iam.update_ssh_public_key(
        UserName=USER, SSHPublicKeyId=ssh["SSHPublicKeyId"], Status="Inactive"
    )
    [_, cred] = iam.list_service_specific_credentials(UserName=USER)["ServiceSpecificCredentials"]
    iam.update_service_specific_credential(
        UserName=USER,
        ServiceSpecificCredentialId=cred["ServiceSpecificCredentialId"],
        Status="Inactive",
    )
    return made


def test_disable_deactivates_every_credential(bot: Bot, iam) -> None:
    made = _leaver(iam)
    before = _credential_statuses(iam)
    plan = open_request(bot, f"offboard {USER} on leave --disable")
    text = flatten(plan)
    for kind, items in before.items():
        for item, status in items.items():
            assert (item in text) == (status == "Active"), (kind, item, status)
    assert made.mfa_serial in text

    bot.press(plan, "Approve", user="U0SEC1")

    assert "Done." in flatten(current(bot, plan))
    after = _credential_statuses(iam)
    for kind, items in after.items():
        assert items.keys() == before[kind].keys(), kind
        assert set(items.values()) == {"Inactive"}, kind
    assert iam.list_mfa_devices(UserName=USER)["MFADevices"] == []
    assert not _has_login_profile(iam)
    assert "iam-bot:disabled" in _tags(iam)
    assert user_exists(iam, USER)


@pytest.mark.parametrize("word", ["\u2014disable", "--Disable", "-disable", "--disabled"])
def test_a_disable_however_typed_never_deletes_the_user(bot: Bot, iam, aws, word: str) -> None:
    """The em dash macOS and iOS make of `--` is a disable; a mistyped option is refused.
    Either way, pressing whatever is offered leaves the user in IAM."""
    _leaver(iam)
    reply = bot.command(f"offboard {USER} on leave {word}")
    for plan in bot.channel():
        assert f"Offboard IAM user {USER}" not in flatten(plan)
        assert f"Disable IAM user {USER}" in flatten(plan)
        bot.press(plan, "Approve", user="U0SEC1")
        assert "Done." in flatten(current(bot, plan))
    if not bot.channel():
        assert "is not an option of `/iam offboard` (its options: `--disable`," in reply.body
    assert bool(bot.channel()) == (word == "\u2014disable")
    assert user_exists(iam, USER) and aws.count("DeleteUser") == 0


def test_full_offboard_after_disable_removes_the_user_and_the_mfa_device(
    bot: Bot, iam, aws
) -> None:
    made = _leaver(iam)
    _disable(bot)

    full = open_request(bot, f"offboard {USER} left the company")
    bot.press(full, "Approve", user="U0SEC2")

    assert "Done." in flatten(current(bot, full))
    assert not user_exists(iam, USER)
    assert aws.count("DeleteUser") == 1
    # The disable deactivated the device, so IAM no longer lists it for the user; the plan
    # still has to name it, or nobody ever deletes it.
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert made.mfa_serial in flatten(full)


def test_enable_restores_what_the_disable_deactivated(
    bot: Bot, iam, aws, tmp_path: Path, log_output
) -> None:
    made = _leaver(iam)
    before = _credential_statuses(iam)
    _disable(bot)

    plan = open_request(bot, f"enable {USER} back from leave")
    text = flatten(plan)
    assert "Enable IAM user leaver" in text and "back from leave" in text
    assert made.mfa_serial in text and "must enroll it again" in text
    assert "create console password" in text and "reactivate SSH public key" in text
    arranged = len(aws.calls())
    assert _credential_statuses(iam) != before  # nothing before approval
    bot.press(plan, "Approve", user="U0SEC2")

    done = flatten(current(bot, plan))
    assert "Done." in done and "leaver enabled" in done
    assert _credential_statuses(iam) == before
    assert iam.list_mfa_devices(UserName=USER)["MFADevices"] == []  # left to its owner
    profile = iam.get_login_profile(UserName=USER)["LoginProfile"]
    assert profile["PasswordResetRequired"] is True
    assert "iam-bot:disabled" not in _tags(iam)

    secret = stored_secret("iam-bot/leaver/console-password")
    password = secret["Password"]
    assert secret["UserName"] == USER
    assert password == iam_password(aws, USER)  # the stored one opens it
    assert "arn:aws:secretsmanager:" in done and "console-password" in done
    state = tmp_path / "state.sqlite3"
    assert leaks(password, bot=bot, aws=aws, state=state, logs=log_output.getvalue()) == []
    made_calls = changes_since(aws, arranged)
    assert made_calls.count("CreateLoginProfile") == 1
    assert "EnableMFADevice" not in made_calls


def test_enable_after_two_disables_restores_what_the_first_one_saw(bot: Bot, iam) -> None:
    _leaver(iam)
    before = _credential_statuses(iam)
    _disable(bot)
    _disable(bot)  # a second engineer, the user already switched off
    plan = open_request(bot, f"enable {USER} back")
    bot.press(plan, "Approve", user="U0SEC2")
    assert "Done." in flatten(current(bot, plan))
    assert _credential_statuses(iam) == before and _has_login_profile(iam)


def test_enable_without_a_disable_is_refused(bot: Bot, iam, aws) -> None:
    _leaver(iam)
    arranged = len(aws.calls())
    said = bot.said(bot.command(f"enable {USER} please"))
    assert "has not been disabled" in said and "Nothing was changed" in said
    said = bot.said(bot.command("enable ghost please"))
    assert "No IAM user named `ghost`" in said
    assert bot.channel() == []
    assert changes_since(aws, arranged) == []


def test_enable_after_a_full_offboard_is_refused(bot: Bot, iam, aws) -> None:
    _leaver(iam)
    _disable(bot)
    full = open_request(bot, f"offboard {USER} left")
    bot.press(full, "Approve", user="U0SEC2")
    posted = len(bot.channel())
    arranged = len(aws.calls())
    said = bot.said(bot.command(f"enable {USER} came back"))
    assert "was removed by request" in said and "cannot be enabled" in said
    assert len(bot.channel()) == posted
    assert changes_since(aws, arranged) == []


def test_a_second_enable_is_refused(bot: Bot, iam) -> None:
    _leaver(iam)
    _disable(bot)
    plan = open_request(bot, f"enable {USER} back")
    bot.press(plan, "Approve", user="U0SEC1")
    said = bot.said(bot.command(f"enable {USER} again"))
    assert "since it was last enabled" in said


def test_requester_cannot_approve_their_own_enable(bot: Bot, iam) -> None:
    _leaver(iam)
    _disable(bot)
    disabled = _credential_statuses(iam)
    plan = open_request(bot, f"enable {USER} back", user="U0SEC1")
    said = bot.said(bot.press(plan, "Approve", user="U0SEC1"))
    assert "your approval does not count" in said
    assert "You need the `offboard` permission" in bot.said(
        bot.command(f"enable {USER} back", user="U0CAROL")
    )
    assert _credential_statuses(iam) == disabled and not _has_login_profile(iam)


@pytest.mark.parametrize("k", range(1, 9))
def test_enable_fails_kth_change_then_retry(bot: Bot, iam, aws, k: int) -> None:
    """Fail the k-th change of the enable, for every k; Retry finishes and nothing that
    succeeded is done twice."""
    _leaver(iam)
    before = _credential_statuses(iam)
    _disable(bot)
    plan = open_request(bot, f"enable {USER} back")
    arranged = len(aws.calls())
    aws.fail(mutating_only=True, nth=k, code="ServiceFailure", status=500, times=5)
    bot.press(plan, "Approve", user="U0SEC1")
    retry_if_failed(bot, plan)
    assert "Done." in flatten(current(bot, plan))
    assert _credential_statuses(iam) == before and _has_login_profile(iam)
    assert "iam-bot:disabled" not in _tags(iam)
    succeeded = succeeded_changes(aws, arranged, service="iam")
    assert len(succeeded) == len(set(succeeded))
