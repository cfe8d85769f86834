"""Fuzzing what users type: the text after `/iam` for every subcommand, reasons in commands, and
the deny modal. Nothing crashes, nothing leaks, nothing invalid reaches AWS, and no text a user
typed pings anyone, shows a link or forges a status line.

Over 1000 examples in all: most take the cheap path (a person without permissions: the ack
validates the text before any I/O, and the work after it stops at the permission check); fewer
run the whole way to AWS, and fewer still open and deny a request.
"""

from __future__ import annotations

import logging
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.iam.names import ACCESS_KEY_ID, USER_NAME
from bot.slack.commands import SUBCOMMANDS as COMMANDS
from tests.fixtures.hostile import FORGED_STATUS, PINGS_AND_LINKS, unescaped
from tests.fixtures.slack import Bot, current, flatten

NAMES = [c.name for c in COMMANDS] + ["help", ""]
SUBCOMMANDS = st.one_of(
    st.sampled_from(NAMES), st.sampled_from(NAMES).map(str.upper), st.text(max_size=10)
)
HOSTILE = st.sampled_from(PINGS_AND_LINKS)
WORDS = st.one_of(
    st.text(max_size=80),
    st.from_regex(USER_NAME, fullmatch=True),
    st.from_regex(r"A[KS]IA[A-Z0-9]{10,20}", fullmatch=True),
    st.sampled_from(["me", "<@U0ALICE>", "<@U0BOB|bob>", "<#C1|x>", "<@", "<@U0>x"]),
    st.sampled_from(["--disable", "--days", "--for", "--console", "--key", "alias", "set"]),
    st.sampled_from(["0", "7", "²", "٣", "-1", "99999999999999999999"]),
    HOSTILE,
    st.text(alphabet="\x00\n\t <>@|*`&;'\"\\/", max_size=20),
)
REASON_PIECES = st.sampled_from(
    [*PINGS_AND_LINKS, "\n", "\r\n", "\u2028", FORGED_STATUS, "&", "&lt;", ">", "<", "*", "`", " "]
)
REASONS = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(REASON_PIECES, st.text(max_size=8)), max_size=15).map("".join),
)
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_CHANGES = re.compile(r"(Create|Delete|Update|Put|Attach|Detach|Remove)")


def _answered_safely(bot: Bot, text: str, *, user: str, caplog) -> None:
    reply = bot.command(text, user=user)
    assert reply.status == 200
    said = bot.said(reply)
    assert said.strip(), f"no answer to {text!r}"
    assert "Traceback" not in said and "Error(" not in said
    for sequence in PINGS_AND_LINKS:
        assert sequence not in said, f"{sequence} of {text!r} reached a message"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]


@settings(FUZZ, max_examples=900)
@given(sub=SUBCOMMANDS, words=st.lists(WORDS, max_size=5))
def test_any_text_is_answered_by_the_ack_path(
    bot: Bot, aws, caplog, sub: str, words: list[str]
) -> None:
    caplog.set_level(logging.WARNING)
    _answered_safely(bot, " ".join([sub, *words]), user="U0NOBODY", caplog=caplog)
    assert [c for c in aws.calls() if c.service == "iam"] == []  # refused before AWS


@settings(FUZZ, max_examples=300)
@given(sub=SUBCOMMANDS, words=st.lists(WORDS, max_size=4))
def test_any_text_gets_an_answer_and_no_invalid_call(
    bot: Bot, aws, caplog, sub: str, words: list[str]
) -> None:
    caplog.set_level(logging.WARNING)
    _answered_safely(bot, " ".join([sub, *words]), user="U0BOB", caplog=caplog)
    for call in aws.calls():
        if "UserName" in call.params:
            assert USER_NAME.fullmatch(call.params["UserName"]), call
        if "AccessKeyId" in call.params:
            assert ACCESS_KEY_ID.fullmatch(call.params["AccessKeyId"]), call
    # Nothing may change AWS: every /iam command here is a read or opens a request.
    assert not [c for c in aws.calls() if _CHANGES.match(c.action)]


