"""GET /csat/{id} and GET /csat/ticket/{ticketId}: shape, values, permissions and locales."""

import math

import psycopg2
import psycopg2.extras
import pytest

from schemas.ratings import RatingDetails, RatingRow
from tests.servers import assert_boom

DETAIL_FIELDS = list(RatingDetails().fields)
SHARED_WITH_LIST = sorted(set(DETAIL_FIELDS) & set(RatingRow().fields))
ISO_UTC = "YYYY-MM-DD\"T\"HH24:MI:SS\"Z\""

# One rating of each kind the details must handle.
KINDS = {
    "resolved ticket": "r.source = 'ticket' AND t.resolved_at IS NOT NULL AND t.solved_by_admin_id IS NOT NULL "
                       "AND EXISTS (SELECT 1 FROM ticket_comments tc WHERE tc.ticket_id = t.id)",
    "carrier": "r.source = 'carrier'",
    "shop": "r.source = 'shop'",
    "followed up": "r.source = 'ticket' AND EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)",
}


def query(url, statement, params=None):
    conn = psycopg2.connect(url, options="-c TimeZone=UTC")
    try:
        with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def ratings(shared_db):
    """kind -> the expected facts of one rating of that kind, straight from the tables."""
    found = {}
    for kind, condition in KINDS.items():
        found[kind] = query(shared_db, f"""
            SELECT r.id, r.ticket_id, r.locale_id, r.score, u.name AS user_name,
                   a.name AS admin_name, s.name AS admin_solution_name,
                   t.created_at AS ticket_created_at, t.resolved_at,
                   (SELECT to_char(max(tc.created_at) AT TIME ZONE 'UTC', '{ISO_UTC}')
                    FROM ticket_comments tc WHERE tc.ticket_id = t.id) AS latest_comment_date,
                   f.comments AS follow_up_comments, f.created_by AS follow_up_created_by
            FROM ratings r
            LEFT JOIN tickets t ON t.id = r.ticket_id
            LEFT JOIN users u ON u.id = r.user_id
            LEFT JOIN administrators a ON a.id = t.assigned_admin_id
            LEFT JOIN administrators s ON s.id = t.solved_by_admin_id
            LEFT JOIN rating_follow_ups f ON f.rating_id = r.id
            WHERE {condition}
            ORDER BY r.id LIMIT 1""")[0]
    return found


def details(client, headers, path):
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert list(body) == ["details"]
    return body["details"]


@pytest.mark.parametrize("kind", KINDS)
def test_details_have_the_original_keys_types_and_values(client, auth_headers, ratings, kind):
    expected = ratings[kind]
    got = details(client, auth_headers(), f"/csat/{expected['id']}")
    assert list(got) == DETAIL_FIELDS
    assert RatingDetails().validate(got) == {}
    assert got["rating_id"] == expected["id"] and got["rating"] == expected["score"]
    for key in ("user_name", "admin_name", "admin_solution_name", "latest_comment_date",
                "follow_up_comments", "follow_up_created_by"):
        assert got[key] == expected[key], key
    if expected["resolved_at"] is None:
        assert got["diff_hours"] is None
    else:
        hours = (expected["resolved_at"] - expected["ticket_created_at"]).total_seconds() / 3600
        assert got["diff_hours"] == math.floor(hours) and type(got["diff_hours"]) is int
    if kind in ("carrier", "shop"):
        assert [got[key] for key in ("ticket_type", "ticket_type_description", "admin_name",
                                     "admin_solution_name", "diff_hours", "latest_comment_date")] == [None] * 6
    if kind == "resolved ticket":
        assert all(type(got[key]) is str for key in ("ticket_type", "admin_name", "admin_solution_name",
                                                     "latest_comment_date"))


@pytest.mark.parametrize("kind", KINDS)
def test_details_agree_with_the_list_row(client, auth_headers, ratings, kind):
    rating_id = ratings[kind]["id"]
    got = details(client, auth_headers(), f"/csat/{rating_id}")
    body = client.get("/csat", query_string={"companyId": got["company_id"], "length": 1000},
                      headers=auth_headers()).get_json()
    row = next(row for row in body["data"] if row["rating_id"] == rating_id)
    assert {key: got[key] for key in SHARED_WITH_LIST} == {key: row[key] for key in SHARED_WITH_LIST}


@pytest.mark.parametrize("kind", ["resolved ticket", "followed up"])
def test_ticket_variant_returns_the_same_details(client, auth_headers, ratings, kind):
    expected = ratings[kind]
    by_id = details(client, auth_headers(), f"/csat/{expected['id']}")
    assert details(client, auth_headers(), f"/csat/ticket/{expected['ticket_id']}") == by_id


