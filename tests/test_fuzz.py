"""Fuzzing the text after `/iam`: nothing crashes, nothing leaks, nothing invalid reaches AWS."""

from __future__ import annotations

import logging
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.iam.names import ACCESS_KEY_ID, USER_NAME
from tests.conftest import Bot

SUBCOMMANDS = st.sampled_from(["keys", "offboard", "history", "help", "KEYS", "", "rotate"])
WORDS = st.one_of(
    st.text(max_size=80),
    st.from_regex(USER_NAME, fullmatch=True),
    st.from_regex(r"A[KS]IA[A-Z0-9]{10,20}", fullmatch=True),
    st.sampled_from(["me", "<@U0ALICE>", "<@U0BOB|bob>", "<#C1|x>", "<@", "--disable", "<@U0>x"]),
    st.text(alphabet="\x00\n\t <>@|*`&;'\"\\/", max_size=20),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sub=SUBCOMMANDS, words=st.lists(WORDS, max_size=4))
def test_any_text_gets_an_answer_and_no_invalid_call(
    bot: Bot, aws, caplog, sub: str, words: list[str]
) -> None:
    caplog.set_level(logging.WARNING)
    text = " ".join([sub, *words])
    reply = bot.command(text, user="U0BOB")
    assert reply.status == 200
    said = bot.said(reply)
    assert said.strip(), f"no answer to {text!r}"
    assert "Traceback" not in said and "Error(" not in said
    for call in aws.calls():
        if "UserName" in call.params:
            assert USER_NAME.fullmatch(call.params["UserName"]), call
        if "AccessKeyId" in call.params:
            assert ACCESS_KEY_ID.fullmatch(call.params["AccessKeyId"]), call
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records
    ]
    # Nothing may change AWS: every /iam command here is a read or opens a request.
    assert not [
        c
        for c in aws.calls()
        if re.match(r"(Create|Delete|Update|Put|Attach|Detach|Remove)", c.action)
    ]
