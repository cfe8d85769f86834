"""How the Slack room shows what a workflow left in plain words: each note kind with its mark,
a secret linked to its console page, a person's words quoted and made inert, an offer's tone
as a button style; and requests stored before, in Slack's words, shown as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.access.approvals import Request, State
from bot.iam.secrets import console_link
from bot.ops.followups import FollowUp, Offer, Tone
from bot.ops.outcome import Note, NoteKind, offering
from bot.slack.messages.approval import request_reply
from bot.slack.messages.common import slack_date
from bot.slack.messages.notes import note_line

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-bot/dave/access-key-AbC123"
WHEN = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "mark"),
    [
        (NoteKind.DONE, ":white_check_mark: "),
        (NoteKind.REFUSED, ":no_entry: "),
        (NoteKind.FAILED, ":x: "),
        (NoteKind.HELD, ":warning: "),
        (NoteKind.WARNING, ":warning: "),
        (NoteKind.LATER, ":hourglass: "),
        (NoteKind.DELETED, ":wastebasket: "),
        (NoteKind.KEPT, ":lock: "),
        (NoteKind.INFO, ""),
    ],
)
def test_each_kind_of_note_has_its_mark(kind: NoteKind, mark: str) -> None:
    assert note_line(Note(kind, "Old key `AKIA1` deactivated.")) == (
        f"{mark}Old key `AKIA1` deactivated."
    )


def test_a_secret_is_linked_and_a_persons_words_are_quoted_inert() -> None:
    secret = Note(NoteKind.SECRET, "New key `AKIA2`; its secret is in Secrets Manager:", ARN)
    assert note_line(secret) == (
        f":key: New key `AKIA2`; its secret is in Secrets Manager: <{console_link(ARN)}|{ARN}>"
    )
    kept = Note(NoteKind.KEPT, "Kept inactive: access key `AKIA1`.", said="<!here>\n:x: Done")
    assert note_line(kept) == ":lock: Kept inactive: access key `AKIA1`.\n>&lt;!here&gt;\n>:x: Done"


def test_the_person_and_moment_a_note_names_are_a_mention_and_a_local_time() -> None:
    later = Note(
        NoteKind.LATER, "{who} gave the old key 1 hour more, until {at}.", who="U0BOB", at=WHEN
    )
    assert note_line(later) == (
        f":hourglass: <@U0BOB> gave the old key 1 hour more, until {slack_date(WHEN)}."
    )


def _done(outcome: dict) -> Request:
    return Request(
        id="r1", command="rotate", target="dave", requester="U0ALICE", reason="due",
        plan={"key": "AKIA1", "keys_before": ["AKIA1"], "steps": []}, created=WHEN,
        expires=WHEN + timedelta(hours=1), required=0, state=State.DONE, outcome=outcome,
    )  # fmt: skip


def _buttons(request: Request) -> list[dict]:
    blocks = request_reply(request).as_kwargs()["blocks"]
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_an_offer_is_a_button_styled_by_its_tone() -> None:
    offers = offering(
        Offer("Delete key", FollowUp.DELETE_KEY, "dave AKIA1", Tone.DANGER),
        Offer("Rotate now", FollowUp.ROTATE_NOW, "dave AKIA1", Tone.PRIMARY),
        Offer("Extend 24 hours", FollowUp.EXTEND, "job1"),
    )
    shown = [(b["text"]["text"], b["action_id"], b.get("style")) for b in _buttons(_done(offers))]
    assert shown == [
        ("Delete key", "follow-up:delete-key", "danger"),
        ("Rotate now", "follow-up:rotate", "primary"),
        ("Extend 24 hours", "rotation:extend", None),
    ]


def test_a_request_stored_in_slacks_words_shows_as_it_was() -> None:
    old = {
        "summary": "New key for dave delivered.",
        "notes": [f":key: New key `AKIA2`; its secret is in Secrets Manager: <{ARN}|{ARN}>"],
        "buttons": [
            {
                "label": "Delete key",
                "action_id": "follow-up:delete-key",
                "value": "dave AKIA1",
                "style": "danger",
            },
        ],
    }
    request = _done(old)
    text = str(request_reply(request).as_kwargs()["blocks"])
    assert old["notes"][0] in text
    [button] = _buttons(request)
    assert (button["action_id"], button["style"]) == ("follow-up:delete-key", "danger")
