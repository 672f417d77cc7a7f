"""Shared counters for the phone path and the kiosks, on the same store as the rate limits.

The phone path passes its own clock in (`now`, seconds since the epoch), so that a bench can
replay two hours in a minute. Three backends, chosen by the RATELIMIT_STORAGE_URI setting (set
from the SURVEY_RATELIMIT_STORAGE_URL environment variable): the SQLite file of one server
(`sqlitefile://`), Redis across servers (`redis://`) and, for tests only, one process's memory
(`memory://`).
"""

from __future__ import annotations

import math
import threading
import uuid
from typing import Protocol

import redis
from flask import current_app
from limits.storage import storage_from_string

from survey.limitstore import SqliteFileStorage

PREFIX = "survey:"


class Tally(Protocol):
    def acquire(self, key: str, *, limit: int, window: float, now: float) -> bool: ...
    def incr(self, key: str, *, expiry: float, now: float) -> int: ...
    def left(self, key: str, *, now: float) -> float: ...
    def get(self, key: str, *, now: float) -> int | None: ...
    def put(self, key: str, value: int, *, expiry: float, now: float) -> None: ...


class SqliteTally:
    """Counters in the server's SQLite rate-limit file."""

    def __init__(self, uri: str) -> None:
        self.store = storage_from_string(uri)
        assert isinstance(self.store, SqliteFileStorage)

    def acquire(self, key: str, *, limit: int, window: float, now: float) -> bool:
        return self.store.acquire_entry(PREFIX + key, limit, window, now=now)

    def incr(self, key: str, *, expiry: float, now: float) -> int:
        return self.store.incr(PREFIX + key, expiry, now=now)

    def left(self, key: str, *, now: float) -> float:
        """Seconds until the counter `key` expires (its increment just told: no statement)."""
        return self.store.get_expiry(PREFIX + key) - now

    def get(self, key: str, *, now: float) -> int | None:
        return self.store.get(PREFIX + key, now=now) if self._has(key, now) else None

    def _has(self, key: str, now: float) -> bool:
        row = (
            self.store._conn()
            .execute("SELECT 1 FROM counters WHERE key = ? AND expires > ?", (PREFIX + key, now))
            .fetchone()
        )
        return row is not None

    def put(self, key: str, value: int, *, expiry: float, now: float) -> None:
        self.store.put(PREFIX + key, value, expiry, now=now)


ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


class RedisTally:
    """Counters in Redis, shared by every app server; a Lua script keeps a window atomic."""

    def __init__(self, uri: str) -> None:
        self.client = redis.Redis.from_url(uri)
        self._acquire = self.client.register_script(ACQUIRE)

    def acquire(self, key: str, *, limit: int, window: float, now: float) -> bool:
        args = [now, window, limit, uuid.uuid4().hex, math.ceil(window) + 60]
        return bool(self._acquire(keys=[PREFIX + key], args=args))

    def incr(self, key: str, *, expiry: float, now: float) -> int:
        pipe = self.client.pipeline()
        pipe.incr(PREFIX + key)
        pipe.expire(PREFIX + key, math.ceil(expiry), nx=True)
        return int(pipe.execute()[0])

    def left(self, key: str, *, now: float) -> float:
        return float(max(self.client.ttl(PREFIX + key), 0))

    def get(self, key: str, *, now: float) -> int | None:
        value = self.client.get(PREFIX + key)
        return None if value is None else int(value)

    def put(self, key: str, value: int, *, expiry: float, now: float) -> None:
        self.client.set(PREFIX + key, value, ex=max(1, math.ceil(expiry)))


class MemoryTally:
    """One process's counters: for tests only, it does not hold across workers."""

    def __init__(self, uri: str = "memory://") -> None:
        self.lock, self.windows, self.values = threading.Lock(), {}, {}

    def acquire(self, key: str, *, limit: int, window: float, now: float) -> bool:
        with self.lock:
            live = [t for t in self.windows.get(key, []) if t > now - window]
            if len(live) >= limit:
                self.windows[key] = live
                return False
            self.windows[key] = [*live, now]
            return True

    def incr(self, key: str, *, expiry: float, now: float) -> int:
        with self.lock:
            current = self.get(key, now=now)
            expires = self.values[key][1] if current is not None else now + expiry
            self.values[key] = ((current or 0) + 1, expires)
            return (current or 0) + 1

    def left(self, key: str, *, now: float) -> float:
        return max(self.values.get(key, (None, now))[1] - now, 0.0)

    def get(self, key: str, *, now: float) -> int | None:
        value, expires = self.values.get(key, (None, 0.0))
        return value if expires > now else None

    def put(self, key: str, value: int, *, expiry: float, now: float) -> None:
        with self.lock:
            self.values[key] = (value, now + expiry)


BACKENDS = {
    "sqlitefile": SqliteTally,
    "redis": RedisTally,
    "rediss": RedisTally,
    "memory": MemoryTally,
}


def current() -> Tally:
    """The tally of this app, made once from its rate-limit storage URL."""
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    cached = current_app.extensions.get("survey_tally")
    if cached is None or cached[0] != uri:
        scheme = uri.split(":", 1)[0]
        cached = (uri, BACKENDS[scheme](uri))
        current_app.extensions["survey_tally"] = cached
    return cached[1]
