"""A request's notes as Slack shows them: each kind with its mark, the person it names as a
mention and its moment in each reader's own time zone, a delivered secret linked to its console
page, and a person's words quoted below, made inert.

The workflows write notes in plain words (:class:`~bot.ops.outcome.Note`); lines stored before
that are already in Slack's words and are shown as they were.
"""

from __future__ import annotations

from bot.iam.secrets import console_link
from bot.ops.outcome import Note, NoteKind
from bot.slack.messages.common import labelled_link, mention, quoted, slack_date

# Each kind's mark; a new kind without one fails at import.
_MARKS = {
    NoteKind.SECRET: ":key:",
    NoteKind.DONE: ":white_check_mark:",
    NoteKind.REFUSED: ":no_entry:",
    NoteKind.FAILED: ":x:",
    NoteKind.HELD: ":warning:",
    NoteKind.WARNING: ":warning:",
    NoteKind.LATER: ":hourglass:",
    NoteKind.DELETED: ":wastebasket:",
    NoteKind.KEPT: ":lock:",
    NoteKind.INFO: "",
    NoteKind.OLD: "",
}
if missing := set(NoteKind) - set(_MARKS):
    raise TypeError(f"note kinds without a mark: {sorted(missing)}")


def note_line(note: Note) -> str:
    """One note as a line of the request's message (and of its audit thread)."""
    if note.kind is NoteKind.OLD:
        return note.text
    link = labelled_link(console_link(note.secret_arn), note.secret_arn) if note.secret_arn else ""
    line = " ".join(filter(None, (_MARKS[note.kind], note.words(mention, slack_date), link)))
    return f"{line}\n{quoted(note.said)}" if note.said else line
