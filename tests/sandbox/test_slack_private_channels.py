"""The fake Slack's private channels behave as Slack's: the bot cannot post in one it is not a
member of (``not_in_channel``, whatever its scopes), a command's response URL still shows there,
and once invited it posts like anywhere else."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from sandbox.slack_api import FakeSlack


def test_the_bot_posts_in_a_private_channel_only_once_invited() -> None:
    with FakeSlack(users={"U0ALICE": {"name": "alice"}}) as fake:
        client = WebClient(token="xoxb-test", base_url=fake.api_url)
        fake.private_channel("C0SECRET", ("U0ALICE",))
        for post in (client.chat_postMessage, client.chat_postEphemeral):
            with pytest.raises(SlackApiError) as refused:
                post(channel="C0SECRET", user="U0ALICE", text="hello")
            assert refused.value.response["error"] == "not_in_channel"

        hook = WebhookClient(fake.response_url("cmd", "C0SECRET", user="U0ALICE"))
        assert hook.send(text="only you see this").status_code == 200
        assert [m.text for m in fake.messages("C0SECRET", seen_by="U0ALICE")] == [
            "only you see this"
        ]

        fake.invite("C0SECRET")
        assert client.chat_postMessage(channel="C0SECRET", text="hello")["ok"]
        assert client.chat_postMessage(channel="C0PUBLIC", text="as before")["ok"]