@settings(FUZZ, max_examples=150)
@given(reason=st.lists(st.one_of(HOSTILE, WORDS), min_size=1, max_size=6), denial=REASONS)
def test_reasons_and_denials_show_quoted_and_inert(
    bot: Bot, iam, reason: list[str], denial: str
) -> None:
    if not iam.list_users()["Users"]:
        iam.create_user(UserName="dave")
        iam.create_access_key(UserName="dave")
    (key,) = iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]
    shown = len(bot.channel())
    reply = bot.command(f"deactivate {key['AccessKeyId']} {' '.join(reason)}", user="U0ALICE")
    if "is not an option of" in reply.body:  # `-x` or `--days` in a reason: refused, not read
        assert len(bot.channel()) == shown
        return
    plan = bot.channel()[-1]
    assert unescaped(flatten(plan)) == [], reason

    bot.press(plan, "Deny", user="U0SEC1")
    view = bot.slack.calls("views.open")[-1].args["view"]
    values = {"reason": {"reason": {"type": "plain_text_input", "value": denial}}}
    reply = bot.sender.submit_view(view, user_id="U0SEC1", values=values)
    bot.settle()
    shown = flatten(current(bot, plan))
    if not denial.strip():
        assert "A denial needs a reason" in reply.body
        assert "Denied" not in shown
        return
    lines = shown.splitlines()
    assert ":no_entry: Denied by <@U0SEC1>:" in lines
    assert not [line for line in lines if line.startswith(":white_check_mark:")]
    assert unescaped(shown) == [], denial
    assert iam.list_access_keys(UserName="dave")["AccessKeyMetadata"][0]["Status"] == "Active"


# Dashes as people type them and Slack clients and keyboards rewrite them: an em dash, an en
# dash, a horizontal bar or a small em dash is what became of a typed `--`; the others of a `-`.
TWO_DASHES = "\u2013\u2014\u2015\ufe58"
DASHES = "-\u2010\u2011\u2012\u2212\ufe63\uff0d" + TWO_DASHES
OPTION_NAMES = sorted({flag.name for c in COMMANDS for flag in c.options})
OPTION_LIKE = st.one_of(
    st.from_regex(rf"[{DASHES}]{{1,3}}[A-Za-z][A-Za-z-]{{0,10}}", fullmatch=True),
    st.sampled_from(OPTION_NAMES).flatmap(
        lambda name: st.sampled_from(
            [name.upper(), name.title(), name[1:], name + "d", "-" + name, name + "=x"]
        )
    ),
)
PLAIN = st.one_of(st.from_regex(r"[a-z][\w.@]{0,15}", fullmatch=True), st.sampled_from(["me", "7"]))


def _one_of_its_options(word: str, sub: str) -> bool:
    """Whether ``word`` is, as typed, one of the options ``sub`` takes (`—disable` is, and so
    is `--account=x`, an option that takes a value given with an equals sign)."""
    letters = word.lstrip(DASHES)
    typed = sum(2 if dash in TWO_DASHES else 1 for dash in word[: len(word) - len(letters)])
    name, equals, _ = letters.partition("=")
    own = {flag.name: flag for c in COMMANDS if c.name == sub for flag in c.options}
    flag = own.get("--" + name)
    return typed == 2 and flag is not None and (not equals or bool(flag.value))


@settings(FUZZ, max_examples=200)
@given(
    sub=st.sampled_from([c.name for c in COMMANDS]),
    before=st.lists(PLAIN, max_size=3),
    word=OPTION_LIKE,
    after=st.lists(PLAIN, max_size=3),
)
def test_a_word_shaped_like_an_option_it_does_not_take_opens_nothing(
    bot: Bot, aws, sub: str, before: list[str], word: str, after: list[str]
) -> None:
    if _one_of_its_options(word, sub):
        return
    shown = len(bot.channel())
    reply = bot.command(" ".join([sub, *before, word, *after]), user="U0ALICE")
    refusals = ("is not an option of", "takes no value", "`--account`")
    assert any(refusal in reply.body for refusal in refusals), reply.body
    assert bot.replies(reply) == [] and len(bot.channel()) == shown
    assert [c for c in aws.calls() if c.service == "iam"] == []
