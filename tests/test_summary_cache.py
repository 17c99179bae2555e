"""Remembered summaries (csat/queries/summary.py): served again only while rating_filter_version holds.

Each test writes to a database of its own and checks that the very next summary shows the
write, and that an unchanged database is answered from memory (no summary query at all).
The cells behind a summary are remembered in PostgreSQL and brought up to date there
(tests/test_rating_changes.py); the pruning that runs now and then is left out of `ran`.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from app import create_app
from csat import db
from tests.servers import make_settings, run_sql


@pytest.fixture
def summary(fresh_db, auth_headers, monkeypatch):
    """get(query) -> (body, names of the query files the request ran)."""
    application = create_app(make_settings(fresh_db))
    client = application.test_client()
    headers = auth_headers(permissions=["menu-csat"])
    original = db.run

    def get(query=""):
        ran = []

        def recording(name, params=None, **options):
            ran.append(name)
            return original(name, params, **options)

        monkeypatch.setattr(db, "run", recording)
        response = client.get(f"/csat/summary?{query}", headers=headers)
        monkeypatch.setattr(db, "run", original)
        assert response.status_code == 200, response.get_json()
        return response.get_json(), [name for name in ran
                                     if name not in ("admin_get", "locales_list", "rating_changes_prune")]

    yield get
    application.extensions["csat_db"].close()


def test_an_unchanged_database_is_answered_from_memory(summary):
    first, ran_first = summary("compare=previous&startDate=2025-01-01&endDate=2025-06-30")
    again, ran_again = summary("compare=previous&startDate=2025-01-01&endDate=2025-06-30")
    assert ran_first == ["summary_figures", "summary_cells_remember"] * 2  # this period, the previous
    assert ran_again == ["rating_filter_version_get"]
    assert again == first


def test_other_arguments_are_other_summaries(summary):
    whole, _ = summary("")
    fives, ran = summary("score=5")
    assert ran == ["summary_figures", "summary_cells_remember"]
    assert fives["total"] == whole["distribution"]["5"] < whole["total"]
    by_month, ran = summary("granularity=month")
    assert ran == ["summary_figures"]  # the same cells as the first: nothing new to remember


@pytest.mark.parametrize(("write", "check"), [
    ("INSERT INTO ratings (score, source, source_platform, reference_id, company_id, locale_id) "
     "SELECT 1, 'shop', 'platform', 1, id, locale_id FROM companies ORDER BY id LIMIT 1",
     lambda before, after: after["distribution"]["1"] == before["distribution"]["1"] + 1),
    ("DELETE FROM ratings WHERE id = (SELECT max(r.id) FROM ratings r WHERE r.score = 5 "
     "AND NOT EXISTS (SELECT FROM rating_follow_ups f WHERE f.rating_id = r.id))",
     lambda before, after: after["total"] == before["total"] - 1),
    ("INSERT INTO rating_follow_ups (rating_id, comments, created_by) SELECT r.id, 'Called', "
     "(SELECT min(id) FROM administrators) FROM ratings r WHERE r.score = 1 AND NOT EXISTS "
     "(SELECT FROM rating_follow_ups f WHERE f.rating_id = r.id) ORDER BY r.id LIMIT 1",
     lambda before, after: after["detractors"]["followed_up"] == before["detractors"]["followed_up"] + 1),
    ("UPDATE ticket_types SET description = 'Renamed type' WHERE id = (SELECT min(ticket_type_id) FROM ratings)",
     lambda before, after: "Renamed type" in [e["name"] for e in after["breakdowns"]["ticket_type"]]),
    ("UPDATE administrators SET name = 'Renamed Agent' WHERE id = (SELECT min(assigned_admin_id) FROM ratings)",
     lambda before, after: "Renamed Agent" in [e["name"] for e in after["breakdowns"]["agent"]]),
    ("UPDATE carriers SET description = 'Renamed Carrier' WHERE id = (SELECT min(carrier_id) FROM ratings)",
     lambda before, after: "Renamed Carrier" in [e["name"] for e in after["breakdowns"]["carrier"]]),
    ("UPDATE tickets SET assigned_admin_id = (SELECT max(id) FROM administrators) "
     "WHERE id = (SELECT min(ticket_id) FROM ratings)",
     lambda before, after: after["breakdowns"]["agent"] != before["breakdowns"]["agent"]),
])
def test_every_change_a_summary_shows_is_shown_at_once(summary, fresh_db, write, check):
    before, _ = summary("")
    assert summary("")[1] == ["rating_filter_version_get"]
    run_sql(fresh_db, write)
    after, ran = summary("")
    assert ran == ["rating_filter_version_get", "summary_figures", "summary_cells_remember"]
    assert check(before, after)


def test_a_write_that_changes_nothing_keeps_the_summary(summary, fresh_db):
    summary("")
    run_sql(fresh_db, "UPDATE ratings SET score = score WHERE false")
    run_sql(fresh_db, "UPDATE ticket_types SET description = description")
    assert summary("")[1] == ["rating_filter_version_get"]


def test_requests_that_miss_together_compute_once(fresh_db, auth_headers, monkeypatch):
    """Eight threads ask at once while the first computation is still running: one runs the
    summary query, the others wait for it and answer with its result."""
    application = create_app(make_settings(fresh_db))
    headers = auth_headers(permissions=["menu-csat"])
    original, ran = db.run, []

    def slow_summary(name, params=None, **options):
        ran.append(name)
        if name == "summary_figures":
            time.sleep(0.3)  # long enough for every other thread to arrive meanwhile
        return original(name, params, **options)

    monkeypatch.setattr(db, "run", slow_summary)
    start = threading.Barrier(8)

    def ask():
        start.wait()
        response = application.test_client().get("/csat/summary", headers=headers)
        return response.status_code, response.get_json()

    try:
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: ask(), range(8)))
    finally:
        application.extensions["csat_db"].close()
    assert {status for status, _ in answers} == {200}
    assert all(body == answers[0][1] for _, body in answers)
    assert ran.count("summary_figures") == 1
