"""The Slack-side peers: the fake Web API / response URLs, and the signed request sender.

The fake is driven by the real clients the bot uses (slack_sdk's ``WebClient`` and
``WebhookClient``, and a real Bolt app), so what passes here is what the bot meets. The sender is
checked against an echo server and against Bolt's own signature verification.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from sandbox.slack_api import RESPONSE_URL_USES, ApiCall, FakeSlack, Message
from sandbox.slack_requests import SlackSender

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
USERS = {
    "U0ALICE": {"name": "alice", "email": "alice@example.com"},
    "U0BOB": {"name": "bob", "email": "bob@example.com"},
}
GROUPS = {"S0ONCALL": ["U0ALICE", "U0BOB"]}
TS = re.compile(r"^\d{10}\.\d{6}$")


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(label: str, action_id: str, value: str = "") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }


PLAN = [
    section("Remove *leaver*?", block_id="plan"),
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [button("Approve", "approve", "req-1"), button("Deny", "deny", "req-1")],
    },
    section("Or look first", block_id="more", accessory=button("Details", "details", "req-1")),
]


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(users=USERS, groups=GROUPS) as slack:
        yield slack


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.api_url)


def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()
    return raised.value.response["error"]


# --- Web API -----------------------------------------------------------------------------------


def test_posts_and_updates_show_as_people_see_them(fake: FakeSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="C0OPS", text="plan", blocks=PLAN)
    second = client.chat_postMessage(channel="C0OPS", text="second", thread_ts=first["ts"])
    assert first["channel"] == "C0OPS" and first["message"]["blocks"] == PLAN
    assert TS.match(first["ts"]) and float(second["ts"]) > float(first["ts"])

    client.chat_update(channel="C0OPS", ts=first["ts"], text="plan, approved")
    shown = fake.messages("C0OPS")
    assert [m.text for m in shown] == ["plan, approved", "second"]
    assert shown[0].blocks == PLAN  # Slack keeps the blocks when an update brings none
    assert shown[1].thread_ts == first["ts"]
    client.chat_update(channel="C0OPS", ts=first["ts"], text="done", blocks=[])
    assert fake.messages("C0OPS")[0].blocks == []
    assert fake.messages("C0OTHER") == []

    (post, _, _, _) = fake.calls()
    assert post == ApiCall("chat.postMessage", post.args, "xoxb-test")
    assert post.args["blocks"] == PLAN


def test_form_posts_have_their_json_fields_parsed(fake: FakeSlack, client: WebClient) -> None:
    client.api_call(
        "chat.postMessage", data={"channel": "C0OPS", "text": "t", "blocks": json.dumps(PLAN)}
    )
    (call,) = fake.calls("chat.postMessage")
    assert call.args["blocks"] == PLAN and fake.messages()[0].blocks == PLAN
    assert call.token == "xoxb-test"


@pytest.mark.filterwarnings("ignore::UserWarning")  # slack_sdk warns of the missing text
def test_update_and_delete_reach_only_existing_channel_messages(
    fake: FakeSlack, client: WebClient
) -> None:
    posted = client.chat_postMessage(channel="C0OPS", text="hello")
    assert error_of(lambda: client.chat_update(channel="C0OPS", ts="1.000100", text="x")) == (
        "message_not_found"
    )
    whisper = client.chat_postEphemeral(channel="C0OPS", user="U0ALICE", text="psst")
    assert TS.match(whisper["message_ts"])
    # Ephemeral messages cannot be updated or deleted through the Web API.
    assert error_of(
        lambda: client.chat_update(channel="C0OPS", ts=whisper["message_ts"], text="x")
    ) == ("message_not_found")
    (shown,) = fake.messages(seen_by="U0BOB")
    assert shown.text == "hello"
    assert [m.text for m in fake.messages(seen_by="U0ALICE")] == ["hello", "psst"]
    assert fake.messages()[1] == Message(
        "C0OPS", whisper["message_ts"], "psst", [], ephemeral=True, user="U0ALICE"
    )

    client.chat_delete(channel="C0OPS", ts=posted["ts"])
    assert [m.text for m in fake.messages()] == ["psst"]
    assert error_of(lambda: client.chat_delete(channel="C0OPS", ts=posted["ts"])) == (
        "message_not_found"
    )
    assert error_of(lambda: client.chat_postMessage(channel="C0OPS")) == "no_text"


def test_permalinks_of_posted_messages(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0OPS", text="hello")
    link = client.chat_getPermalink(channel="C0OPS", message_ts=posted["ts"])["permalink"]
    assert link == f"https://sandbox.slack.com/archives/C0OPS/p{posted['ts'].replace('.', '')}"
    assert error_of(lambda: client.chat_getPermalink(channel="C0OPS", message_ts="1.2")) == (
        "message_not_found"
    )


def test_directory_users_groups_and_dms(fake: FakeSlack, client: WebClient) -> None:
    alice = client.users_info(user="U0ALICE")["user"]
    assert alice["name"] == "alice" and alice["profile"]["email"] == "alice@example.com"
    assert error_of(lambda: client.users_info(user="U0GHOST")) == "user_not_found"

    assert client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U0ALICE", "U0BOB"]
    assert error_of(lambda: client.usergroups_users_list(usergroup="S0NONE")) == ("no_such_subteam")

    dm = client.conversations_open(users="U0ALICE")["channel"]["id"]
    assert dm.startswith("D") and dm == client.conversations_open(users="U0ALICE")["channel"]["id"]
    assert dm != client.conversations_open(users="U0BOB")["channel"]["id"]
    assert error_of(lambda: client.conversations_open(users="U0GHOST")) == "user_not_found"
    # A post to a user ID lands in the app's DM with them, as in Slack.
    assert client.chat_postMessage(channel="U0ALICE", text="hi")["channel"] == dm
    assert [m.text for m in fake.messages(dm)] == ["hi"]


def test_auth_and_unknown_methods(fake: FakeSlack, client: WebClient) -> None:
    me = client.auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == ("T0TEAM", "U0IAMBOT", "B0IAMBOT")
    assert me["url"].startswith("https://")
    anonymous = WebClient(base_url=fake.api_url)
    assert error_of(lambda: anonymous.chat_postMessage(channel="C0OPS", text="x")) == "not_authed"
    forged = WebClient(token="not-a-token", base_url=fake.api_url)
    assert error_of(forged.auth_test) == "invalid_auth"
    assert error_of(lambda: client.api_call("admin.nothing")) == "unknown_method"
    assert [(c.method, c.error) for c in fake.calls()][-3:] == [
        ("chat.postMessage", "not_authed"),
        ("auth.test", "invalid_auth"),
        ("admin.nothing", "unknown_method"),
    ]
    assert fake.messages() == []


def test_fail_answers_like_slack_then_recovers(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage")
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0OPS", text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "0"
    assert client.chat_postMessage(channel="C0OPS", text="second try")["ok"]

    fake.fail("users.info", error="internal_error", times=2)
    assert error_of(lambda: client.users_info(user="U0ALICE")) == "internal_error"
    assert error_of(lambda: client.users_info(user="U0ALICE")) == "internal_error"
    assert client.users_info(user="U0ALICE")["ok"]

    # Retry-After: 0 lets slack_sdk's own rate-limit handler retry at once.
    fake.fail("chat.postMessage")
    patient = WebClient(
        token="xoxb-test", base_url=fake.api_url, retry_handlers=[RateLimitErrorRetryHandler()]
    )
    assert patient.chat_postMessage(channel="C0OPS", text="third")["ok"]
    assert [c.error for c in fake.calls("chat.postMessage")] == [
        "ratelimited",
        None,
        "ratelimited",
        None,
    ]
    assert [m.text for m in fake.messages()] == ["second try", "third"]


def test_files_upload_v2_round_trip(fake: FakeSlack, client: WebClient) -> None:
    dm = client.conversations_open(users="U0ALICE")["channel"]["id"]
    done = client.files_upload_v2(
        channel=dm,
        content="user,key\ndave,AKIA1\n",
        filename="audit.csv",
        title="IAM audit",
        initial_comment="The full list",
    )
    (stored,) = fake.files()
    assert done["file"]["id"] == stored["id"]
    assert stored["content"] == b"user,key\ndave,AKIA1\n"
    assert (stored["title"], stored["filename"], stored["channel"]) == (
        "IAM audit",
        "audit.csv",
        dm,
    )
    (shared,) = fake.messages(dm)
    assert shared.text == "The full list" and shared.files[0]["id"] == stored["id"]
    # Completing an upload whose bytes never arrived fails, as in Slack.
    assert error_of(lambda: client.files_completeUploadExternal(files=[{"id": "F404"}])) == (
        "file_not_found"
    )


def test_modals_are_stored_and_updated(fake: FakeSlack, client: WebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "deny",
        "title": {"type": "plain_text", "text": "Deny"},
        "blocks": [section("Why?")],
    }
    opened = client.views_open(trigger_id="1.T0TEAM.x", view=view)["view"]
    assert opened["id"].startswith("V") and opened["callback_id"] == "deny"
    assert error_of(lambda: client.views_open(trigger_id="", view=view)) == "invalid_trigger_id"
    client.views_update(view_id=opened["id"], view={**view, "blocks": [section("Thanks")]})
    (stored,) = fake.views()
    assert stored["blocks"] == [section("Thanks")] and stored["id"] == opened["id"]
    assert error_of(lambda: client.views_update(view_id="V404", view=view)) == "not_found"
    pushed = client.views_push(trigger_id="2.T0TEAM.x", view=view)["view"]
    assert [v["id"] for v in fake.views()] == [opened["id"], pushed["id"]]


def test_block_kit_limits_are_refused(fake: FakeSlack, client: WebClient) -> None:
    too_many = [section(f"line {i}") for i in range(51)]
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0OPS", text="x", blocks=too_many)
    assert raised.value.response["error"] == "invalid_blocks"
    assert "51 blocks" in raised.value.response["errors"][0]
    long_button = [{"type": "actions", "elements": [button("x" * 76, "a")]}]
    assert error_of(
        lambda: client.chat_postMessage(channel="C0OPS", text="x", blocks=long_button)
    ) == ("invalid_blocks")
    twice = [section("a", block_id="b"), section("b", block_id="b")]
    assert error_of(lambda: client.chat_postMessage(channel="C0OPS", text="x", blocks=twice)) == (
        "invalid_blocks"
    )
    assert fake.messages() == []
    assert client.chat_postMessage(channel="C0OPS", text="x", blocks=too_many[:50])["ok"]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "t"}, "blocks": too_many}
    assert client.views_open(trigger_id="1.x", view=modal)["ok"]  # modals may hold 100


@pytest.mark.parametrize(
    ("blocks", "problem"),
    [
        (
            [
                {
                    "type": "actions",
                    "elements": [button("Delete A", "del", "A"), button("Delete B", "del", "B")],
                }
            ],
            "duplicate action_id 'del'",
        ),
        ([section("")], "at least 1 character"),
        ([{"type": "section"}], "needs text or fields"),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "plain_text"),
        ([{"type": "actions", "elements": []}], "1 to 25 allowed"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}], "1 to 10"),
        ([{"type": "actions", "elements": [{**button("x", "a"), "style": "red"}]}], "style"),
        ([{"type": "carousel"}], "Block Kit type"),
    ],
)
def test_what_slack_refuses_in_blocks_is_refused(
    fake: FakeSlack, client: WebClient, blocks: list, problem: str
) -> None:
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="C0OPS", text="x", blocks=blocks)
    assert raised.value.response["error"] == "invalid_blocks"
    assert problem in " ".join(raised.value.response["errors"])
    hook = WebhookClient(fake.response_url("k1", "C0OPS", user="U0ALICE"))
    answer = hook.send(text="x", blocks=blocks)
    assert answer.status_code == 400 and problem in answer.body
    assert fake.messages() == []
    # Two buttons of one action in different blocks are fine, as in Slack.
    apart = [{"type": "actions", "elements": [button("Delete A", "del", "A")]}] * 2
    assert client.chat_postMessage(channel="C0OPS", text="x", blocks=apart)["ok"]


def test_modal_titles_and_metadata_have_limits(client: WebClient) -> None:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": []}
    assert error_of(lambda: client.views_open(trigger_id="1.x", view=view)) == "invalid_blocks"
    view = {**view, "title": {"type": "plain_text", "text": "Deny"}, "private_metadata": "m" * 3001}
    assert error_of(lambda: client.views_open(trigger_id="1.x", view=view)) == "invalid_blocks"


def test_an_ack_slack_would_refuse_fails_the_sender(fake: FakeSlack) -> None:
    echo = Echo({"text": "x", "blocks": [section("")]})
    try:
        with pytest.raises(AssertionError, match="Slack would refuse the bot's answer"):
            SlackSender(echo.url, SECRET, fake).command("keys alice")
    finally:
        echo.server.shutdown()
        echo.server.server_close()


# --- response URLs ---------------------------------------------------------------------------


def test_response_url_adds_replaces_and_deletes(fake: FakeSlack) -> None:
    hook = WebhookClient(fake.response_url("cmd-a", "C0OPS", user="U0ALICE"))
    assert hook.send(text="working").body == "ok"
    (first,) = fake.messages()
    assert (first.channel, first.ephemeral, first.user, first.response_key) == (
        "C0OPS",
        True,
        "U0ALICE",
        "cmd-a",
    )
    hook.send(text="done", blocks=[section("done")], replace_original=True)
    (replaced,) = fake.messages()
    assert (replaced.ts, replaced.text, replaced.blocks) == (first.ts, "done", [section("done")])
    hook.send(text="for all", response_type="in_channel")
    assert [(m.text, m.ephemeral) for m in fake.messages()] == [("done", True), ("for all", False)]
    hook.send_dict({"delete_original": True})
    assert [m.text for m in fake.messages()] == ["done"]
    assert fake.calls("response_url")[0].args == {"text": "working", "_key": "cmd-a"}


def test_response_url_allows_five_uses(fake: FakeSlack) -> None:
    hook = WebhookClient(fake.response_url("cmd-b", "C0OPS"))
    statuses = [hook.send(text=f"update {i}").status_code for i in range(RESPONSE_URL_USES)]
    over = hook.send(text="one too many")
    assert statuses == [200] * 5
    assert (over.status_code, over.body) == (404, "used_url")
    assert "one too many" not in [m.text for m in fake.messages()]
    assert fake.calls("response_url")[-1].error == "used_url"
    assert WebhookClient(f"{fake.base_url}/response/never-issued").send(text="x").status_code == 404


# --- waiting and resetting ---------------------------------------------------------------------


def test_wait_for_wakes_on_calls_and_reports_what_happened(
    fake: FakeSlack, client: WebClient
) -> None:
    later = threading.Timer(0.05, lambda: client.chat_postMessage(channel="C0OPS", text="late"))
    later.start()
    (message,) = fake.wait_for(lambda: fake.messages("C0OPS"))
    assert message.text == "late"

    # State outside the fake (AWS, a store) changes without any call to Slack: it is polled,
    # not only checked at the start and at the deadline.
    checks = itertools.count(1)
    assert fake.wait_for(lambda: next(checks) >= 3, timeout=5)

    with pytest.raises(AssertionError) as raised:
        fake.wait_for(lambda: fake.messages("C0NEVER"), timeout=0.2)
    assert 'fake.messages("C0NEVER")' in str(raised.value)
    assert "chat.postMessage" in str(raised.value) and "late" in str(raised.value)


def test_clear_forgets_calls_messages_and_failures(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C0OPS", text="x")
    fake.fail("auth.test")
    fake.clear()
    assert fake.calls() == [] and fake.messages() == []
    assert client.auth_test()["ok"]


# --- the sender ------------------------------------------------------------------------------


class Echo:
    """An HTTP endpoint that records what it receives and answers a fixed JSON body."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                echo.received.append((self.path, dict(self.headers), body))
                out = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"

    def last(self) -> tuple[dict[str, str], bytes]:
        _, headers, body = self.received[-1]
        return headers, body

    def last_form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.last()[1].decode()))

    def last_payload(self) -> dict[str, Any]:
        return json.loads(self.last_form()["payload"])


