"""A small thread-safe cache with expiry, for lookups that may be briefly stale (group members,
the tag index of IAM users) but are too slow to repeat on every command."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(
        self, load: Callable[[K], V], ttl_s: float, clock: Callable[[], float] = time.monotonic
    ):
        self._load = load
        self._ttl = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[K, tuple[float, V]] = {}
        self._loading: dict[K, threading.Lock] = {}

    def get(self, key: K, max_age_s: float | None = None) -> V:
        """The cached value if younger than the TTL (or ``max_age_s``), else a fresh load. One
        caller loads a key at a time: a burst of misses makes one slow lookup, and the others
        take its answer (when it is young enough for them)."""
        limit = self._ttl if max_age_s is None else min(self._ttl, max_age_s)
        if hit := self._young(key, limit):
            return hit[1]
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            if hit := self._young(key, limit):
                return hit[1]
            value = self._load(key)
            with self._lock:
                self._entries[key] = (self._clock(), value)
            return value

    def _young(self, key: K, limit: float) -> tuple[float, V] | None:
        with self._lock:
            hit = self._entries.get(key)
        return hit if hit and self._clock() - hit[0] < limit else None
