"""DATABASE_READ_URL: list, report and details reads go to the replica; writes to the primary.

Two copies of the seeded template stand in for a primary and its replica. The replica copy
is marked (a rating's comment, an agent's name) so each response shows where it was read.
"""

import json
import uuid

import pytest

from app import create_app
from csat.config import Settings
from tests.servers import TEST_SECRET, bearer, execute_autocommit, make_settings, make_token

REPLICA_COMMENT = "read from the replica"
REPLICA_AGENT = "Agent From The Replica"


@pytest.fixture
def primary_and_replica(databases, template_db):
    """(primary URL, replica URL, newest ticket rating without a follow-up, marked agent id)."""
    suffix = uuid.uuid4().hex[:8]
    primary = databases.url(databases.create(f"primary_{suffix}", template=template_db))
    replica = databases.url(databases.create(f"replica_{suffix}", template=template_db))
    [(rating_id, ticket_id)] = execute_autocommit(primary, """
        SELECT r.id, r.ticket_id FROM ratings r
        WHERE r.ticket_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)
        ORDER BY r.created_at DESC, r.id DESC LIMIT 1""")
    [(agent_id,)] = execute_autocommit(primary, "SELECT min(id) FROM administrators WHERE active")
    execute_autocommit(replica, "UPDATE ratings SET comment = %s WHERE id = %s", (REPLICA_COMMENT, rating_id))
    execute_autocommit(replica, "UPDATE administrators SET name = %s WHERE id = %s", (REPLICA_AGENT, agent_id))
    return primary, replica, rating_id, ticket_id


@pytest.fixture
def replica_client(primary_and_replica):
    primary, replica, _, _ = primary_and_replica
    app = create_app(make_settings(primary, database_read_url=replica))
    app.config["TESTING"] = True
    yield app.test_client()
    app.extensions["csat_db"].close()


def test_the_list_reads_the_replica(replica_client, primary_and_replica):
    _, _, rating_id, _ = primary_and_replica
    response = replica_client.get("/csat?length=100&source=ticket", headers=bearer(make_token()))
    assert response.status_code == 200, response.get_json()
    [row] = [row for row in response.get_json()["data"] if row["rating_id"] == rating_id]
    assert row["comment"] == REPLICA_COMMENT


@pytest.mark.parametrize("path", ["/csat/{rating_id}", "/csat/ticket/{ticket_id}"])
def test_details_read_the_replica(replica_client, primary_and_replica, path):
    _, _, rating_id, ticket_id = primary_and_replica
    response = replica_client.get(path.format(rating_id=rating_id, ticket_id=ticket_id),
                                  headers=bearer(make_token()))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["details"]["comment"] == REPLICA_COMMENT


def test_the_report_reads_the_replica(replica_client, primary_and_replica):
    _, _, rating_id, _ = primary_and_replica
    response = replica_client.get("/csat?report=true&source=ticket", headers=bearer(make_token()))
    assert response.status_code == 200
    rows = [row for line in response.get_data(as_text=True).splitlines() for row in json.loads(line)]
    [row] = [row for row in rows if row["rating_id"] == rating_id]
    assert row["comment"] == REPLICA_COMMENT


def test_the_agents_list_reads_the_replica(replica_client):
    response = replica_client.get("/csat/agents/list", headers=bearer(make_token()))
    assert response.status_code == 200
    assert REPLICA_AGENT in [agent["text"] for agent in response.get_json()["list"]]


def test_a_follow_up_is_written_to_the_primary(replica_client, primary_and_replica):
    primary, replica, rating_id, _ = primary_and_replica
    response = replica_client.post("/csat/comments", headers=bearer(make_token(admin_id=1)),
                                   json={"ratingId": rating_id, "comments": "Called the customer"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"success": True}
    follow_up = "SELECT comments, created_by FROM rating_follow_ups WHERE rating_id = %s"
    assert execute_autocommit(primary, follow_up, (rating_id,)) == [("Called the customer", 1)]
    assert execute_autocommit(replica, follow_up, (rating_id,)) == []


def test_without_a_read_url_reads_use_the_primary(primary_and_replica):
    primary, _, rating_id, _ = primary_and_replica
    app = create_app(make_settings(primary))
    try:
        response = app.test_client().get(f"/csat/{rating_id}", headers=bearer(make_token()))
        assert response.status_code == 200
        assert response.get_json()["details"]["comment"] != REPLICA_COMMENT
    finally:
        app.extensions["csat_db"].close()


def test_database_read_url_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://primary.example/csat")
    monkeypatch.setenv("DATABASE_READ_URL", "postgresql://replica.example/csat")
    monkeypatch.setenv("JWT_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("CSAT_ENV", "test")
    app = create_app(Settings.from_env())
    database = app.extensions["csat_db"]
    assert database.pool("primary").dsn == "postgresql://primary.example/csat"
    assert database.pool("replica").dsn == "postgresql://replica.example/csat"

    monkeypatch.delenv("DATABASE_READ_URL")
    database = create_app(Settings.from_env()).extensions["csat_db"]
    assert database.pool("replica") is database.pool("primary")
