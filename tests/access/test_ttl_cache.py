"""The cache behind group members and the IAM tag index: one slow lookup per burst of misses."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bot.access.ttl import TtlCache


def test_a_burst_of_misses_makes_one_load() -> None:
    loads: list[str] = []

    def slow(key: str) -> str:
        loads.append(key)
        time.sleep(0.2)
        return key.upper()

    cache: TtlCache[str, str] = TtlCache(slow, ttl_s=60)
    start = threading.Barrier(8)

    def get(_: int) -> str:
        start.wait()
        return cache.get("s0security")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(get, range(8)))
    assert answers == ["S0SECURITY"] * 8
    assert loads == ["s0security"]


def test_asking_for_a_fresh_answer_always_loads_and_other_keys_do_not_wait() -> None:
    loads: list[str] = []
    cache: TtlCache[str, int] = TtlCache(lambda key: loads.append(key) or len(loads), ttl_s=60)
    assert cache.get("a") == 1
    assert cache.get("a") == 1
    assert cache.get("a", max_age_s=0) == 2
    assert cache.get("b") == 3
    assert loads == ["a", "a", "b"]
