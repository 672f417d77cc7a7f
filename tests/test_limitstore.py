"""The SQLite-file limit store when every worker of a server opens it at the same moment."""

from __future__ import annotations

import threading

from survey.limitstore import SqliteFileStorage


def test_workers_opening_a_new_store_at_once_all_count(tmp_path):
    """Each first request of each worker opens the file and switches it to WAL; the ones that
    lose that race must wait, not answer 500 ("database is locked")."""
    errors, workers = [], 8
    for n in range(60):
        uri = "sqlitefile:///" + str(tmp_path / f"limits-{n}.db").lstrip("/")
        barrier = threading.Barrier(workers)

        def first_request(uri=uri, barrier=barrier):
            store = SqliteFileStorage(uri)
            barrier.wait()
            try:
                store.incr("sign-in", 60)
            except Exception as exc:  # noqa: BLE001 - any refusal is the failure
                errors.append(repr(exc))

        threads = [threading.Thread(target=first_request) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert SqliteFileStorage(uri).get("sign-in") == workers - len(errors)
    assert errors == []


def test_a_hit_answers_the_read_of_its_window_for_the_headers_without_a_statement(tmp_path):
    from limits import parse
    from limits.strategies import FixedWindowRateLimiter

    store = SqliteFileStorage("sqlitefile:///" + str(tmp_path / "limits.db").lstrip("/"))
    limiter, three = FixedWindowRateLimiter(store), parse("3 per minute")
    assert limiter.hit(three, "kiosk")
    statements: list[str] = []
    store._conn().set_trace_callback(statements.append)
    window = limiter.get_window_stats(three, "kiosk")
    assert statements == [] and window.remaining == 2
    assert limiter.get_window_stats(three, "kiosk") == window  # read from the file this time
    assert len(statements) == 2
    store.clear(three.key_for("kiosk"))
    assert limiter.get_window_stats(three, "kiosk").remaining == 3
