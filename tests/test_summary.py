"""GET /csat/summary: every figure against values worked out by hand, and total = recordsFiltered.

The hand-built data set lives in a database of this module's own (a copy of the seeded
template whose ratings are replaced by eleven written below), served in the business time
zone America/Mexico_City (UTC-6 all year), so day boundaries fall at 06:00 UTC.
"""

import dataclasses

import psycopg2
import pytest

from app import create_app
from tests.servers import assert_boom, make_settings

TIME_ZONE = "America/Mexico_City"
LOCALE = 90
ANA, BETO = 9001, 9002  # agents
DAMAGED = 90  # ticket type

# rating id: (created_at UTC, score, source, platform, carrier, ticket id, comment, followed up)
# Local day in brackets. The summary range used below is 2026-03-10..2026-03-12; its
# previous period is 2026-03-07..2026-03-09.
RATINGS = {
    1: ("2026-03-10 06:00:00+00", 5, "ticket", "platform", "fedex", 1, "Excelente", False),  # [10] first instant
    2: ("2026-03-10 12:00:00+00", 4, "ticket", "whatsapp", "fedex", 2, "", False),          # [10]
    3: ("2026-03-11 00:00:00+00", 1, "ticket", "platform", "dhl", 3, "Malo", True),         # [10] UTC says 11th
    4: ("2026-03-11 18:00:00+00", 2, "carrier", "platform", "dhl", None, None, False),      # [11]
    5: ("2026-03-13 05:59:59+00", 3, "shop", "whatsapp", None, None, "Regular", False),     # [12] last second
    6: ("2026-03-12 10:00:00+00", 5, "carrier", "platform", "fedex", None, None, False),    # [12]
    7: ("2026-03-12 11:00:00+00", 2, "ticket", "platform", None, 4, "Tarde", True),         # [12]
    8: ("2026-03-10 05:59:59+00", 1, "shop", "whatsapp", None, None, "No", False),          # [09] previous, last second
    9: ("2026-03-07 06:00:00+00", 4, "carrier", "platform", "fedex", None, None, False),    # [07] previous, first instant
    10: ("2026-03-07 05:59:59+00", 5, "shop", "platform", None, None, None, False),         # [06] before previous
    11: ("2026-03-13 06:00:00+00", 5, "shop", "platform", None, None, None, False),         # [13] after the range
}
# ticket id: (assigned agent, type)
TICKETS = {1: (ANA, DAMAGED), 2: (ANA, DAMAGED), 3: (BETO, DAMAGED), 4: (None, DAMAGED)}
TICKET_BASE = 9_000_000

RANGE = "startDate=2026-03-10&endDate=2026-03-12"


def build_hand_data(url):
    """Replace the seeded ratings with RATINGS in locale LOCALE."""
    conn = psycopg2.connect(url)
    conn.autocommit = False
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE ratings CASCADE")
        cur.execute("INSERT INTO locales (id, code, name, country) VALUES (%s, 'zz', 'Test', 'MX')", (LOCALE,))
        cur.execute("INSERT INTO companies (id, locale_id, name, country) VALUES (900001, %s, 'Acme', 'MX')",
                    (LOCALE,))
        cur.execute("INSERT INTO administrators (id, name, active) VALUES (%s, 'Ana Test', true), "
                    "(%s, 'Beto Test', true)", (ANA, BETO))
        cur.execute("INSERT INTO ticket_types (id, name, description) VALUES (%s, 'zz_damaged', 'Damaged')",
                    (DAMAGED,))
        for ticket, (agent, type_id) in TICKETS.items():
            cur.execute(
                "INSERT INTO tickets (id, company_id, type_id, status_id, assigned_admin_id, created_at) "
                "VALUES (%s, 900001, %s, (SELECT min(id) FROM ticket_statuses), %s, '2026-03-01')",
                (TICKET_BASE + ticket, type_id, agent))
        for rating_id, (at, score, source, platform, carrier, ticket, comment, followed) in RATINGS.items():
            ticket_id = TICKET_BASE + ticket if ticket else None
            cur.execute(
                "INSERT INTO ratings (id, score, comment, source, source_platform, reference_id, ticket_id, "
                "company_id, locale_id, carrier_id, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, 900001, %s, (SELECT id FROM carriers WHERE name = %s), %s)",
                (rating_id, score, comment, source, platform, ticket_id or 5_000 + rating_id, ticket_id,
                 LOCALE, carrier, at))
            if followed:
                cur.execute("INSERT INTO rating_follow_ups (rating_id, comments, created_by) VALUES (%s, 'Called', %s)",
                            (rating_id, ANA))
    conn.close()


