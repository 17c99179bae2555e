"""The admin behind a token, remembered per worker for ADMIN_CACHE_SECONDS (csat/auth.py).

What the bound in docs/operations.md promises, on a real database: a deactivated admin's
reads are refused within ADMIN_CACHE_SECONDS of the deactivation's commit, their writes at
once; permissions and locales come from the token, so a new token's take effect at once.
"""

import time

import pytest

from app import create_app
from csat.config import ConfigError
from tests.servers import assert_boom, bearer, make_settings, make_token, run_sql, statements_run

AGENTS = "/csat/agents/list"
MISSING_RATING = 2**62  # far above every seeded id: an accepted write is a 404, nothing written
POLL_SECONDS = 0.05
# A request's own time on top of the bound: the one in flight when the bound passes.
SLACK_SECONDS = 0.5


@pytest.fixture
def admin_id(fresh_db):
    return run_sql(fresh_db, "SELECT min(id) FROM administrators WHERE active AND id > 1")[0][0]


def _app(database_url, **settings):
    application = create_app(make_settings(database_url, **settings))
    application.config["TESTING"] = True
    return application


@pytest.fixture
def cached_app(fresh_db):
    """The service with the default bound."""
    application = _app(fresh_db)
    yield application
    application.extensions["csat_db"].close()


def _deactivate(url, admin_id):
    """Deactivate the admin; the moment its transaction committed."""
    run_sql(url, "UPDATE administrators SET active = false WHERE id = %s", (admin_id,))
    return time.monotonic()


def _statements_of(monkeypatch, client, path, headers):
    """(response, names of the statements the request ran)."""
    with statements_run(monkeypatch) as ran:
        return client.get(path, headers=headers), ran


def test_the_default_bound_is_the_documented_one():
    assert make_settings("postgresql:///unused").admin_cache_seconds == 5


def test_a_second_request_does_not_look_the_admin_up(cached_app, admin_id, monkeypatch):
    client = cached_app.test_client()
    headers = bearer(make_token(admin_id=admin_id))
    first, ran_first = _statements_of(monkeypatch, client, AGENTS, headers)
    second, ran_second = _statements_of(monkeypatch, client, AGENTS, headers)
    assert first.status_code == second.status_code == 200
    assert "admin_get" in ran_first
    assert "admin_get" not in ran_second and ran_second  # the agents list itself still runs


@pytest.mark.slow  # waits out the bound (5 s)
def test_a_deactivated_admin_is_refused_within_the_bound(cached_app, fresh_db, admin_id):
    client = cached_app.test_client()
    headers = bearer(make_token(admin_id=admin_id))
    assert client.get(AGENTS, headers=headers).status_code == 200
    deactivated_at = _deactivate(fresh_db, admin_id)
    # Remembered: the database says inactive, the worker still serves the admin's reads.
    assert client.get(AGENTS, headers=headers).status_code == 200
    bound = cached_app.config["CSAT"].admin_cache_seconds
    while True:
        response = client.get(AGENTS, headers=headers)
        refused_after = time.monotonic() - deactivated_at
        if response.status_code != 200:
            break
        assert refused_after <= bound + SLACK_SECONDS, "still served past the bound"
        time.sleep(POLL_SECONDS)
    assert_boom(response, 401, "Unknown or inactive admin")
    assert refused_after <= bound + SLACK_SECONDS
    for _ in range(3):  # and stays refused
        assert_boom(client.get(AGENTS, headers=headers), 401, "Unknown or inactive admin")


def test_a_deactivated_admin_cannot_write_even_while_remembered(cached_app, fresh_db, admin_id):
    client = cached_app.test_client()
    headers = bearer(make_token(admin_id=admin_id))
    write = {"ratingId": MISSING_RATING, "comments": "after deactivation"}
    assert_boom(client.post("/csat/comments", headers=headers, json=write), 404, "Rating not found")
    assert client.get(AGENTS, headers=headers).status_code == 200
    _deactivate(fresh_db, admin_id)
    assert client.get(AGENTS, headers=headers).status_code == 200  # a read: remembered
    assert_boom(client.post("/csat/comments", headers=headers, json=write), 401,
                "Unknown or inactive admin")


def test_permissions_and_locales_of_a_new_token_apply_at_once(cached_app, admin_id):
    client = cached_app.test_client()
    assert client.get("/csat?localeId=1", headers=bearer(make_token(admin_id=admin_id))).status_code == 200
    assert_boom(client.get(AGENTS, headers=bearer(make_token(admin_id=admin_id, permissions=["csat-add-comments"]))),
                403, "Requires permission menu-csat")
    assert_boom(client.get("/csat?localeId=1", headers=bearer(make_token(admin_id=admin_id, locales=[2]))),
                403, "No access to locale 1")


def test_a_bound_of_zero_asks_the_database_every_time(fresh_db, admin_id):
    application = _app(fresh_db, admin_cache_seconds=0)
    try:
        client = application.test_client()
        headers = bearer(make_token(admin_id=admin_id))
        assert client.get(AGENTS, headers=headers).status_code == 200
        _deactivate(fresh_db, admin_id)
        assert_boom(client.get(AGENTS, headers=headers), 401, "Unknown or inactive admin")
    finally:
        application.extensions["csat_db"].close()


@pytest.mark.parametrize("seconds", [-1, 61])
def test_a_bound_outside_zero_to_sixty_seconds_is_refused(seconds):
    with pytest.raises(ConfigError, match="ADMIN_CACHE_SECONDS"):
        make_settings("postgresql:///unused", admin_cache_seconds=seconds)
