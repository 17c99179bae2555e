"""Summary v2 on hand-built data: shippers at risk, locales, ranks, each entry's filter, and
compare=previous's changes with their two-proportion z-test.

Three companies of a locale of their own, in March 2027 (after every seeded rating):
  A: 40 ratings, 30 of them 5 stars (75 %), the rest 1 star; in the previous period 20 of 40.
  B: 40 ratings, 10 of them 5 stars (25 %); before, 10 of 40.
  C: 5 ratings, all 5 stars: too few to rank (SUMMARY_MIN_SAMPLE 30).
The previous period of 2027-03-01..2027-03-31 is 2027-01-29..2027-02-28.
"""

import psycopg2
import pytest

from app import create_app
from tests.servers import make_settings

LOCALE = 91
A, B, C = 910001, 910002, 910003
CURRENT = {"startDate": "2027-03-01", "endDate": "2027-03-31"}
# (company, day, satisfied, unsatisfied)
RATINGS = [(A, "2027-03-05", 30, 10), (B, "2027-03-06", 10, 30), (C, "2027-03-07", 5, 0),
           (A, "2027-02-10", 20, 20), (B, "2027-02-11", 10, 30)]


def build(url):
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO locales (id, code, name, country) VALUES (%s, 'zy', 'Testland', 'MX')", (LOCALE,))
        for company, name in ((A, "Alfa Envíos"), (B, "Beta Logística"), (C, "Gama Shop")):
            cur.execute("INSERT INTO companies (id, locale_id, name, country) VALUES (%s, %s, %s, 'MX')",
                        (company, LOCALE, name))
        reference = 7_000_000
        for company, day, satisfied, unsatisfied in RATINGS:
            for score in [5] * satisfied + [1] * unsatisfied:
                reference += 1
                cur.execute("INSERT INTO ratings (score, source, source_platform, reference_id, company_id, "
                            "locale_id, created_at) VALUES (%s, 'shop', 'platform', %s, %s, %s, %s)",
                            (score, reference, company, LOCALE, f"{day} 12:00:00+00"))
    conn.close()


@pytest.fixture(scope="module")
def client(databases, template_db):
    url = databases.url(databases.create("summary_v2", template=template_db))
    build(url)
    application = create_app(make_settings(url))
    yield application.test_client()
    application.extensions["csat_db"].close()


@pytest.fixture
def get(client, auth_headers):
    headers = auth_headers(permissions=["menu-csat"])

    def fetch(path, **query):
        response = client.get(path, query_string=query, headers=headers)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return fetch


def test_shippers_at_risk_worst_first_with_ranks(get):
    body = get("/csat/summary", localeId=LOCALE, **CURRENT)
    companies = body["breakdowns"]["company"]
    # C has 5 ratings, fewer than SUMMARY_MIN_SAMPLE: not ranked, not listed.
    assert [(e["key"], e["name"], e["count"], e["csat"], e["rank"]) for e in companies] == [
        (B, "Beta Logística", 40, 25.0, 2), (A, "Alfa Envíos", 40, 75.0, 1)]
    assert [e["filter"] for e in companies] == [{"companyId": str(B)}, {"companyId": str(A)}]
    assert body["breakdowns"]["locale"] == [{
        "key": LOCALE, "name": "Testland", "count": 85, "average": 3.12, "csat": 52.9,
        "csat_lower": 42.4, "csat_upper": 63.2, "low_sample": False, "rank": 1,
        "filter": {"localeId": str(LOCALE)}, "csat_change": None, "significant": None}]
    assert body["change"] is None


def test_low_sample_entries_have_no_rank(get):
    body = get("/csat/summary", localeId=LOCALE, companyId=C, **CURRENT)
    assert body["breakdowns"]["company"] == []  # the only company has too few ratings to rank
    assert [(e["count"], e["low_sample"], e["rank"]) for e in body["breakdowns"]["source"]] == [(5, True, None)]


def test_every_filter_selects_exactly_its_entry(get):
    body = get("/csat/summary", localeId=LOCALE, **CURRENT)
    checked = 0
    for dimension, entries in body["breakdowns"].items():
        for entry in entries:
            if entry["filter"] is None:
                continue
            listed = get("/csat", **{"localeId": LOCALE, "length": 1, **CURRENT, **entry["filter"]})
            assert listed["recordsFiltered"] == entry["count"], (dimension, entry)
            checked += 1
    assert checked >= 5  # source, platform, locale and two companies


def test_compare_previous_changes_and_their_significance(get):
    body = get("/csat/summary", localeId=LOCALE, compare="previous", **CURRENT)
    # 45 of 85 satisfied now (52.94 %), 30 of 80 before (37.5 %); by hand:
    # pooled p = 75/165, z = 0.154412 / 0.077564 = 1.9908, p = erfc(1.9908 / sqrt 2) = 0.0465.
    assert body["change"] == {"csat": 15.4, "average": 0.62, "total": 5, "p_value": 0.0465,
                              "significant": True}
    by_key = {e["key"]: e for e in body["breakdowns"]["company"]}
    # A: 75 % vs 50 %, p = 0.0209; B: 25 % vs 25 %, p = 1.
    assert (by_key[A]["csat_change"], by_key[A]["significant"]) == (25.0, True)
    assert (by_key[B]["csat_change"], by_key[B]["significant"]) == (0.0, False)
    assert body["previous"]["total"] == 80


def test_an_entry_the_previous_period_lacks_has_no_change(get):
    body = get("/csat/summary", localeId=LOCALE, companyId=f"{A},{C}", compare="previous", **CURRENT)
    sources = body["breakdowns"]["source"]
    assert [(e["key"], e["csat_change"]) for e in sources] == [("shop", 27.8)]  # 35/45 now, A's 20/40 before
    before = get("/csat/summary", localeId=LOCALE, companyId=C, compare="previous", **CURRENT)
    assert before["change"]["p_value"] is None and before["change"]["significant"] is None
    assert [(e["csat_change"], e["significant"]) for e in before["breakdowns"]["source"]] == [(None, None)]