@pytest.fixture(scope="module")
def hand_app(databases, template_db):
    url = databases.url(databases.create("summary_hand", template=template_db))
    build_hand_data(url)
    application = create_app(make_settings(url, time_zone=TIME_ZONE))
    application.config["TESTING"] = True
    yield application
    application.extensions["csat_db"].close()


@pytest.fixture
def hand(hand_app, auth_headers):
    """get(query) -> the response of GET /csat/summary?query on the hand-built data."""
    client = hand_app.test_client()
    headers = auth_headers(permissions=["menu-csat"])

    def get(query="", **kwargs):
        return client.get(f"/csat/summary?{query}", headers=kwargs.get("headers", headers))

    return get


def entry(key, name, count, average, csat, lower, upper, low_sample=True):
    return {"key": key, "name": name, "count": count, "average": average, "csat": csat,
            "csat_lower": lower, "csat_upper": upper, "low_sample": low_sample}


def test_headline_figures_of_the_range(hand):
    body = hand(RANGE).get_json()
    # Ratings 1-7: scores 5,4,1,2,3,5,2 (sum 22); 4-5 stars: 1, 2, 6.
    assert {key: body[key] for key in ("start_date", "end_date", "total", "average", "csat",
                                       "distribution", "with_comment", "detractors")} == {
        "start_date": "2026-03-10",
        "end_date": "2026-03-12",
        "total": 7,
        "average": 3.14,  # 22 / 7 = 3.142857
        "csat": 42.9,  # 3 / 7 = 42.857 %
        "distribution": {"1": 1, "2": 2, "3": 1, "4": 1, "5": 2},
        "with_comment": 4,  # 1, 3, 5, 7 (2's comment is empty, 4's and 6's are null)
        "detractors": {"total": 3, "followed_up": 2, "pending": 1},  # 3, 4, 7; 3 and 7 followed up
    }
    assert body["previous"] is None


# Fields of summary v2 (rank, filter, compare's changes): tests/test_summary_v2.py.
V2_FIELDS = ("rank", "filter", "csat_change", "significant")


def test_breakdowns_with_wilson_intervals(hand):
    b = {dimension: [{k: v for k, v in e.items() if k not in V2_FIELDS} for e in entries]
         for dimension, entries in hand(RANGE).get_json()["breakdowns"].items()}
    # Wilson, z = 1.959964: k=2,n=4 -> [0.150, 0.850]; k=1,n=2 -> [0.095, 0.905];
    # k=0,n=1 -> [0.000, 0.793]; k=2,n=5 -> [0.118, 0.769]; k=3,n=3 -> [0.439, 1.000];
    # k=0,n=2 -> [0.000, 0.658]; k=1,n=3 -> [0.061, 0.792]; k=2,n=2 -> [0.342, 1.000];
    # k=1,n=4 -> [0.046, 0.699]
    assert b["source"] == [
        entry("ticket", "ticket", 4, 3.0, 50.0, 15.0, 85.0),  # 1,2,3,7: 5,4,1,2
        entry("carrier", "carrier", 2, 3.5, 50.0, 9.5, 90.5),  # 4,6: 2,5
        entry("shop", "shop", 1, 3.0, 0.0, 0.0, 79.3),  # 5: 3
    ]
    assert b["source_platform"] == [
        entry("platform", "platform", 5, 3.0, 40.0, 11.8, 76.9),  # 1,3,4,6,7: 5,1,2,5,2
        entry("whatsapp", "whatsapp", 2, 3.5, 50.0, 9.5, 90.5),  # 2,5: 4,3
    ]
    assert b["carrier"] == [
        entry("fedex", "FedEx", 3, 4.67, 100.0, 43.9, 100.0),  # 1,2,6: 5,4,5
        entry("dhl", "DHL Express", 2, 1.5, 0.0, 0.0, 65.8),  # 3,4: 1,2
        entry(None, None, 2, 2.5, 0.0, 0.0, 65.8),  # 5,7: 3,2
    ]
    assert b["ticket_type"] == [
        entry("zz_damaged", "Damaged", 4, 3.0, 50.0, 15.0, 85.0),  # 1,2,3,7
        entry(None, None, 3, 3.33, 33.3, 6.1, 79.2),  # 4,5,6: 2,3,5
    ]
    assert b["agent"] == [
        entry(None, None, 4, 3.0, 25.0, 4.6, 69.9),  # 4,5,6 (no ticket), 7 (unassigned): 2,3,5,2
        entry(ANA, "Ana Test", 2, 4.5, 100.0, 34.2, 100.0),  # 1,2
        entry(BETO, "Beto Test", 1, 1.0, 0.0, 0.0, 79.3),  # 3
    ]