@pytest.fixture
def echo() -> Iterator[Echo]:
    endpoint = Echo({"text": "ack"})
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


@pytest.fixture
def sender(echo: Echo, fake: FakeSlack) -> SlackSender:
    return SlackSender(echo.url, SECRET, fake)


def signed_ok(headers: dict[str, str], body: bytes, secret: str = SECRET) -> bool:
    return SignatureVerifier(secret).is_valid(
        body=body,
        timestamp=headers["X-Slack-Request-Timestamp"],
        signature=headers["X-Slack-Signature"],
    )


def test_command_is_signed_and_carries_slacks_fields(
    sender: SlackSender, echo: Echo, fake: FakeSlack
) -> None:
    reply = sender.command("keys alice", user_id="U0BOB", channel_id="C0OPS")
    assert (reply.status, reply.json) == (200, {"text": "ack"})
    headers, body = echo.last()
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert signed_ok(headers, body)
    assert not signed_ok(headers, body, secret="another-secret")
    form = echo.last_form()
    assert {k: form[k] for k in ("command", "text", "user_id", "user_name", "channel_id")} == {
        "command": "/iam",
        "text": "keys alice",
        "user_id": "U0BOB",
        "user_name": "bob",
        "channel_id": "C0OPS",
    }
    for name in ("token", "team_id", "team_domain", "channel_name", "api_app_id", "trigger_id"):
        assert form[name], name
    assert form["response_url"] == f"{fake.base_url}/response/{reply.response_key}"
    assert sender.command("x").response_key != reply.response_key
    # What the bot posts to that URL is shown to the one who typed the command.
    WebhookClient(form["response_url"]).send(text="your keys")
    (answer,) = fake.messages()
    assert (answer.response_key, answer.user, answer.channel) == (
        reply.response_key,
        "U0BOB",
        "C0OPS",
    )


