"""The audit channel tells each request's story in one thread: the parent says who asked for what
and links to the request's message; decisions and the outcome are replies in that thread."""

from __future__ import annotations

from sandbox.slack_api import Message
from tests.fixtures.aws import make_full_user, user_exists
from tests.fixtures.slack import Bot, flatten, open_request, request_id


def parents(bot: Bot) -> list[Message]:
    return [m for m in bot.channel("C0AUDIT") if not m.thread_ts]


def thread(bot: Bot, parent: Message) -> list[str]:
    """The replies under ``parent``, oldest first, as text."""
    return [flatten(m) for m in bot.channel("C0AUDIT") if m.thread_ts == parent.ts]


def finished(bot: Bot, parent: Message) -> list[str]:
    return bot.slack.wait_for(
        lambda: (replies := thread(bot, parent)) and "done:" in replies[-1] and replies, timeout=20
    )


def permalink(message: Message) -> str:
    return f"https://sandbox.slack.com/archives/{message.channel}/p{message.ts.replace('.', '')}"


def test_one_thread_per_request_with_a_link_to_its_message(bot: Bot, iam) -> None:
    make_full_user(iam)
    plan = open_request(bot)
    bot.press(plan, "Approve", user="U0SEC1")
    assert not user_exists(iam, "leaver")

    [parent] = parents(bot)
    line = flatten(parent)
    assert f"`{request_id(plan)}`" in line and "requested by <@U0ALICE>" in line
    assert "left the company" in line
    assert f"<{permalink(plan)}|request message>" in line
    replies = finished(bot, parent)
    assert len(replies) == 2
    assert "approved by <@U0SEC1>" in replies[0] and "done:" in replies[1]


def test_two_requests_get_two_threads(bot: Bot, iam) -> None:
    make_full_user(iam)
    make_full_user(iam, "mover")
    first = open_request(bot)
    second = open_request(bot, "offboard mover moved on")
    bot.press(second, "Approve", user="U0SEC1")
    bot.press(first, "Approve", user="U0SEC2")

    by_request = {request_id(m): m for m in (first, second)}
    tops = parents(bot)
    assert len(tops) == 2
    for parent in tops:
        [shown] = [m for rid, m in by_request.items() if f"`{rid}`" in flatten(parent)]
        assert permalink(shown) in flatten(parent)
        replies = finished(bot, parent)
        assert len(replies) == 2 and "approved by" in replies[0]


def test_a_failed_post_of_the_parent_still_ends_with_one_thread_in_order(bot: Bot, iam) -> None:
    make_full_user(iam)
    bot.slack.fail("chat.postMessage", "http_500", times=4)  # beyond the client's own retries
    bot.command("offboard leaver left the company")
    plan = bot.slack.wait_for(lambda: [m for m in bot.channel() if m.blocks], timeout=20)[0]
    bot.press(plan, "Approve", user="U0SEC1")
    assert not user_exists(iam, "leaver")

    [parent] = bot.slack.wait_for(lambda: parents(bot), timeout=20)
    assert "requested by <@U0ALICE>" in flatten(parent)
    replies = finished(bot, parent)
    assert len(replies) == 2
    assert "approved by <@U0SEC1>" in replies[0] and "done:" in replies[1]
    assert len(parents(bot)) == 1