def test_low_sample_follows_summary_min_sample(hand, hand_app, monkeypatch):
    settings = hand_app.config["CSAT"]
    monkeypatch.setitem(hand_app.config, "CSAT", dataclasses.replace(settings, summary_min_sample=3))
    b = hand(RANGE).get_json()["breakdowns"]
    assert [(e["key"], e["low_sample"]) for e in b["source"]] == [
        ("ticket", False), ("carrier", True), ("shop", True)]
    assert [(e["key"], e["low_sample"]) for e in b["carrier"]] == [
        ("fedex", False), ("dhl", True), (None, True)]


def test_trend_by_local_day(hand):
    trend = hand(RANGE).get_json()["trend"]
    assert trend == {"granularity": "day", "points": [
        # 1, 2 and 3 (00:00 UTC on the 11th is 18:00 on the 10th in Mexico City): 5,4,1
        {"start": "2026-03-10", "end": "2026-03-10", "total": 3, "average": 3.33, "csat": 66.7},
        {"start": "2026-03-11", "end": "2026-03-11", "total": 1, "average": 2.0, "csat": 0.0},
        {"start": "2026-03-12", "end": "2026-03-12", "total": 3, "average": 3.33, "csat": 33.3},
    ]}


@pytest.mark.parametrize("granularity", ["week", "WEEK", "month"])
def test_granularity_override_clips_periods_to_the_range(hand, granularity):
    trend = hand(f"{RANGE}&granularity={granularity}").get_json()["trend"]
    assert trend == {"granularity": granularity.lower(), "points": [
        {"start": "2026-03-10", "end": "2026-03-12", "total": 7, "average": 3.14, "csat": 42.9}]}


@pytest.mark.parametrize(("start", "end", "granularity", "points", "first", "last"), [
    ("2026-03-01", "2026-03-31", "day", 31, ("2026-03-01", "2026-03-01"), ("2026-03-31", "2026-03-31")),
    # 32 days: weeks from Sunday 1 March (the ISO week began Monday 23 February).
    ("2026-03-01", "2026-04-01", "week", 6, ("2026-03-01", "2026-03-01"), ("2026-03-30", "2026-04-01")),
    ("2026-01-01", "2026-07-01", "week", 27, ("2026-01-01", "2026-01-04"), ("2026-06-29", "2026-07-01")),
    ("2026-01-01", "2026-07-02", "month", 7, ("2026-01-01", "2026-01-31"), ("2026-07-01", "2026-07-02")),
])
def test_granularity_follows_the_range_length_and_keeps_empty_periods(hand, start, end, granularity,
                                                                     points, first, last):
    body = hand(f"startDate={start}&endDate={end}").get_json()
    trend = body["trend"]
    assert trend["granularity"] == granularity
    assert len(trend["points"]) == points
    assert (trend["points"][0]["start"], trend["points"][0]["end"]) == first
    assert (trend["points"][-1]["start"], trend["points"][-1]["end"]) == last
    assert sum(point["total"] for point in trend["points"]) == body["total"]
    empty = [point for point in trend["points"] if point["total"] == 0]
    assert empty and all(point["average"] is None and point["csat"] is None for point in empty)


def test_without_dates_the_range_is_the_data_range(hand):
    body = hand().get_json()
    assert (body["start_date"], body["end_date"], body["total"]) == ("2026-03-06", "2026-03-13", 11)
    assert body["trend"]["granularity"] == "day"
    assert [point["total"] for point in body["trend"]["points"]] == [1, 1, 0, 1, 3, 1, 3, 1]


def test_compare_previous_uses_the_equally_long_period_before(hand):
    previous = hand(f"{RANGE}&compare=previous").get_json()["previous"]
    # 2026-03-07 00:00 .. 2026-03-09 23:59:59 local: ratings 9 (first instant) and 8 (last second).
    assert previous == {
        "start_date": "2026-03-07",
        "end_date": "2026-03-09",
        "total": 2,
        "average": 2.5,
        "csat": 50.0,
        "distribution": {"1": 1, "2": 0, "3": 0, "4": 1, "5": 0},
        "with_comment": 1,
        "detractors": {"total": 1, "followed_up": 0, "pending": 1},
    }


def test_compare_previous_of_a_single_day(hand):
    previous = hand("startDate=2026-03-07&endDate=2026-03-07&compare=previous").get_json()["previous"]
    assert (previous["start_date"], previous["end_date"], previous["total"]) == ("2026-03-06", "2026-03-06", 1)


