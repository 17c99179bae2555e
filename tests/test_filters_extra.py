"""The filters hasComment, followUp and q on the list, the report export and the summary.

A database of this module's own holds only the ratings below, so each filter's exact
result is known: the three endpoints must select the same rating ids (the summary: as many).
"""

import json

import psycopg2
import pytest

from app import create_app
from tests.servers import assert_boom, make_settings

# rating id: (score, comment, followed up)
RATINGS = {
    1: (5, "Envío rápido, gracias", False),
    2: (1, "ENVÍO TARDÍO", False),
    3: (2, "envio sin acento", True),
    4: (4, "100% recomendado", False),
    5: (3, "100 por ciento", False),
    6: (2, "código a_b", False),
    7: (1, "código axb", True),
    8: (5, None, False),
    9: (2, "", False),
    10: (4, "Back\\slash", True),
}


@pytest.fixture(scope="module")
def filter_app(databases, template_db):
    url = databases.url(databases.create("filters_extra", template=template_db))
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE ratings CASCADE")
        for rating_id, (score, comment, followed) in RATINGS.items():
            cur.execute(
                "INSERT INTO ratings (id, score, comment, source, source_platform, reference_id, "
                "company_id, locale_id, created_at) "
                "SELECT %s, %s, %s, 'shop', 'platform', %s, c.id, c.locale_id, "
                "       timestamptz '2026-03-01 12:00+00' + %s * interval '1 minute' "
                "FROM companies c ORDER BY c.id LIMIT 1",
                (rating_id, score, comment, 7000 + rating_id, rating_id))
            if followed:
                cur.execute("INSERT INTO rating_follow_ups (rating_id, comments, created_by) "
                            "SELECT %s, 'Called', min(id) FROM administrators", (rating_id,))
    conn.close()
    application = create_app(make_settings(url))
    application.config["TESTING"] = True
    yield application
    application.extensions["csat_db"].close()


@pytest.fixture
def get(filter_app, auth_headers):
    client = filter_app.test_client()
    headers = auth_headers(permissions=["menu-csat"])
    return lambda path: client.get(path, headers=headers)


def listed_ids(get, query):
    response = get(f"/csat?length=1000&{query}")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    ids = sorted(row["rating_id"] for row in body["data"])
    assert body["recordsFiltered"] == len(ids)
    return ids


def exported_ids(get, query):
    response = get(f"/csat?report=true&{query}")
    assert response.status_code == 200
    lines = response.get_data(as_text=True).splitlines()
    return sorted(row["rating_id"] for line in lines for row in json.loads(line))


def exported_csv_ids(get, query):
    response = get(f"/csat?report=true&format=csv&{query}")
    assert response.status_code == 200
    rows = response.get_data(as_text=True).splitlines()[1:]
    return sorted(int(row.split(",", 1)[0]) for row in rows)


def summary_total(get, query):
    response = get(f"/csat/summary?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["total"]


CASES = [
    ("hasComment=true", [1, 2, 3, 4, 5, 6, 7, 10]),
    ("hasComment=false", [8, 9]),  # null and empty comments
    ("hasComment=FALSE", [8, 9]),
    ("followUp=pending", [2, 6, 9]),  # 1-2 stars without a follow-up
    ("followUp=done", [3, 7, 10]),  # any score with a follow-up
    ("followUp=Done&hasComment=true", [3, 7, 10]),
    ("q=envío", [1, 2]),  # case-insensitive, accented letters included
    ("q=ENVÍO", [1, 2]),
    ("q=tardío", [2]),
    ("q=envio", [3]),  # accents are matched as written, not folded
    ("q=%20rápido%20", [1]),  # trimmed
    ("q=100%25", [4]),  # % is a literal percent sign, not a wildcard
    ("q=a_b", [6]),  # _ is a literal underscore, not any character
    ("q=%25", [4]),
    ("q=_", [6]),
    ("q=back\\slash", [10]),  # a backslash is literal too
    ("q=zzz", []),
    ("q=gracias&hasComment=true&followUp=pending", []),
    ("q=c%C3%B3digo&followUp=pending", [6]),
]


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_list_export_and_summary_select_the_same_ratings(get, query, expected):
    assert listed_ids(get, query) == expected
    assert exported_ids(get, query) == expected
    assert exported_csv_ids(get, query) == expected
    assert summary_total(get, query) == len(expected)


def test_blank_values_mean_no_filter(get):
    assert listed_ids(get, "q=&hasComment=&followUp=") == sorted(RATINGS)
    assert listed_ids(get, "q=%20%20") == sorted(RATINGS)


@pytest.mark.parametrize(("query", "key"), [
    ("hasComment=perhaps", "hasComment"),
    ("followUp=soon", "followUp"),
    ("q=" + "x" * 201, "q"),
])
@pytest.mark.parametrize("path", ["/csat", "/csat?report=true", "/csat/summary"])
def test_invalid_values_are_400_everywhere(get, path, query, key):
    separator = "&" if "?" in path else "?"
    body = assert_boom(get(f"{path}{separator}{query}"), 400)
    assert body["validation"] == {"source": "query", "keys": [key]}