def test_stale_and_forged_requests(sender: SlackSender, echo: Echo) -> None:
    sender.command("keys", timestamp=time.time() - 600)
    headers, body = echo.last()
    stamp = headers["X-Slack-Request-Timestamp"]
    assert stamp.isdigit() and int(stamp) < time.time() - 500
    # Signed correctly, yet refused for its age: only the replay window rejects it.
    assert headers["X-Slack-Signature"] == SignatureVerifier(SECRET).generate_signature(
        timestamp=stamp, body=body
    )
    assert not signed_ok(headers, body)

    sender.command("keys", signature="v0=" + "0" * 64)
    assert echo.last()[0]["X-Slack-Signature"] == "v0=" + "0" * 64

    reply = sender.raw(b"text=hi", {"Content-Type": "text/plain", "X-Custom": "1"})
    headers, body = echo.last()
    assert (reply.status, body, headers["X-Custom"]) == (200, b"text=hi", "1")
    assert "X-Slack-Signature" not in headers


def test_press_finds_the_button_by_label(
    sender: SlackSender, echo: Echo, fake: FakeSlack, client: WebClient
) -> None:
    posted = client.chat_postMessage(channel="C0OPS", text="plan", blocks=PLAN)
    (plan,) = fake.messages()
    reply = sender.press(plan, user_id="U0BOB", label="Deny")
    headers, body = echo.last()
    assert reply.status == 200 and signed_ok(headers, body)
    payload = echo.last_payload()
    assert payload["type"] == "block_actions"
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "deny",
        "decide",
        "req-1",
        "button",
    )
    assert payload["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": "C0OPS",
        "is_ephemeral": False,
    }
    assert payload["user"]["id"] == "U0BOB" and payload["channel"]["id"] == "C0OPS"
    assert payload["team"]["id"] == "T0TEAM" and payload["trigger_id"]
    assert payload["message"]["ts"] == posted["ts"] and payload["message"]["blocks"] == PLAN

    # A section's accessory button is found too, and each click gets its own response_url.
    sender.press(plan, user_id="U0BOB", action_id="details")
    assert echo.last_payload()["actions"][0]["block_id"] == "more"
    assert echo.last_payload()["response_url"] != payload["response_url"]

    # replace_original on the click's response_url replaces the message with the button.
    WebhookClient(payload["response_url"]).send(text="denied", replace_original=True)
    (shown,) = fake.messages()
    assert (shown.ts, shown.text, shown.ephemeral) == (posted["ts"], "denied", False)

    with pytest.raises(AssertionError, match="'Approve', 'approve'"):
        sender.press(plan, user_id="U0BOB", label="Maybe")


