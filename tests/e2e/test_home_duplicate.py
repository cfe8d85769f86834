"""A second request pressed from the App Home tab is refused by DM with a link to the open one,
as the same refusal to a slash command links it."""

from __future__ import annotations

from tests.fixtures.aws import aged_key
from tests.fixtures.slack import CONFIG, direct_messages, posted

APPROVERS_ROTATE = CONFIG.replace("rotate: [S0ONCALL]", "rotate: [S0ONCALL, S0SECURITY]")


def test_a_second_rotation_from_home_links_the_open_one(make_bot, iam, aws) -> None:
    bot = make_bot(APPROVERS_ROTATE)
    iam.create_user(UserName="sec1")
    old = aged_key(iam, aws, "sec1", age_days=400, used_days_ago=1)
    assert bot.sender.open_home("U0SEC1").status == 200
    bot.settle()
    bot.slack.wait_for(lambda: bot.slack.home("U0SEC1"))

    for _ in range(2):
        assert bot.sender.press_home("U0SEC1", label=f"Rotate {old}").status == 200
        bot.settle()
    rotation = posted(bot, "Rotate", channel=bot.slack.dm_channel("U0SEC1"))
    link = f"https://sandbox.slack.com/archives/{rotation.channel}/p{rotation.ts.replace('.', '')}"
    told = bot.slack.wait_for(
        lambda: [m for m in direct_messages(bot.slack) if "Already asked for" in m]
    )
    assert f"<{link}|the open request>" in told[0]
