"""Migration 0023: a ticket rating's copies of its ticket's type and agent, and the summary's two day paths.

The copies (ratings.ticket_type_id, ratings.assigned_admin_id) must equal the ticket's values
after every kind of write, since the summary's ticket-type and agent breakdowns read them
instead of joining tickets. The summary's trend gives ratings their day in one of two ways
(an index scan per day, or width_bucket over the matching ratings), chosen by the filters
set: both must give the same days.
"""

import pytest

from app import create_app
from tests.servers import make_settings, run_sql

MISMATCHES = """
    SELECT count(*) FILTER (WHERE r.ticket_type_id IS DISTINCT FROM t.type_id
                               OR r.assigned_admin_id IS DISTINCT FROM t.assigned_admin_id),
           count(r.ticket_type_id)
    FROM ratings r LEFT JOIN tickets t ON t.id = r.ticket_id
"""


def copies(url, rating_id):
    return run_sql(url, "SELECT ticket_type_id, assigned_admin_id FROM ratings WHERE id = %s", (rating_id,))[0]


@pytest.fixture
def ticket_rating(fresh_db):
    """(rating id, ticket id, the ticket's type, its agent) of a seeded ticket rating with an agent."""
    return run_sql(fresh_db, """
        SELECT r.id, t.id, t.type_id, t.assigned_admin_id
        FROM ratings r JOIN tickets t ON t.id = r.ticket_id
        WHERE t.assigned_admin_id IS NOT NULL
        ORDER BY r.id LIMIT 1""")[0]


def other_values(url, type_id, agent_id):
    """A ticket type and an active agent different from the given ones."""
    return run_sql(url, """
        SELECT (SELECT min(id) FROM ticket_types WHERE id <> %s),
               (SELECT min(id) FROM administrators WHERE id <> %s AND active)""", (type_id, agent_id))[0]


def test_the_seed_fills_every_copy_from_the_ticket(shared_db):
    mismatches, with_type = run_sql(shared_db, MISMATCHES)[0]
    assert mismatches == 0
    ticket_ratings = run_sql(shared_db, "SELECT count(*) FROM ratings WHERE ticket_id IS NOT NULL")[0][0]
    assert with_type == ticket_ratings > 0


def test_a_ticket_change_reaches_its_rating(fresh_db, ticket_rating):
    rating_id, ticket_id, type_id, agent_id = ticket_rating
    new_type, new_agent = other_values(fresh_db, type_id, agent_id)
    run_sql(fresh_db, "UPDATE tickets SET type_id = %s, assigned_admin_id = %s WHERE id = %s",
            (new_type, new_agent, ticket_id))
    assert copies(fresh_db, rating_id) == (new_type, new_agent)
    run_sql(fresh_db, "UPDATE tickets SET assigned_admin_id = NULL WHERE id = %s", (ticket_id,))
    assert copies(fresh_db, rating_id) == (new_type, None)
    assert run_sql(fresh_db, MISMATCHES)[0][0] == 0


