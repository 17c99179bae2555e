"""GET /csat/themes on hand-built comments: terms, counts, lifts and examples worked out by hand.

A database of this module's own holds only the ratings below, written by companies of three
countries (Mexico: Spanish, Brazil: Portuguese, United States: English). In range: 11
comments, 6 of detractors (1-2 stars), 4 of promoters (4-5 stars), 1 of 3 stars. Rating 12
has no comment, 13 an empty one, 14 lies outside the range.

lift = (count / group's comments) / (all comments with the term / 11), e.g. "retras":
(3 / 6) / (3 / 11) = 1.83; terms with lift <= 1 are left out ("entreg" among detractors:
(1 / 6) / (2 / 11) = 0.92; "servici": 0.61).
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from app import create_app
from tests.servers import assert_boom, make_settings, run_sql

# rating id: (company country, score, comment, created at)
IN_RANGE = "2026-03-10 12:00Z"
RATINGS = {
    1: ("MX", 1, "Retraso enorme en la entrega", IN_RANGE),
    2: ("MX", 2, "Otro retraso, pésimo servicio", IN_RANGE),
    3: ("MX", 1, "El retraso de siempre", IN_RANGE),
    4: ("MX", 5, "Excelente servicio, muy rápido", IN_RANGE),
    5: ("MX", 4, "Entrega rápida y excelente", IN_RANGE),
    6: ("MX", 5, "Todo excelente 10/10", IN_RANGE),
    7: ("MX", 3, "Servicio normal", IN_RANGE),
    8: ("BR", 1, "Não chegou nada, atendimento péssimo", IN_RANGE),
    9: ("BR", 2, "Nunca chegou a encomenda", IN_RANGE),
    10: ("US", 1, "The parcels were lost again", IN_RANGE),
    11: ("US", 5, "Great support, parcel arrived early", IN_RANGE),
    12: ("MX", 5, None, IN_RANGE),
    13: ("MX", 1, "", IN_RANGE),
    14: ("MX", 1, "Retraso, retraso", "2026-02-01 12:00Z"),
}
RANGE = "startDate=2026-03-01&endDate=2026-03-31"
L183, L275, L138 = 1.83, 2.75, 1.38  # 11/6, 11/4, 11/8 to 2 decimals

DETRACTORS = [
    {"term": "retras", "count": 3, "lift": L183, "example_rating_id": 3},
    {"term": "cheg", "count": 2, "lift": L183, "example_rating_id": 9},
    {"term": "atend", "count": 1, "lift": L183, "example_rating_id": 8},
    {"term": "encomend", "count": 1, "lift": L183, "example_rating_id": 9},
    {"term": "enorm", "count": 1, "lift": L183, "example_rating_id": 1},
    {"term": "lost", "count": 1, "lift": L183, "example_rating_id": 10},
    {"term": "nad", "count": 1, "lift": L183, "example_rating_id": 8},
    {"term": "nunc", "count": 1, "lift": L183, "example_rating_id": 9},
    {"term": "pesim", "count": 1, "lift": L183, "example_rating_id": 2},
    {"term": "péssim", "count": 1, "lift": L183, "example_rating_id": 8},  # byte order: e < é < s
    {"term": "siempr", "count": 1, "lift": L183, "example_rating_id": 3},
]
PROMOTERS = [
    {"term": "excelent", "count": 3, "lift": L275, "example_rating_id": 6},
    {"term": "rap", "count": 2, "lift": L275, "example_rating_id": 5},
    {"term": "arriv", "count": 1, "lift": L275, "example_rating_id": 11},
    {"term": "earli", "count": 1, "lift": L275, "example_rating_id": 11},
    {"term": "entreg", "count": 1, "lift": L138, "example_rating_id": 5},
    {"term": "great", "count": 1, "lift": L275, "example_rating_id": 11},
    {"term": "parcel", "count": 1, "lift": L138, "example_rating_id": 11},
    {"term": "support", "count": 1, "lift": L275, "example_rating_id": 11},
]
STOP_WORDS = ("el", "la", "en", "de", "y", "muy", "todo", "tod", "otro", "the", "were", "wer",
              "again", "não", "a")


def company_of(cur, country):
    cur.execute("SELECT min(id) FROM companies WHERE country = %s", (country,))
    return cur.fetchone()[0]


def insert_rating(cur, rating_id, country, score, comment, created_at):
    cur.execute(
        "INSERT INTO ratings (id, score, comment, source, source_platform, reference_id, "
        "company_id, locale_id, created_at) "
        "SELECT %s, %s, %s, 'shop', 'platform', 5000 + %s, c.id, c.locale_id, %s "
        "FROM companies c WHERE c.id = %s",
        (rating_id, score, comment, rating_id, created_at, company_of(cur, country)))


@pytest.fixture(scope="module")
def themes_db(databases, template_db):
    url = databases.url(databases.create("themes", template=template_db))
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE ratings CASCADE")
        for rating_id, values in RATINGS.items():
            insert_rating(cur, rating_id, *values)
    conn.close()
    return url


@pytest.fixture(scope="module")
def themes_app(themes_db):
    application = create_app(make_settings(themes_db))
    application.config["TESTING"] = True
    yield application
    application.extensions["csat_db"].close()


@pytest.fixture
def get(themes_app, auth_headers):
    client = themes_app.test_client()
    headers = auth_headers(permissions=["menu-csat"])
    return lambda path: client.get(path, headers=headers)


def themes(get, query=RANGE):
    response = get(f"/csat/themes?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_terms_counts_lifts_and_examples_by_hand(get):
    assert themes(get) == {"start_date": "2026-03-01", "end_date": "2026-03-31",
                           "detractors": DETRACTORS, "promoters": PROMOTERS}


def test_stop_words_and_numbers_are_absent(get):
    body = themes(get)
    terms = {entry["term"] for group in ("detractors", "promoters") for entry in body[group]}
    assert not terms & set(STOP_WORDS)
    assert "10/10" not in terms


def test_each_comment_is_read_in_its_companys_language(get):
    terms = {entry["term"] for entry in themes(get)["detractors"]}
    assert {"cheg", "péssim"} <= terms  # Portuguese stems (Spanish would keep "chegou")
    assert {"retras", "pesim"} <= terms  # Spanish stems
    assert "lost" in terms and "parcels" not in terms  # English: "the", "were" are stop words


def test_the_list_filters_apply(themes_db, get):
    mexican = run_sql(themes_db, "SELECT company_id FROM ratings WHERE id = 1")[0][0]
    body = themes(get, f"{RANGE}&companyId={mexican}")
    # 7 comments, 3 of detractors: "retras" (3 / 3) / (3 / 7) = 2.33, "entreg" (1 / 3) / (2 / 7) = 1.17
    assert [(e["term"], e["count"], e["lift"]) for e in body["detractors"]] == [
        ("retras", 3, 2.33), ("enorm", 1, 2.33), ("entreg", 1, 1.17), ("pesim", 1, 2.33),
        ("siempr", 1, 2.33)]
    assert body["promoters"][0] == {"term": "excelent", "count": 3, "lift": 2.33,
                                    "example_rating_id": 6}
    # Only detractors' comments: every term's share is the same in the group and overall
    # (lift 1), so none is typical of the group.
    assert themes(get, f"{RANGE}&score=1,2")["detractors"] == []
    assert themes(get, f"{RANGE}&companyId=999999999") == {
        "start_date": "2026-03-01", "end_date": "2026-03-31", "detractors": [], "promoters": []}


def test_the_remembered_body_changes_after_a_new_rating(themes_db, get):
    assert themes(get)["detractors"][0] == DETRACTORS[0]  # remembered by this worker now
    conn = psycopg2.connect(themes_db)
    try:
        with conn, conn.cursor() as cur:
            insert_rating(cur, 15, "MX", 2, "Un retraso más", IN_RANGE)
        body = themes(get)
        # 12 comments, 7 of detractors: (4 / 7) / (4 / 12) = 1.71
        assert body["detractors"][0] == {"term": "retras", "count": 4, "lift": 1.71,
                                         "example_rating_id": 15}
    finally:
        run_sql(themes_db, "DELETE FROM ratings WHERE id = 15")
    assert themes(get)["detractors"] == DETRACTORS


def test_a_company_moving_country_rereads_its_comments(themes_db, get):
    assert "cheg" in {entry["term"] for entry in themes(get)["detractors"]}
    brazilian = run_sql(themes_db, "SELECT company_id FROM ratings WHERE id = 8")[0][0]
    run_sql(themes_db, "UPDATE companies SET country = 'MX' WHERE id = %s", (brazilian,))
    try:
        terms = {entry["term"] for entry in themes(get)["detractors"]}
        assert "chegou" in terms and "cheg" not in terms  # read as Spanish now
    finally:
        run_sql(themes_db, "UPDATE companies SET country = 'BR' WHERE id = %s", (brazilian,))
    assert themes(get)["detractors"] == DETRACTORS


def test_comment_terms_follow_edits_and_empty_comments(themes_db):
    terms = lambda: run_sql(themes_db, "SELECT terms::text FROM rating_comment_terms "  # noqa: E731
                                       "WHERE rating_id = 7")
    assert terms() == [("'normal':2 'servici':1",)]
    run_sql(themes_db, "UPDATE ratings SET comment = 'Entrega normal' WHERE id = 7")
    assert terms() == [("'entreg':1 'normal':2",)]
    run_sql(themes_db, "UPDATE ratings SET comment = '' WHERE id = 7")
    assert terms() == []
    run_sql(themes_db, "UPDATE ratings SET comment = 'Servicio normal' WHERE id = 7")
    assert terms() == [("'normal':2 'servici':1",)]


def test_without_dates_the_last_90_days_in_the_business_time_zone(themes_db, themes_app, get):
    today = datetime.now(ZoneInfo(themes_app.config["CSAT"].time_zone)).date()
    body = themes(get, "")
    assert (body["start_date"], body["end_date"]) == (str(today - timedelta(days=89)), str(today))
    body = themes(get, "endDate=2026-03-31")
    assert (body["start_date"], body["end_date"]) == ("2026-01-01", "2026-03-31")
    assert body["detractors"][0]["term"] == "retras" and body["detractors"][0]["count"] == 4
    body = themes(get, "startDate=2026-01-01")
    assert (body["start_date"], body["end_date"]) == ("2026-01-01", "2026-03-31")


def test_errors(get, themes_app, auth_headers):
    body = assert_boom(get("/csat/themes?score=9"), 400)
    assert body["validation"] == {"source": "query", "keys": ["score"]}
    assert_boom(get("/csat/themes?startDate=2026-03-02&endDate=2026-03-01"), 422,
                '"startDate" must not be after "endDate"')
    client = themes_app.test_client()
    assert_boom(client.get("/csat/themes", headers=auth_headers(permissions=["csat-add-comments"])), 403)
    assert_boom(client.get("/csat/themes"), 401)
