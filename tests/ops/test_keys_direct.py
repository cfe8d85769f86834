"""Rotation and deactivation run directly: what they leave is a structured outcome (notes by
kind in plain words, follow-ups by kind and tone) and the keys in AWS as they should be."""

from __future__ import annotations

from datetime import timedelta

from bot.access.approvals import State
from bot.ops import deactivate, rotate
from bot.ops.followups import FollowUp, KeyRef, Offer, Tone
from bot.ops.outcome import Note, NoteKind, Outcome
from tests.fixtures.aws import aged_key, key_statuses
from tests.fixtures.slack import CONFIG


def test_a_rotation_notes_its_new_key_and_secret_then_the_old_key_retired(direct, iam) -> None:
    world = direct()  # no grace period: the old key is retired right after delivery
    iam.create_user(UserName="dave")
    old = aged_key(iam, world.aws, "dave", age_days=200, used_days_ago=10)

    opened = rotate.open_request(world.ops, "dave", None, requester="U0ALICE", channel="C0OPS")
    done = world.approve_and_run(opened)

    [new] = set(key_statuses(iam, "dave")) - {old}
    assert key_statuses(iam, "dave") == {old: "Inactive", new: "Active"}
    outcome = Outcome.of(done)
    assert done.state is State.DONE and "iam-bot/dave/access-key" in outcome.secret_arn
    secret, retired = outcome.notes
    assert secret == Note(
        NoteKind.SECRET,
        f"New key `{new}`; its secret is in Secrets Manager:",
        secret_arn=outcome.secret_arn,
    )
    assert retired.kind is NoteKind.DONE
    assert retired.text.startswith(f"Old key `{old}` deactivated; deletion due ")
    assert retired in world.notifier.announced  # the audit thread gets the note itself


def test_a_held_retirement_notes_why_and_offers_its_decisions_by_tone(direct, iam) -> None:
    world = direct()
    iam.create_user(UserName="dave")
    old = aged_key(iam, world.aws, "dave", age_days=200, used_days_ago=0.01)  # minutes ago

    opened = rotate.open_request(world.ops, "dave", None, requester="U0ALICE", channel="C0OPS")
    done = world.approve_and_run(opened)

    assert key_statuses(iam, "dave")[old] == "Active"
    outcome = Outcome.of(done)
    held = outcome.notes[-1]
    assert held.kind is NoteKind.HELD and held.text.endswith(". Held.")
    assert f"Old key `{old}` was used at {{at}} (s3), too close" in held.text
    assert held.at is not None
    [(to, told)] = world.notifier.dms  # the requester, the moment written by the notifier
    assert to == "U0ALICE" and f"was used at {held.at.isoformat()} (s3)" in told
    [job] = world.ops.scheduler.held()
    assert outcome.offers == (
        Offer("Deactivate anyway", FollowUp.DEACTIVATE_ANYWAY, job.id, Tone.DANGER),
        Offer("Extend 24 hours", FollowUp.EXTEND, job.id, Tone.PLAIN),
    )

    rotate.extend(world.ops, job, "U0BOB")
    later = Outcome.of(world.ops.services.approvals.get(opened.id))
    extended = later.notes[-1]
    assert (extended.kind, extended.who) == (NoteKind.LATER, "U0BOB")
    assert extended.text == "{who} gave the old key 24 hours more, until {at}."
    assert extended.at == world.ops.scheduler.get(job.id).due
    assert later.offers == ()


def test_a_deactivation_offers_rotate_and_delete_in_their_tones(direct, iam) -> None:
    world = direct()
    iam.create_user(UserName="dave")
    key = iam.create_access_key(UserName="dave")["AccessKey"]["AccessKeyId"]

    opened = deactivate.open_request(world.ops, key, "leaked", requester="U0ALICE", channel="C0OPS")
    done = world.approve_and_run(opened)

    assert key_statuses(iam, "dave") == {key: "Inactive"}
    ref = KeyRef("dave", key).encode()
    assert Outcome.of(done).summary == f"`{key}` is now inactive."
    assert Outcome.of(done).offers == (
        Offer("Rotate now", FollowUp.ROTATE_NOW, ref, Tone.PRIMARY),
        Offer("Delete key", FollowUp.DELETE_KEY, ref, Tone.DANGER),
    )


def test_a_grace_period_is_waited_on_until_a_moment_kept_as_a_value(direct, iam) -> None:
    world = direct(CONFIG + "rotation: {grace_minutes: 60}\n")
    iam.create_user(UserName="dave")
    old = aged_key(iam, world.aws, "dave", age_days=200, used_days_ago=10)

    opened = rotate.open_request(world.ops, "dave", None, requester="U0ALICE", channel="C0OPS")
    outcome = Outcome.of(world.approve_and_run(opened))

    assert key_statuses(iam, "dave")[old] == "Active"
    assert outcome.waiting == f"Old key `{old}` is checked and deactivated at {{at}}."
    assert outcome.new_key_created is not None
    assert outcome.waiting_until == outcome.new_key_created + timedelta(minutes=60)
    assert outcome.waits_on(lambda at: at.isoformat()).endswith(
        f"deactivated at {outcome.waiting_until.isoformat()}."
    )
