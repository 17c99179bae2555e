"""recordsFiltered stays exact when the service reuses a count (csat/queries/filtered_counts.py, 0021).

Each test asks for a filter (the service remembers its count), changes something that
filter depends on straight in the database, and asks again: the count must follow.
"""

import pytest

from tests.servers import run_sql


def _filtered(client, headers, query):
    response = client.get("/csat", query_string={**query, "length": 1}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["recordsFiltered"]


def _version(url):
    return run_sql(url, "SELECT version FROM rating_filter_version")[0][0]


def test_a_remembered_count_is_reused_only_while_nothing_changed(fresh_client, fresh_db, auth_headers):
    headers = auth_headers()
    first = _filtered(fresh_client, headers, {"score": "1"})
    assert _filtered(fresh_client, headers, {"score": "1"}) == first
    (rating_id,) = run_sql(fresh_db, "SELECT id FROM ratings WHERE score = 1 ORDER BY id LIMIT 1")[0]
    run_sql(fresh_db, "UPDATE ratings SET score = 5 WHERE id = %s", (rating_id,))
    assert _filtered(fresh_client, headers, {"score": "1"}) == first - 1
    assert _filtered(fresh_client, headers, {"score": "1"}) == first - 1


def test_new_and_deleted_ratings_change_the_count(fresh_client, fresh_db, auth_headers):
    headers = auth_headers()
    query = {"source": "carrier", "score": "3"}
    before = _filtered(fresh_client, headers, query)
    run_sql(fresh_db, """
        INSERT INTO ratings (score, comment, source, source_platform, reference_id, company_id,
                             locale_id, user_id, carrier_id, created_at)
        SELECT 3, comment, source, source_platform, reference_id, company_id, locale_id,
               user_id, carrier_id, created_at
        FROM ratings WHERE source = 'carrier' ORDER BY id LIMIT 2""")
    assert _filtered(fresh_client, headers, query) == before + 2
    run_sql(fresh_db, """
        DELETE FROM ratings WHERE id IN (
            SELECT id FROM ratings WHERE source = 'carrier' AND score = 3 ORDER BY id DESC LIMIT 3)""")
    assert _filtered(fresh_client, headers, query) == before - 1


def test_follow_ups_change_the_pending_count(fresh_client, fresh_db, auth_headers):
    headers = auth_headers()
    pending = _filtered(fresh_client, headers, {"followUp": "pending"})
    (rating_id,) = run_sql(fresh_db, """
        SELECT r.id FROM ratings r
        WHERE r.score <= 2 AND NOT EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)
        ORDER BY r.id LIMIT 1""")[0]
    run_sql(fresh_db, "INSERT INTO rating_follow_ups (rating_id, comments, created_by) "
            "VALUES (%s, 'called the customer', 1)", (rating_id,))
    assert _filtered(fresh_client, headers, {"followUp": "pending"}) == pending - 1


def test_reassigning_a_ticket_changes_the_agents_count(fresh_client, fresh_db, auth_headers):
    headers = auth_headers()
    agent, other = [row[0] for row in run_sql(fresh_db, """
        SELECT t.assigned_admin_id FROM ratings r JOIN tickets t ON t.id = r.ticket_id
        WHERE t.assigned_admin_id IS NOT NULL
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 2""")]
    before = _filtered(fresh_client, headers, {"agents": str(agent)})
    run_sql(fresh_db, """
        UPDATE tickets SET assigned_admin_id = %s WHERE id = (
            SELECT t.id FROM ratings r JOIN tickets t ON t.id = r.ticket_id
            WHERE t.assigned_admin_id = %s ORDER BY t.id LIMIT 1)""", (other, agent))
    assert _filtered(fresh_client, headers, {"agents": str(agent)}) == before - 1


def test_renaming_a_carrier_changes_the_carrier_count(fresh_client, fresh_db, auth_headers):
    headers = auth_headers()
    (carrier_id, name) = run_sql(fresh_db, """
        SELECT c.id, c.name FROM ratings r JOIN carriers c ON c.id = r.carrier_id
        GROUP BY c.id ORDER BY count(*) DESC, c.id LIMIT 1""")[0]
    assert _filtered(fresh_client, headers, {"carrier": name}) > 0
    run_sql(fresh_db, "UPDATE carriers SET name = 'renamed-carrier', description = 'Renamed' "
            "WHERE id = %s", (carrier_id,))
    assert _filtered(fresh_client, headers, {"carrier": name}) == 0


@pytest.mark.parametrize("statement", [
    "UPDATE ratings SET score = score WHERE id = -1",
    "UPDATE tickets SET assigned_admin_id = assigned_admin_id WHERE id = 1",
    "UPDATE carriers SET name = name",
    "DELETE FROM rating_follow_ups WHERE rating_id = -1",
])
def test_a_change_that_changes_nothing_keeps_the_version(fresh_db, statement):
    before = _version(fresh_db)
    run_sql(fresh_db, statement)
    assert _version(fresh_db) == before
