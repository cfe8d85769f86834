"""Settings that size or time the fleet's work (IAM_BOT_WORKERS, how many answers may wait on
AWS at once; IAM_BOT_DRAIN_SECONDS, how long a stopping replica lets its work run on): a value
that is not sensible stops `iam-bot serve` with one line, before anything starts."""

from __future__ import annotations

import pytest

from tests.fixtures.serve import serve_env, serve_once

WORKERS = "iam-bot: IAM_BOT_WORKERS must be a number of threads between 4 and 1000"
DRAIN = "iam-bot: IAM_BOT_DRAIN_SECONDS must be a number of seconds between 0 and 3600"


@pytest.mark.parametrize(
    ("name", "value", "line"),
    [
        *(("IAM_BOT_WORKERS", v, WORKERS) for v in ("0", "3", "1001", "many", "-8", "16.5")),
        *(("IAM_BOT_DRAIN_SECONDS", v, DRAIN) for v in ("-1", "3601", "soon", "nan", "inf")),
    ],
)
def test_a_bad_value_stops_startup_with_one_line(name: str, value: str, line: str) -> None:
    result = serve_once(serve_env(**{name: value}))
    assert (result.returncode, result.stderr.splitlines()) == (2, [line]), result.stderr