def test_press_refuses_ambiguous_or_invisible_buttons(sender: SlackSender, fake: FakeSlack) -> None:
    twice = [
        {"type": "actions", "block_id": "a", "elements": [button("Go", "go-1")]},
        {"type": "actions", "block_id": "b", "elements": [button("Go", "go-2")]},
    ]
    hook = WebhookClient(fake.response_url("cmd-c", "C0OPS", user="U0ALICE"))
    hook.send(text="choose", blocks=twice)
    (choice,) = fake.messages()
    with pytest.raises(AssertionError, match="2 buttons"):
        sender.press(choice, user_id="U0ALICE", label="Go")
    with pytest.raises(AssertionError, match="cannot see"):
        sender.press(choice, user_id="U0BOB", action_id="go-1")


def test_press_on_an_ephemeral_reply(sender: SlackSender, echo: Echo, fake: FakeSlack) -> None:
    command = sender.command("whois", user_id="U0ALICE")
    hook = WebhookClient(echo.last_form()["response_url"])
    for _ in range(RESPONSE_URL_USES - 1):
        hook.send(text="thinking", replace_original=True)
    hook.send(text="found", blocks=PLAN, replace_original=True)  # the command's fifth use
    (reply,) = fake.messages()

    pressed = sender.press(reply, user_id="U0ALICE", label="Approve")
    payload = echo.last_payload()
    assert pressed.response_key == command.response_key
    assert payload["container"]["is_ephemeral"] is True
    assert payload["container"]["message_ts"] == reply.ts
    # The click's response_url has five uses of its own and acts on the ephemeral reply.
    click = WebhookClient(payload["response_url"])
    assert click.send(text="approved", replace_original=True).status_code == 200
    assert click.send(text="next step").status_code == 200
    assert [(m.text, m.response_key) for m in fake.messages()] == [
        ("approved", command.response_key),
        ("next step", command.response_key),
    ]


