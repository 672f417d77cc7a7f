"""The suite's own rules: a missing Redis skips (fails under .ci/run); every test app hashes
passwords cheaply and keeps its files and its rate-limit store to itself."""

from __future__ import annotations

import pytest

from survey import accounts
from tests import servers
from tests.conftest import CHECKOUT_INSTANCE, build_app


def test_without_redis_a_test_is_skipped_saying_why(monkeypatch):
    monkeypatch.delenv(servers.REQUIRE_SERVICES, raising=False)
    closed = f"redis://127.0.0.1:{servers.free_port()}/3"  # nothing listens there
    with pytest.raises(pytest.skip.Exception, match=f"no Redis at {closed}"):
        servers.redis_or_skip(closed)


def test_under_ci_a_missing_redis_fails(monkeypatch):
    monkeypatch.setenv(servers.REQUIRE_SERVICES, "1")
    closed = f"redis://127.0.0.1:{servers.free_port()}/3"
    with pytest.raises(pytest.fail.Exception, match="SURVEY_REQUIRE_SERVICES is set"):
        servers.redis_or_skip(closed)


def test_each_test_app_has_its_own_folder_store_and_cheap_hashing(database_url, tmp_path):
    first, second = build_app(database_url, tmp_path / "a"), build_app(database_url, tmp_path / "b")
    stores = {app.config["RATELIMIT_STORAGE_URI"] for app in (first, second)}
    assert len(stores) == 2 and all(str(tmp_path) in store for store in stores)
    assert {first.instance_path, second.instance_path} == {str(tmp_path / "a"), str(tmp_path / "b")}
    assert str(CHECKOUT_INSTANCE) not in first.instance_path + second.instance_path
    with first.app_context():
        assert "$m=8,t=1,p=1$" in accounts.hash_password("x")
