"""`/iam keys` on my own keys puts Deactivate and Rotate one click away; on someone else's
keys it shows them only."""

from __future__ import annotations

from tests.fixtures.aws import key_statuses
from tests.fixtures.slack import Bot, flatten, posted


def _buttons(message) -> list[str]:
    return [
        element["text"]["text"]
        for block in message.blocks
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def test_my_own_active_keys_have_deactivate_and_rotate(bot: Bot, iam) -> None:
    iam.create_user(UserName="alice", Tags=[{"Key": "slack-user-id", "Value": "U0ALICE"}])
    active = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    spare = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName="alice", AccessKeyId=spare, Status="Inactive")
    for text in ("keys me", "keys alice"):
        answer = bot.replies(bot.command(text, user="U0ALICE"))[-1]
        assert _buttons(answer) == ["Deactivate now", "Rotate"], text  # the active key only
        assert active in flatten(answer) and spare in flatten(answer)
    bot.press(answer, "Deactivate now", user="U0ALICE")
    request = posted(bot, "Deactivate the access key")
    assert active in flatten(request)
    bot.press(request, "Confirm", user="U0ALICE")
    assert key_statuses(iam, "alice")[active] == "Inactive"


def test_someone_elses_keys_have_no_buttons(bot: Bot, iam) -> None:
    iam.create_user(UserName="dave", Tags=[{"Key": "slack-user-id", "Value": "U0BOB"}])
    iam.create_access_key(UserName="dave")
    answer = bot.replies(bot.command("keys dave", user="U0ALICE"))[-1]
    assert "Access keys of dave" in flatten(answer)
    assert _buttons(answer) == []