def test_events_and_modal_submissions(sender: SlackSender, echo: Echo) -> None:
    event = {"type": "event_callback", "team_id": "T0TEAM", "event": {"type": "app_mention"}}
    sender.event(event, retry_num=2)
    headers, body = echo.last()
    assert json.loads(body) == event and headers["Content-Type"] == "application/json"
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("2", "http_timeout")
    assert signed_ok(headers, body)
    sender.event(event)
    assert "X-Slack-Retry-Num" not in echo.last()[0]

    values = {"reason": {"text": {"type": "plain_text_input", "value": "not needed"}}}
    sender.submit_view({"id": "V1", "callback_id": "deny"}, user_id="U0BOB", values=values)
    payload = echo.last_payload()
    assert payload["type"] == "view_submission" and payload["user"]["id"] == "U0BOB"
    assert payload["view"]["callback_id"] == "deny" and payload["view"]["id"] == "V1"
    assert payload["view"]["state"] == {"values": values}


# --- both peers around a real Bolt app --------------------------------------------------------


class _Quiet(WSGIRequestHandler):
    def log_message(self, *_: Any) -> None:
        pass


def test_a_real_bolt_app_talks_to_both_peers(fake: FakeSlack) -> None:
    app = App(signing_secret=SECRET, client=WebClient(token="xoxb-test", base_url=fake.api_url))

    @app.command("/iam")
    def command(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack()
        respond(text=f"plan for {command['text']}", blocks=PLAN)

    @app.action("approve")
    def approve(ack: Any, respond: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        respond(text=f"approved by {body['user']['id']}", replace_original=True)
        client.chat_postMessage(channel="C0AUDIT", text="approved")

    server = make_server("127.0.0.1", 0, SlackRequestHandler(app), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/slack/events"
        sender = SlackSender(url, SECRET, fake)
        assert sender.command("offboard leaver", timestamp=time.time() - 600).status == 401
        assert SlackSender(url, "wrong-secret", fake).command("offboard leaver").status == 401
        reply = sender.command("offboard leaver")
        assert reply.status == 200
        (plan,) = fake.wait_for(lambda: fake.messages("C0OPS"))
        assert plan.text == "plan for offboard leaver" and plan.response_key == reply.response_key
        assert sender.press(plan, user_id="U0ALICE", label="Approve").status == 200
        fake.wait_for(lambda: fake.messages("C0AUDIT"))
        (shown,) = fake.messages("C0OPS")
        assert (shown.ts, shown.text) == (plan.ts, "approved by U0ALICE")
        assert [c.method for c in fake.calls()] == [
            "auth.test",  # Bolt checks its token on start
            "response_url",
            "response_url",
            "chat.postMessage",
        ]
    finally:
        server.shutdown()
        server.server_close()