def test_an_unresolved_ticket_has_no_solver_and_no_diff_hours(fresh_db, fresh_client, auth_headers):
    """The seed rates only resolved tickets, so this test reopens one on its own database."""
    conn = psycopg2.connect(fresh_db)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute("""
                UPDATE tickets t SET resolved_at = NULL, solved_by_admin_id = NULL
                FROM ratings r
                WHERE r.ticket_id = t.id
                  AND t.id = (SELECT min(ticket_id) FROM ratings r2 JOIN tickets t2 ON t2.id = r2.ticket_id
                              WHERE t2.assigned_admin_id IS NOT NULL)
                RETURNING r.id, t.id""")
            rating_id, ticket_id = cursor.fetchone()
    finally:
        conn.close()
    got = details(fresh_client, auth_headers(), f"/csat/{rating_id}")
    assert list(got) == DETAIL_FIELDS
    assert RatingDetails().validate(got) == {}
    assert (got["diff_hours"], got["admin_solution_name"]) == (None, None)
    assert type(got["admin_name"]) is str and got["source"] == "ticket"
    assert details(fresh_client, auth_headers(), f"/csat/ticket/{ticket_id}") == got
    row = next(row for row in fresh_client.get(
        "/csat", query_string={"companyId": got["company_id"], "length": 1000},
        headers=auth_headers()).get_json()["data"] if row["rating_id"] == rating_id)
    assert {key: got[key] for key in SHARED_WITH_LIST} == {key: row[key] for key in SHARED_WITH_LIST}


def test_ticket_without_rating_is_null(client, auth_headers, shared_db):
    ticket_id = query(shared_db, "SELECT t.id FROM tickets t WHERE NOT EXISTS "
                                 "(SELECT 1 FROM ratings r WHERE r.ticket_id = t.id) ORDER BY t.id LIMIT 1")[0]["id"]
    assert details(client, auth_headers(), f"/csat/ticket/{ticket_id}") is None
    assert details(client, auth_headers(), "/csat/ticket/999999999") is None


@pytest.mark.parametrize("path", ["/csat/999999999", "/csat/0"])
def test_unknown_rating_is_404(client, auth_headers, path):
    assert_boom(client.get(path, headers=auth_headers()), 404, "Rating not found")


@pytest.mark.parametrize("path", ["/csat/99999999999999999999", "/csat/-1", "/csat/abc",
                                  "/csat/ticket/abc", "/csat/ticket/99999999999999999999"])
def test_ids_that_are_not_ids_are_unknown_routes(client, auth_headers, path):
    assert_boom(client.get(path, headers=auth_headers()), 404)


# --- permissions and locales ----------------------------------------------------------------

@pytest.mark.parametrize("permissions, status", [
    (["menu-csat"], 200),
    (["company-request-view"], 200),
    (["menu-csat", "company-request-view"], 200),
    (["csat-add-comments", "csat-update-comments"], 403),
    ([], 403),
])
def test_ticket_variant_accepts_either_permission(client, auth_headers, ratings, permissions, status):
    ticket_id = ratings["resolved ticket"]["ticket_id"]
    response = client.get(f"/csat/ticket/{ticket_id}", headers=auth_headers(permissions=permissions))
    if status == 200:
        assert response.status_code == 200 and response.get_json()["details"]["rating_id"] == \
            ratings["resolved ticket"]["id"]
    else:
        assert_boom(response, 403)


@pytest.mark.parametrize("permissions", [["company-request-view"], ["csat-add-comments"]])
def test_details_by_id_requires_menu_csat(client, auth_headers, ratings, permissions):
    response = client.get(f"/csat/{ratings['carrier']['id']}", headers=auth_headers(permissions=permissions))
    assert_boom(response, 403)


@pytest.mark.parametrize("path", ["/csat/1", "/csat/ticket/1"])
def test_details_require_a_token(client, path):
    assert_boom(client.get(path), 401)


def test_a_rating_outside_the_locale_claim_is_404_on_both_routes(client, auth_headers, ratings):
    rating = ratings["resolved ticket"]
    outside = auth_headers(locales=[locale for locale in range(1, 6) if locale != rating["locale_id"]])
    assert_boom(client.get(f"/csat/{rating['id']}", headers=outside), 404, "Rating not found")
    assert_boom(client.get(f"/csat/ticket/{rating['ticket_id']}", headers=outside), 404, "Rating not found")
    inside = auth_headers(locales=[rating["locale_id"]])
    assert details(client, inside, f"/csat/{rating['id']}")["rating_id"] == rating["id"]
    assert details(client, inside, f"/csat/ticket/{rating['ticket_id']}")["rating_id"] == rating["id"]
