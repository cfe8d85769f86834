"""Onboarding, offboarding and enabling run directly: the notes they leave are kinds and plain
words (a secret by its ARN, a person's words apart), the DM names people through the notifier
only, and AWS is as the run says."""

from __future__ import annotations

import pytest

from bot.access.approvals import State
from bot.ops import deactivate, enable, offboard, onboard
from bot.ops.context import UserError
from bot.ops.onboard import OnboardArgs
from bot.ops.outcome import Note, NoteKind, Outcome
from tests.fixtures.aws import key_statuses
from tests.fixtures.slack import ONBOARD


def test_onboarding_notes_each_secret_and_tells_the_person_in_plain_words(direct, iam) -> None:
    world = direct(ONBOARD)
    world.aws.add_aws_managed_policy("IAMUserChangePassword")
    spec = OnboardArgs("erin", (), console=True, access_key=True, for_user="U0BOB")

    opened = onboard.open_request(world.ops, spec, requester="U0ALICE", channel="C0OPS")
    done = world.approve_and_run(opened)

    assert done.state is State.DONE, Outcome.of(done).summary
    [key] = key_statuses(iam, "erin")
    assert iam.get_login_profile(UserName="erin")["LoginProfile"]["UserName"] == "erin"
    outcome = Outcome.of(done)
    password, access = outcome.password_secret_arn, outcome.key_secret_arn
    assert outcome.notes == (
        Note(
            NoteKind.SECRET,
            "Console password (change required at first sign-in) in Secrets Manager:",
            secret_arn=password,
        ),
        Note(
            NoteKind.SECRET,
            f"Access key `{key}`; its secret is in Secrets Manager:",
            secret_arn=access,
        ),
    )
    [(to, text)] = world.notifier.dms
    assert to == "U0BOB"
    assert text.startswith("Your IAM user erin is ready (requested by @U0ALICE).\n")


def test_offboarding_points_to_history_in_a_plain_note(direct, iam) -> None:
    world = direct()
    iam.create_user(UserName="dave")
    iam.create_access_key(UserName="dave")

    opened = offboard.open_request(
        world.ops, "dave", "left", disable=False, requester="U0ALICE", channel="C0OPS"
    )
    done = world.approve_and_run(opened)

    assert done.state is State.DONE
    assert "dave" not in {u["UserName"] for u in iam.list_users()["Users"]}
    assert Outcome.of(done).notes == (
        Note(NoteKind.INFO, "`/iam history dave` shows what was there."),
    )


def test_enabling_keeps_a_reported_key_inactive_and_says_who_reported_it(direct, iam) -> None:
    world = direct()
    iam.create_user(UserName="dave")
    iam.create_login_profile(UserName="dave", Password="Old-Passw0rd!")
    key = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]
    disable = offboard.open_request(
        world.ops, "dave", "on leave", disable=True, requester="U0ALICE", channel="C0OPS"
    )
    assert world.approve_and_run(disable).state is State.DONE
    with pytest.raises(UserError, match="already inactive"):
        deactivate.open_request(
            world.ops, key, "seen in a <public> gist", requester="U0BOB", channel="C0OPS"
        )

    opened = enable.open_request(world.ops, "dave", "back", requester="U0ALICE", channel="C0OPS")
    [kept] = Outcome.of(opened).notes
    assert kept.kind is NoteKind.KEPT
    assert kept.text == f"Kept inactive: access key `{key}`, reported leaked by {{who}} ({{at}})"
    assert kept.who == "U0BOB" and kept.at is not None
    assert kept.said == "seen in a <public> gist"  # the chat layer quotes it, made inert

    done = world.approve_and_run(opened)
    assert done.state is State.DONE and key_statuses(iam, "dave") == {key: "Inactive"}
    password = Outcome.of(done).password_secret_arn
    assert Outcome.of(done).notes[-1] == Note(
        NoteKind.SECRET,
        "New console password (change required at first sign-in) in Secrets Manager:",
        secret_arn=password,
    )
