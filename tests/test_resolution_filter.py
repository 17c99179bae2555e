"""The `resolution` filter (migration 0025): ticket ratings by their ticket's resolution time.

A database of this module's own holds only the tickets and ratings below, so each bucket's
ratings are known by hand, edges included: exactly 4 h is 4h_to_24h, exactly 24 h 1d_to_3d,
exactly 72 h over_3d. List, report and summary must select the same ratings.
"""

import json
from datetime import timedelta

import psycopg2
import pytest

from app import create_app
from tests.servers import assert_boom, make_settings, run_sql

SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)
# rating id (= ticket id): resolved_at - created_at (None: unresolved), its bucket
TICKETS = {
    1: (timedelta(0), "under_4h"),
    2: (4 * HOUR - SECOND, "under_4h"),
    3: (4 * HOUR, "4h_to_24h"),
    4: (24 * HOUR - SECOND, "4h_to_24h"),
    5: (24 * HOUR, "1d_to_3d"),
    6: (72 * HOUR - SECOND, "1d_to_3d"),
    7: (72 * HOUR, "over_3d"),
    8: (timedelta(days=40), "over_3d"),
    9: (None, "unresolved"),
}
OTHER_RATINGS = (10, 11)  # a carrier and a shop rating: no ticket, never in a bucket
BUCKETS = ("under_4h", "4h_to_24h", "1d_to_3d", "over_3d", "unresolved")


def expected(*buckets):
    return sorted(rid for rid, (_, bucket) in TICKETS.items() if bucket in buckets)


@pytest.fixture(scope="module")
def resolution_db(databases, template_db):
    url = databases.url(databases.create("resolution", template=template_db))
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE ratings, ticket_comments, tickets CASCADE")
        for ticket_id, (took, _) in TICKETS.items():
            # Created in a DST-changing zone's spring-forward night: elapsed hours still count.
            cur.execute(
                "INSERT INTO tickets (id, company_id, type_id, status_id, created_at, resolved_at) "
                "SELECT %s, c.id, (SELECT min(id) FROM ticket_types), "
                "       (SELECT min(id) FROM ticket_statuses), "
                "       timestamptz '2026-03-08 01:30-06', timestamptz '2026-03-08 01:30-06' + %s "
                "FROM companies c ORDER BY c.id LIMIT 1", (ticket_id, took))
            cur.execute(
                "INSERT INTO ratings (id, score, comment, source, source_platform, reference_id, "
                "ticket_id, company_id, locale_id, created_at) "
                "SELECT t.id, 1 + t.id %% 5, 'ok', 'ticket', 'platform', t.id, t.id, c.id, "
                "       c.locale_id, timestamptz '2026-03-20 12:00Z' + t.id * interval '1 minute' "
                "FROM tickets t JOIN companies c ON c.id = t.company_id WHERE t.id = %s",
                (ticket_id,))
        for rating_id, source in zip(OTHER_RATINGS, ("carrier", "shop")):
            cur.execute(
                "INSERT INTO ratings (id, score, source, source_platform, reference_id, company_id, "
                "locale_id, created_at) "
                "SELECT %s, 3, %s, 'platform', 900 + %s, c.id, c.locale_id, "
                "       timestamptz '2026-03-21 12:00Z' FROM companies c ORDER BY c.id LIMIT 1",
                (rating_id, source, rating_id))
    conn.close()
    return url


@pytest.fixture(scope="module")
def resolution_app(resolution_db):
    application = create_app(make_settings(resolution_db))
    application.config["TESTING"] = True
    yield application
    application.extensions["csat_db"].close()


@pytest.fixture
def get(resolution_app, auth_headers):
    client = resolution_app.test_client()
    headers = auth_headers(permissions=["menu-csat"])
    return lambda path: client.get(path, headers=headers)


