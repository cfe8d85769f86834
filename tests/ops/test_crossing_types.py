"""The typed plans, outcome and snapshot keep the stored format: what they write is what was
written before they existed, and they read records (and snapshots) written before. Offers and
notes are stored in plain words now, and their older shape, in Slack's words, still reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.iam.inventory import Inventory
from bot.iam.models import (
    AccessKey,
    Group,
    InlinePolicy,
    KeyStatus,
    LoginProfile,
    ManagedPolicy,
    MfaDevice,
    ServiceCredential,
    SigningCertificate,
    SshPublicKey,
    User,
)
from bot.iam.planning import enable_steps
from bot.iam.snapshot import Snapshot, snapshot
from bot.ops.account_alias import AliasChange, AliasPlan
from bot.ops.enable import EnablePlan
from bot.ops.followups import FollowUp, KeyRef, Offer, Tone, offer
from bot.ops.keys import KeyPlan
from bot.ops.offboard import Mode, OffboardPlan
from bot.ops.onboard import OnboardPlan
from bot.ops.outcome import Note, NoteKind, Outcome, offering
from bot.ops.plan import Plan
from bot.ops.rotate import RotatePlan

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
STEP = {"action": "delete user", "target": "alice", "wave": 2, "note": "tags go with it"}
KEY_STEP = {"action": "delete access key", "target": "AKIAOLD", "note": "cannot be undone"}

# Plans as the workflows stored them before the plans were typed.
STORED_PLANS: list[tuple[type[Plan], dict[str, Any]]] = [
    (OffboardPlan, {"mode": "disable", "steps": [STEP]}),
    (OffboardPlan, {"mode": "delete", "steps": [STEP], "unseen": [STEP]}),
    (EnablePlan, {"disable": "abc123", "steps": [STEP]}),
    (RotatePlan, {"key": "AKIAOLD", "keys_before": ["AKIAOLD"], "steps": [KEY_STEP]}),
    (KeyPlan, {"key": "AKIAOLD", "steps": [KEY_STEP]}),
    (KeyPlan, {"key": "AKIAOLD", "steps": [KEY_STEP], "origin": "rot1"}),
    (AliasPlan, {"verb": "set", "steps": [KEY_STEP]}),
    (
        OnboardPlan,
        {
            "user": "carol",
            "tags": {"slack-user-id": "U0CAROL", "created-by": "U0REQ"},
            "groups": ["developers"],
            "console": True,
            "access_key": False,
            "for": "U0CAROL",
            "steps": [STEP],
        },
    ),
]


@pytest.mark.parametrize(("plan", "stored"), STORED_PLANS)
def test_a_plan_writes_back_what_it_read(plan: type[Plan], stored: dict[str, Any]) -> None:
    assert plan.from_dict(stored).to_dict() == stored


@pytest.mark.parametrize(("plan", "stored"), STORED_PLANS)
def test_any_plan_shows_its_steps(plan: type[Plan], stored: dict[str, Any]) -> None:
    shown = Plan.from_dict(stored)
    assert list(shown.steps) == stored["steps"]
    assert list(shown.unseen) == stored.get("unseen", [])


def test_plans_read_the_oldest_records() -> None:
    assert OffboardPlan.from_dict({"steps": [STEP]}).mode is Mode.DELETE  # before disabling
    assert KeyPlan.from_dict({"key": "AKIAOLD", "steps": []}).origin == ""
    assert AliasPlan.from_dict({"verb": "delete", "steps": []}).change is AliasChange.DELETE


def test_a_plan_is_built_with_its_fields_named() -> None:
    plan = RotatePlan(key="AKIAOLD", keys_before=("AKIAOLD",), steps=(KEY_STEP,))
    assert RotatePlan.from_dict(plan.to_dict()) == plan


def test_an_offer_is_stored_in_plain_words() -> None:
    made = offer("Delete key", FollowUp.DELETE_KEY, KeyRef("alice", "AKIAOLD"), Tone.DANGER)
    stored = {
        "label": "Delete key",
        "kind": "follow-up:delete-key",
        "value": "alice AKIAOLD",
        "tone": "danger",
    }
    assert offering(made) == {"buttons": [stored]}
    assert Offer.from_dict(stored) == made
    assert offering() == {"buttons": []}


@pytest.mark.parametrize(
    ("style", "tone"), [("danger", Tone.DANGER), ("primary", Tone.PRIMARY), (None, Tone.PLAIN)]
)
def test_an_offer_stored_as_a_slack_button_still_reads(style: str | None, tone: Tone) -> None:
    """Requests finished before offers spoke plain words kept the button Slack was sent."""
    old = {"label": "Rotate now", "action_id": "follow-up:rotate", "value": "bob AKIA1"}
    read = Offer.from_dict({**old, "style": style})
    assert read == Offer("Rotate now", FollowUp.ROTATE_NOW, "bob AKIA1", tone)


def test_a_note_is_stored_in_plain_words_and_an_old_line_still_reads() -> None:
    note = Note(NoteKind.SECRET, "New key `AKIA1`; its secret is in Secrets Manager:", "arn:x")
    stored = {"notes": [":key: a line stored in Slack's words", note.to_dict()]}
    assert note.to_dict() == {
        "kind": "secret",
        "text": "New key `AKIA1`; its secret is in Secrets Manager:",
        "secret_arn": "arn:x",
    }
    assert Outcome.from_dict(stored).notes == (
        Note(NoteKind.OLD, ":key: a line stored in Slack's words"),
        note,
    )


def test_outcome_reads_what_runs_wrote() -> None:
    stored = {
        "notes": [":key: one", ":hourglass: two"],
        "progress": "2/3 steps done.",
        "summary": "New key for dave delivered.",
        "buttons": offering(offer("Extend 60 min", FollowUp.EXTEND, "job1"))["buttons"],
        "new_key": "AKIANEW",
        "new_key_created": WHEN.isoformat(),
        "secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:k",
        "password_secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:p",
        "console_url": "https://acme.signin.aws.amazon.com/console",
        "steps_run": 3,  # a run's statistics stay in the record; nobody reads them typed
    }
    outcome = Outcome.from_dict(stored)
    assert outcome.notes == (Note(NoteKind.OLD, ":key: one"), Note(NoteKind.OLD, ":hourglass: two"))
    assert outcome.offers[0].kind is FollowUp.EXTEND and outcome.offers[0].value == "job1"
    assert outcome.offers[0].tone is Tone.PLAIN
    assert outcome.new_key_created == WHEN
    assert (outcome.summary, outcome.progress) == (stored["summary"], stored["progress"])
    assert outcome.secret_arn == stored["secret_arn"] and outcome.key_secret_arn == ""


def test_an_empty_outcome_reads_as_nothing_yet() -> None:
    assert Outcome.from_dict({}) == Outcome()


def _inventory() -> Inventory:
    user = User("alice", "AIDA1", "arn:aws:iam::1:user/alice", WHEN, tags={"team": "a"})
    return Inventory(
        user=user,
        login_profile=LoginProfile("alice", WHEN, False),
        access_keys=[AccessKey("AKIA1", "alice", KeyStatus.ACTIVE, WHEN)],
        signing_certificates=[SigningCertificate("CERT1", "alice", "Inactive", None)],
        ssh_public_keys=[SshPublicKey("APKA1", "alice", "Active", None)],
        service_credentials=[
            ServiceCredential("ACCA1", "alice", "codecommit", "a", "Active", None)
        ],
        mfa_devices=[MfaDevice("arn:aws:iam::1:mfa/alice", "alice", None)],
        inline_policies=[InlinePolicy("inline", {"Version": "2012-10-17"})],
        attached_policies=[ManagedPolicy("ro", "arn:aws:iam::aws:policy/ReadOnlyAccess")],
        groups=[Group("developers", "arn:aws:iam::1:group/developers")],
    )


STORED_SNAPSHOT = {
    "user": {
        "name": "alice",
        "arn": "arn:aws:iam::1:user/alice",
        "created": WHEN.isoformat(),
        "path": "/",
        "boundary": None,
        "tags": {"team": "a"},
    },
    "login_profile": True,
    "access_keys": [{"id": "AKIA1", "status": "Active"}],
    "signing_certificates": [{"id": "CERT1", "status": "Inactive"}],
    "ssh_public_keys": [{"id": "APKA1", "status": "Active"}],
    "service_credentials": [{"id": "ACCA1", "service": "codecommit", "status": "Active"}],
    "mfa_devices": [{"serial": "arn:aws:iam::1:mfa/alice", "kind": "virtual"}],
    "inline_policies": {"inline": {"Version": "2012-10-17"}},
    "attached_policies": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
    "groups": ["developers"],
}


def test_a_snapshot_is_stored_as_before() -> None:
    assert snapshot(_inventory()).to_dict() == STORED_SNAPSHOT
    assert Snapshot.from_dict(STORED_SNAPSHOT) == snapshot(_inventory())


def test_a_snapshot_from_before_statuses_reactivates_only_keys() -> None:
    """Snapshots older than per-credential statuses listed bare IDs (and service credentials
    without a status): the disables of those days left them active, nothing to undo there."""
    old = {
        **STORED_SNAPSHOT,
        "signing_certificates": ["CERT1"],
        "ssh_public_keys": ["APKA1"],
        "service_credentials": [{"id": "ACCA1", "service": "codecommit"}],
    }
    snap = Snapshot.from_dict(old)
    assert [c.id for c in snap.signing_certificates] == ["CERT1"]
    assert not any(c.active for c in snap.ssh_public_keys + snap.service_credentials)
    inv = _inventory()
    everything_off = Inventory(
        **{
            **inv.__dict__,
            "access_keys": [AccessKey("AKIA1", "alice", KeyStatus.INACTIVE, WHEN)],
            "signing_certificates": [SigningCertificate("CERT1", "alice", "Inactive", None)],
            "ssh_public_keys": [SshPublicKey("APKA1", "alice", "Inactive", None)],
        }
    )
    assert [s.target for s in enable_steps(everything_off, [snap])] == ["AKIA1"]
