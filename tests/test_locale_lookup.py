"""localeId is checked against the locales each worker remembers (csat/auth.py).

A known locale costs no query; an unknown one reads the locales again at most once a second,
so a locale created a moment ago is known within a second, and a stream of unknown ids does
not cost a query each.
"""

import time

import pytest

from tests.servers import assert_boom, bearer, make_token, run_sql, statements_run

NEW_LOCALE = 777


@pytest.fixture
def locale_lookups(monkeypatch):
    """The locales_list statements run since the fixture started."""
    with statements_run(monkeypatch) as ran:
        yield lambda: ran.count("locales_list")


def test_a_known_locale_costs_no_query_after_the_first(fresh_app, locale_lookups):
    client = fresh_app.test_client()
    headers = bearer(make_token())
    for _ in range(3):
        assert client.get("/csat/agents/list?localeId=1", headers=headers).status_code == 200
    assert locale_lookups() == 1


def test_unknown_locales_read_the_locales_at_most_once_a_second(fresh_app, locale_lookups):
    client = fresh_app.test_client()
    headers = bearer(make_token())
    started = time.monotonic()
    for unknown in range(NEW_LOCALE, NEW_LOCALE + 10):
        assert_boom(client.get(f"/csat/agents/list?localeId={unknown}", headers=headers), 400,
                    f'"localeId" {unknown} is not a known locale')
    assert locale_lookups() <= 1 + int(time.monotonic() - started)


def test_a_new_locale_is_known_within_a_second(fresh_app, fresh_db):
    client = fresh_app.test_client()
    headers = bearer(make_token())
    assert_boom(client.get(f"/csat/agents/list?localeId={NEW_LOCALE}", headers=headers), 400)
    run_sql(fresh_db, "INSERT INTO locales (id, code, name, country) VALUES (%s, 'zx', 'Newland', 'MX')",
            (NEW_LOCALE,))
    time.sleep(1.1)
    assert client.get(f"/csat/agents/list?localeId={NEW_LOCALE}", headers=headers).status_code == 200