def test_written_copies_are_replaced_by_the_tickets_values(fresh_db, ticket_rating):
    rating_id, ticket_id, type_id, agent_id = ticket_rating
    wrong_type, wrong_agent = other_values(fresh_db, type_id, agent_id)
    run_sql(fresh_db, "UPDATE ratings SET ticket_type_id = %s, assigned_admin_id = %s WHERE id = %s",
            (wrong_type, wrong_agent, rating_id))
    assert copies(fresh_db, rating_id) == (type_id, agent_id)

    # A new rating: the copies come from its ticket whatever the INSERT says, NULL without one.
    new_ticket = run_sql(fresh_db, """
        INSERT INTO tickets (id, company_id, type_id, status_id, assigned_admin_id, created_at)
        SELECT max(t.id) + 1, min(t.company_id), %s, min(t.status_id), %s, now() FROM tickets t
        RETURNING id""", (type_id, agent_id))[0][0]
    inserted = run_sql(fresh_db, """
        INSERT INTO ratings (score, source, source_platform, reference_id, ticket_id, company_id,
                             locale_id, ticket_type_id, assigned_admin_id)
        SELECT 3, 'ticket', 'platform', t.id, t.id, t.company_id, c.locale_id, %s, %s
        FROM tickets t JOIN companies c ON c.id = t.company_id WHERE t.id = %s
        RETURNING ticket_type_id, assigned_admin_id""", (wrong_type, wrong_agent, new_ticket))
    assert inserted == [(type_id, agent_id)]
    shop = run_sql(fresh_db, """
        INSERT INTO ratings (score, source, source_platform, reference_id, company_id, locale_id,
                             ticket_type_id, assigned_admin_id)
        SELECT 4, 'shop', 'platform', 1, id, locale_id, %s, %s FROM companies ORDER BY id LIMIT 1
        RETURNING ticket_type_id, assigned_admin_id""", (wrong_type, wrong_agent))
    assert shop == [(None, None)]
    assert run_sql(fresh_db, MISMATCHES)[0][0] == 0


def test_the_summary_follows_a_reassigned_ticket(fresh_db, ticket_rating, auth_headers):
    rating_id, ticket_id, type_id, agent_id = ticket_rating
    _, new_agent = other_values(fresh_db, type_id, agent_id)
    application = create_app(make_settings(fresh_db))
    headers = auth_headers(permissions=["menu-csat"])

    def agent_counts():
        body = application.test_client().get("/csat/summary", headers=headers).get_json()
        return {e["key"]: e["count"] for e in body["breakdowns"]["agent"]}

    try:
        before = agent_counts()
        run_sql(fresh_db, "UPDATE tickets SET assigned_admin_id = %s WHERE id = %s", (new_agent, ticket_id))
        after = agent_counts()
    finally:
        application.extensions["csat_db"].close()
    assert after[agent_id] == before[agent_id] - 1
    assert after[new_agent] == before.get(new_agent, 0) + 1
    expected = dict(run_sql(fresh_db, """
        SELECT t.assigned_admin_id, count(*) FROM ratings r LEFT JOIN tickets t ON t.id = r.ticket_id
        GROUP BY 1"""))
    assert after == expected


# Every source is set, so every rating matches, but the filter sends the trend down the
# width_bucket path; without it, the per-day index path. Santiago changes its clocks twice a
# year, so some local days are 23 or 25 hours long.
@pytest.mark.parametrize("time_zone", ["UTC", "America/Santiago"])
@pytest.mark.parametrize("extra", ["", "&startDate=2025-03-30&endDate=2025-04-14", "&localeId=1&score=4,5"])
def test_both_day_paths_give_the_same_trend(shared_db, auth_headers, time_zone, extra):
    application = create_app(make_settings(shared_db, time_zone=time_zone))
    client = application.test_client()
    headers = auth_headers(permissions=["menu-csat"])
    try:
        by_index = client.get(f"/csat/summary?granularity=day{extra}", headers=headers).get_json()
        by_bucket = client.get(f"/csat/summary?granularity=day&source=ticket,carrier,shop{extra}",
                               headers=headers).get_json()
    finally:
        application.extensions["csat_db"].close()
    assert by_index["total"] > 0
    assert by_index["trend"] == by_bucket["trend"]
    assert len(by_index["trend"]["points"]) > 10
    # The days themselves, straight from the ratings in that time zone.
    per_day = dict(run_sql(shared_db, """
        SELECT to_char((created_at AT TIME ZONE %(zone)s)::date, 'YYYY-MM-DD'), count(*)
        FROM ratings
        WHERE NOT %(limited)s OR (locale_id = 1 AND score IN (4, 5))
        GROUP BY 1""", {"zone": time_zone, "limited": "localeId" in extra}))
    points = by_index["trend"]["points"]
    first, last = points[0]["start"], points[-1]["end"]
    assert {point["start"]: point["total"] for point in points if point["total"]} == \
        {day: count for day, count in per_day.items() if first <= day <= last}