def test_nothing_matches(hand):
    body = hand("q=nothing-like-this").get_json()
    assert (body["start_date"], body["end_date"], body["total"], body["average"], body["csat"]) == (
        None, None, 0, None, None)
    assert body["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}
    assert body["detractors"] == {"total": 0, "followed_up": 0, "pending": 0}
    assert body["breakdowns"] == {"source": [], "source_platform": [], "carrier": [], "ticket_type": [],
                                  "agent": [], "locale": [], "company": [], "resolution_time": []}
    assert body["trend"] == {"granularity": None, "points": []}


def test_filters_narrow_every_figure(hand):
    body = hand(f"{RANGE}&carrier=FedEx&compare=previous").get_json()
    assert (body["total"], body["csat"]) == (3, 100.0)
    assert [e["key"] for e in body["breakdowns"]["carrier"]] == ["fedex"]
    assert [p["total"] for p in body["trend"]["points"]] == [2, 0, 1]
    assert body["previous"]["total"] == 1  # rating 9


@pytest.mark.parametrize(("query", "keys"), [
    ("compare=previous", ["endDate", "startDate"]),
    ("compare=previous&startDate=2026-03-10", ["endDate"]),
    ("compare=next&startDate=2026-03-10&endDate=2026-03-12", ["compare"]),
    ("granularity=year", ["granularity"]),
    ("score=6", ["score"]),
    ("hasComment=maybe", ["hasComment"]),
    ("followUp=later", ["followUp"]),
    ("startDate=10-03-2026", ["startDate"]),
])
def test_invalid_arguments_are_400(hand, query, keys):
    body = assert_boom(hand(query), 400)
    assert body["validation"] == {"source": "query", "keys": keys}


def test_paging_and_sort_arguments_are_ignored(hand):
    """The summary has no page: DataTables' own start/length/sortBy never make it a 400."""
    body = hand(f"{RANGE}&start=-1&length=5000&draw=x&sortBy=nothing&sortType=up").get_json()
    assert (body["total"], body["average"]) == (7, 3.14)


def test_start_after_end_is_422(hand):
    assert_boom(hand("startDate=2026-03-12&endDate=2026-03-10"), 422)


def test_locale_rules(hand, auth_headers):
    assert hand(f"localeId={LOCALE}").get_json()["total"] == 11
    assert hand("localeId=1").get_json()["total"] == 0
    assert_boom(hand("localeId=999"), 400)
    limited = auth_headers(permissions=["menu-csat"], locales=[1])
    assert hand("", headers=limited).get_json()["total"] == 0
    assert_boom(hand(f"localeId={LOCALE}", headers=limited), 403)


def test_permissions(hand, auth_headers):
    assert_boom(hand("", headers={}), 401)
    assert_boom(hand("", headers=auth_headers(permissions=["company-request-view"])), 403)


# On the seeded shared database: the summary counts exactly what the list counts.
SEEDED_FILTERS = [
    "",
    "localeId=1",
    "companyId=1,2,3",
    "source=ticket",
    "source=carrier,shop",
    "sourcePlatform=whatsapp",
    "rating=5",
    "score=1,2",
    "startDate=2025-06-01&endDate=2025-08-31",
    "startDate=2025-06-01",
    "endDate=2025-06-01",
    "agents=1,2,3,4,5,6,7,8,9,10",
    "carrier=fedex,DHL Express",
    "hasComment=true",
    "hasComment=false",
    "followUp=pending",
    "followUp=done",
    "q=gracias",
    "q=ENVÍO",
    "localeId=2&source=ticket&score=4,5&hasComment=true&startDate=2025-01-01&endDate=2026-12-31",
]


@pytest.mark.parametrize("query", SEEDED_FILTERS)
def test_total_equals_the_lists_records_filtered(client, auth_headers, query):
    headers = auth_headers(permissions=["menu-csat"])
    listed = client.get(f"/csat?length=1&{query}", headers=headers)
    summary = client.get(f"/csat/summary?{query}", headers=headers)
    assert listed.status_code == 200 and summary.status_code == 200, summary.get_json()
    body = summary.get_json()
    assert body["total"] == listed.get_json()["recordsFiltered"]
    assert sum(body["distribution"].values()) == body["total"]
    assert sum(point["total"] for point in body["trend"]["points"]) == body["total"]
    ticket_ratings = sum(e["count"] for e in body["breakdowns"]["source"] if e["key"] == "ticket")
    for dimension, entries in body["breakdowns"].items():
        if dimension == "company":  # the 25 shippers at risk, not every company
            continue
        expected = ticket_ratings if dimension == "resolution_time" else body["total"]
        assert sum(e["count"] for e in entries) == expected, dimension


def test_seeded_filters_select_something(client, auth_headers):
    """Guards the parametrized test above against comparing zeros."""
    headers = auth_headers(permissions=["menu-csat"])
    totals = {query: client.get(f"/csat/summary?{query}", headers=headers).get_json()["total"]
              for query in SEEDED_FILTERS}
    assert all(total > 0 for total in totals.values()), totals