def listed(get, query):
    """(sorted rating ids of the page, recordsFiltered)."""
    response = get(f"/csat?length=1000&{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return sorted(row["rating_id"] for row in body["data"]), body["recordsFiltered"]


def exported(get, query):
    response = get(f"/csat?report=true&{query}")
    assert response.status_code == 200
    return sorted(row["rating_id"] for line in response.get_data(as_text=True).splitlines()
                  for row in json.loads(line))


def summary_total(get, query):
    response = get(f"/csat/summary?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["total"]


CASES = [(bucket, [bucket]) for bucket in BUCKETS] + [
    ("UNDER_4H,over_3d", ["under_4h", "over_3d"]),
    ("4h_to_24h,,4h_to_24h", ["4h_to_24h"]),
    (",".join(BUCKETS), list(BUCKETS)),
]


@pytest.mark.parametrize(("value", "buckets"), CASES, ids=[case[0] for case in CASES])
def test_list_report_and_summary_select_each_bucket_by_hand(get, value, buckets):
    ids, filtered = listed(get, f"resolution={value}")
    assert ids == expected(*buckets)
    assert filtered == len(ids)
    assert exported(get, f"resolution={value}") == ids
    assert summary_total(get, f"resolution={value}") == filtered


def test_bucket_counts_add_up_to_the_ticket_ratings(get):
    counts = [listed(get, f"resolution={bucket}")[1] for bucket in BUCKETS]
    assert counts == [2, 2, 2, 2, 1]
    assert sum(counts) == listed(get, "source=ticket")[1] == len(TICKETS)
    assert listed(get, "")[1] == len(TICKETS) + len(OTHER_RATINGS)


def test_the_summary_breaks_ticket_ratings_down_by_bucket(get):
    """breakdowns.resolution_time: the buckets in their order, each with its hand-made tickets
    (the edges exactly 4 h, 24 h and 72 h in the upper bucket), and a filter selecting it."""
    entries = get("/csat/summary").get_json()["breakdowns"]["resolution_time"]
    assert [(e["key"], e["name"], e["count"], e["filter"]) for e in entries] == [
        ("under_4h", "Under 4 hours", 2, {"resolution": "under_4h"}),
        ("4h_to_24h", "4 to 24 hours", 2, {"resolution": "4h_to_24h"}),
        ("1d_to_3d", "1 to 3 days", 2, {"resolution": "1d_to_3d"}),
        ("over_3d", "Over 3 days", 2, {"resolution": "over_3d"}),
        ("unresolved", "Unresolved", 1, {"resolution": "unresolved"})]
    for entry in entries:
        assert listed(get, f"resolution={entry['key']}")[0] == expected(entry["key"])


@pytest.mark.parametrize("value", BUCKETS)
def test_the_summary_trend_counts_only_the_bucket(get, value):
    """The trend's days add up to the filtered total (resolution, like the other filters
    beyond locale, scores and dates, takes the trend's single-pass path for speed)."""
    response = get(f"/csat/summary?resolution={value}&startDate=2026-03-01&endDate=2026-03-31")
    body = response.get_json()
    assert body["total"] == len(expected(value))
    assert sum(point["total"] for point in body["trend"]["points"]) == body["total"]


def test_combines_with_other_filters(get):
    assert listed(get, "resolution=over_3d,unresolved&score=3,4,5")[0] == [7, 8, 9]
    assert listed(get, "resolution=under_4h&source=carrier,shop")[0] == []


def test_an_unknown_bucket_is_400(get):
    body = assert_boom(get("/csat?resolution=under_4h,fast"), 400)
    assert body["validation"] == {"source": "query", "keys": ["resolution"]}
    body = assert_boom(get("/csat/summary?resolution=slow"), 400)
    assert body["validation"] == {"source": "query", "keys": ["resolution"]}


def version(url):
    return run_sql(url, "SELECT version FROM rating_filter_version")[0][0]


def test_a_ticket_resolved_later_moves_its_rating_and_the_version(resolution_db, get):
    assert listed(get, "resolution=unresolved")[0] == [9]  # remembered by this worker now
    before = version(resolution_db)
    run_sql(resolution_db, "UPDATE tickets SET resolved_at = created_at + interval '5 hours' "
                           "WHERE id = 9")
    try:
        assert version(resolution_db) > before
        assert listed(get, "resolution=unresolved") == ([], 0)
        assert listed(get, "resolution=4h_to_24h")[0] == [3, 4, 9]
        assert summary_total(get, "resolution=4h_to_24h") == 3
        # Within the same bucket nothing a filter reads changes: the version stays.
        moved = version(resolution_db)
        run_sql(resolution_db, "UPDATE tickets SET resolved_at = created_at + interval '6 hours' "
                               "WHERE id = 9")
        assert version(resolution_db) == moved
    finally:
        run_sql(resolution_db, "UPDATE tickets SET resolved_at = NULL WHERE id = 9")
    assert listed(get, "resolution=unresolved")[0] == [9]


def test_the_copy_cannot_be_written_by_hand(resolution_db, get):
    run_sql(resolution_db, "UPDATE ratings SET ticket_resolution = 'over_3d' WHERE id = 1")
    assert run_sql(resolution_db, "SELECT ticket_resolution FROM ratings WHERE id = 1") == [("under_4h",)]
    run_sql(resolution_db, "UPDATE ratings SET ticket_resolution = 'over_3d' WHERE id = 10")
    assert run_sql(resolution_db, "SELECT ticket_resolution FROM ratings WHERE id = 10") == [(None,)]


def test_the_seed_fills_every_bucket_from_the_ticket(shared_db):
    mismatches, ticket_ratings, buckets = run_sql(shared_db, """
        SELECT count(*) FILTER (WHERE r.ticket_resolution IS DISTINCT FROM
                                CASE WHEN t.id IS NOT NULL
                                     THEN csat_resolution_bucket(t.created_at, t.resolved_at) END),
               count(t.id), count(DISTINCT r.ticket_resolution)
        FROM ratings r LEFT JOIN tickets t ON t.id = r.ticket_id""")[0]
    assert mismatches == 0
    assert ticket_ratings > 0 and buckets >= 3
