"""The workflows' :class:`~bot.ops.context.Notifier` in Slack: every message through the outbox.

A request's message is posted once and then updated in place, rendered from the request as it
stands when the outbox delivers it; DMs and ephemeral answers to clicks are their own lanes.
Nothing here waits for Slack.

The audit channel holds one thread per request: its parent says who asked for what and links to
the request's message; every decision and the outcome is a reply in that thread. Audit lines
share the audit channel's lane, so a parent always goes out before its replies.

Once a request that changed someone's access is done, its owner (the chat user linked to the IAM
user) is told by DM: a step of its own in the outbox, retried apart, so finding the owner (an IAM
read) or Slack failing never holds up the work, and told once.

A request Slack refuses to post where it was asked (a private channel the bot is not in) is
seen by nobody: it is withdrawn at once, and whoever opened it is told, through the response URL
of the command or click that opened it (which works in such a channel), how to ask again.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.access.approvals import Approvals, Request, State
from bot.access.store import Record
from bot.operator_rules import Config
from bot.ops.outcome import Note
from bot.ops.owner import Owner
from bot.slack.messages import approval as msg
from bot.slack.messages import owner
from bot.slack.messages.common import (
    Reply,
    channel_link,
    labelled_link,
    mention,
    plain,
    slack_date,
)
from bot.slack.messages.notes import note_line
from bot.slack.outbox import SENT, Outbox
from bot.slack.replies import UNSEEN, Linking, unseen_words, words_for

log = logging.getLogger(__name__)

_THREAD_KIND = "audit-thread"
_GONE = {"message_not_found", "channel_not_found"}  # a permalink that can never be had
_UNSEEN = {"not_in_channel", "channel_not_found"}  # a channel the bot may not post in
# The response URL of the command or click being handled, if it has one (see ``answering``).
_ANSWER_URL: ContextVar[str] = ContextVar("answer_url", default="")


class SlackNotifier:
    def __init__(
        self, config: Config, approvals: Approvals, client: WebClient, outbox: Outbox
    ) -> None:
        self._config = config
        self._approvals = approvals
        self._store = outbox.store
        self.client = client
        self.outbox = outbox
        outbox.handlers["message"] = self._deliver_message
        outbox.handlers["audit"] = self._deliver_audit
        outbox.handlers["owner"] = self._deliver_owner_note
        self._owner_of: Callable[[Request], Owner] = lambda _: Owner()
        # Told of every change shown: a workflow step waits for its request's end, an
        # incident's card for a request on its key to finish.
        self.on_shown: list[Callable[[Request], None]] = []

    def tell_owners(self, owner_of: Callable[[Request], Owner]) -> None:
        """Tell owners about changes to their access, finding each with ``owner_of`` (the
        workflows' identity rule, read in the request's account)."""
        self._owner_of = owner_of

    @contextlib.contextmanager
    def answering(self, response_url: str | None) -> Iterator[None]:
        """Requests opened inside are answered through ``response_url`` (the command's or
        click's) if Slack will not show them in their channel."""
        token = _ANSWER_URL.set(response_url or "")
        try:
            yield
        finally:
            _ANSWER_URL.reset(token)

    def opened(self, request: Request) -> None:
        """Show the request and start its audit thread: the parent is the "requested by" line."""
        self._show(request, answer_url=_ANSWER_URL.get())
        self._audit(request.id, {})

    def show(self, request: Request) -> None:
        self._show(request)
        self._changed(request)
        if request.state is State.DONE and request.command in owner.TOLD:
            lane, told = f"owner:{request.id}", f"{request.id}/owner"
            self.outbox.add("owner", lane, {"request_id": request.id}, id=told)

    def _changed(self, request: Request) -> None:
        for hook in self.on_shown:
            hook(request)

    def reading(self, arns: list[str], user: str, ask: str) -> str:
        return owner.reading_secrets(arns, user=user, ask=ask, kms=self._config.rotation.kms_key_id)

    def _show(self, request: Request, **extra: str) -> None:
        payload = {"request_id": request.id, **{k: v for k, v in extra.items() if v}}
        self.outbox.add("message", _message_lane(request.id), payload, request_id=request.id)

    def announce(self, request: Request, event: str | Note) -> None:
        line = note_line(event) if isinstance(event, Note) else event
        self._audit(request.id, {"text": msg.audit_line(request, line)})

    def dm(self, user_id: str, text: str) -> None:
        self.outbox.dm(user_id, text)

    def person(self, user_id: str) -> str:
        return mention(user_id)

    def link(self, url: str, text: str) -> str:
        return labelled_link(url, text)

    def explain(self, refusal: Exception) -> str:
        return words_for(refusal)

    def when(self, moment: datetime) -> str:
        return slack_date(moment)

    def remind(self, request: Request) -> None:
        """In the request message's thread, naming (and so pinging) who can still decide it."""
        text = (
            f":alarm_clock: Still waiting for {msg.waiting_for(request)}; "
            f"this request expires {slack_date(request.expires)}."
        )
        thread = {"thread_ts": request.message_ts} if request.message_ts else {}
        self.outbox.post(request.channel, {"text": text, **thread}, request_id=request.id)

    def reply(self, response_url: str, reply: Reply) -> None:
        """An answer only whoever typed or clicked sees, through that input's response URL; a
        reply that points at a request's message gets its link here (see :class:`Linking`)."""
        reply = self._linked(reply)
        answer = {"response_type": "ephemeral", "replace_original": False, **reply.as_kwargs()}
        self.outbox.respond(response_url, answer)

    def dm_reply(self, user_id: str, reply: Reply) -> None:
        """An answer to a click that has no response URL (the App Home tab), by DM, with the
        same link a reply would get."""
        self.dm(user_id, self._linked(reply).text)

    def _linked(self, reply: Reply) -> Reply:
        if not isinstance(reply, Linking) or reply.request is None:
            return reply
        # Slack refusing, or not answering at all: no link then, the reply names the channel.
        with contextlib.suppress(SlackApiError, OSError):
            if link := permalink(self.client, reply.request):
                return reply.with_link(link)
        return reply

    def _audit(self, request_id: str, line: dict[str, Any]) -> None:
        if channel := self._config.audit_channel:
            payload = {"channel": channel, "request_id": request_id, **line}
            self.outbox.add("audit", f"channel:{channel}", payload, request_id=request_id)

    def _deliver_audit(self, payload: dict[str, Any]) -> None:
        """The outbox's handler: the request's audit thread (posted first if it has none yet),
        then the line as a reply in it."""
        channel = payload["channel"]
        thread_ts = self._audit_thread(channel, payload["request_id"])
        if "text" in payload:
            self.client.chat_postMessage(channel=channel, text=payload["text"], thread_ts=thread_ts)

    def _audit_thread(self, channel: str, request_id: str) -> str | None:
        """The ts of the request's thread in ``channel``, posting its parent when there is none.
        Two replicas may both post one: the store keeps the first and the other is deleted."""
        record_id = f"{request_id}/{_THREAD_KIND}"
        if (known := self._store.get(record_id)) is not None:
            return known.data["ts"]
        request = self._request_shown(request_id)
        if request is None:
            return None  # a request the store no longer has: its lines stand on their own
        answer = self.client.chat_postMessage(
            channel=channel, text=self._parent_line(request), unfurl_links=False
        )
        ts = answer["ts"]
        record = Record(record_id, _THREAD_KIND, SENT, {"channel": channel, "ts": ts})
        if self._store.put_if_version(record) is not None:
            return ts
        self.client.chat_delete(channel=channel, ts=ts)  # another replica's parent came first
        first = self._store.get(record_id)
        return first.data["ts"] if first else None

    def _request_shown(self, request_id: str) -> Request | None:
        """The request, with its message out if that can be had now: the request's own lane
        runs on another worker, and the parent links to the message."""
        request = self._approvals.get(request_id)
        if request is not None and not request.message_ts:
            self.outbox.drain(_message_lane(request_id))
            request = self._approvals.get(request_id)
        return request

    def _parent_line(self, request: Request) -> str:
        """Who asked for what and, when the request's message is out, a link to it (on a line
        of its own, never inside a quoted reason)."""
        asked = msg.with_reason(f"requested by {self.person(request.requester)}", request.reason)
        line = msg.audit_line(request, asked)
        if link := permalink(self.client, request):
            return f"{line}\n{self.link(link, 'request message')}"
        return line

    def _deliver_owner_note(self, payload: dict[str, Any]) -> None:
        """The outbox's handler: find the owner of what the request changed and DM them, unless
        they asked for it themselves (they saw it done) or nobody is linked."""
        request = self._approvals.get(payload["request_id"])
        if request is None:
            return
        found = self._owner_of(request)
        person = found.chat_user or self.with_email(found.email)
        if person in (None, request.requester):
            return
        kms = self._config.rotation.kms_key_id
        self.outbox.dm(person, owner.access_changed(request, kms), request_id=request.id)

    def with_email(self, email: str | None) -> str | None:
        """The chat user whose profile has ``email``; None when nobody has."""
        if not email:
            return None
        try:
            return self.client.users_lookupByEmail(email=email)["user"]["id"]
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                return None
            raise

    def _deliver_message(self, payload: dict[str, Any]) -> None:
        """The outbox's handler: the request's message as the request stands now."""
        request = self._approvals.get(payload["request_id"])
        if request is None:
            return
        reply = msg.request_reply(request).as_kwargs()
        if request.message_ts:
            self.client.chat_update(channel=request.channel, ts=request.message_ts, **reply)
            return
        try:
            answer = self.client.chat_postMessage(channel=request.channel, **reply)
        except SlackApiError as exc:
            if exc.response.get("error") not in _UNSEEN:
                raise
            self._unseen(request, payload.get("answer_url", ""))
            return
        self._approvals.set_message(request.id, answer["channel"], answer["ts"])

    def _unseen(self, request: Request, answer_url: str) -> None:
        """Slack will not post ``request`` in its channel: nobody can see or decide it there,
        so it is withdrawn now (not left to expire, holding its subject), and its requester is
        told how to ask again, where they asked when the response URL is known, else by DM."""
        withdrawn = self._approvals.withdraw(request.id, f"{UNSEEN} ({request.channel})")
        if withdrawn.refusal:  # decided meanwhile from /iam pending or Home: it was seen
            log.warning("request %s could not be shown: %s", request.id, withdrawn.refusal)
            return
        event = f"cancelled by iam-bot: {UNSEEN} ({channel_link(request.channel)})"
        self.announce(withdrawn.request, event)
        self._changed(withdrawn.request)
        text = unseen_words(request, self._bot_user(), self._elsewhere(request.channel))
        if answer_url:
            self.reply(answer_url, plain(text))
        else:
            self.dm(request.requester, text)

    def _bot_user(self) -> str | None:
        """The bot's own Slack user, to name in "invite me"; None when Slack does not say."""
        with contextlib.suppress(SlackApiError, OSError):
            return self.client.auth_test().get("user_id")
        return None

    def _elsewhere(self, channel: str) -> str | None:
        """Where to ask instead: another channel /iam works in, else the audit channel."""
        allowed = [c for c in self._config.channels if c != channel]
        return allowed[0] if allowed else self._config.audit_channel


def permalink(client: WebClient, request: Request) -> str | None:
    """The link to ``request``'s message: None before it is posted, or when Slack says it is
    gone for good; Slack's other failures raise (an outbox delivery retries them, a reply
    leaves the link out)."""
    if not request.message_ts:
        return None
    try:
        answer = client.chat_getPermalink(channel=request.channel, message_ts=request.message_ts)
    except SlackApiError as exc:
        if exc.response.get("error") in _GONE:
            return None
        raise
    return answer.get("permalink")


def _message_lane(request_id: str) -> str:
    return f"request:{request_id}"
