"""Remembered counts and summaries, brought up to date with the logged changes, equal a recount.

Migration 0030 logs every change to what filters and summaries read; the page and summary
queries add the changes logged since an answer was remembered. A random sequence of writes
(ratings inserted, deleted, re-scored and re-commented; follow-ups posted and edited through
the API and deleted; tickets retyped, reassigned and resolved; agents and carriers renamed) runs on a
database of its own, and after every step each count and summary the API returns, for a set
of filter combinations, is compared with a full recount by plain SQL. The summaries are also
compared, whole, with summaries computed from scratch (nothing remembered).
"""

import random
from collections import Counter


from csat.db import load
from tests.servers import run_sql, scrape

STEPS = 36
FILTERS = [
    {},
    {"score": "1,2"},
    {"source": "ticket", "hasComment": "true"},
    {"followUp": "pending"},
    {"followUp": "done", "startDate": "2025-06-01", "endDate": "2026-10-31"},
    {"q": "e"},
    {"agents": "1,2,3,4,5"},
    {"resolution": "under_4h,unresolved"},
]
# The filters above as plain SQL over ratings r (the recount the API must agree with).
FOLLOWED_UP = "EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)"
WHERE = [
    "true",
    "r.score IN (1, 2)",
    "r.source = 'ticket' AND coalesce(r.comment, '') <> ''",
    f"r.score <= 2 AND NOT {FOLLOWED_UP}",
    f"{FOLLOWED_UP} AND r.created_at >= '2025-06-01' AND r.created_at < '2026-11-01'",
    "r.comment ILIKE '%e%'",
    "r.assigned_admin_id IN (1, 2, 3, 4, 5) AND r.ticket_id IS NOT NULL",
    "t.id IS NOT NULL AND csat_resolution_bucket(t.created_at, t.resolved_at) IN ('under_4h', 'unresolved')",
]


def recount(url, where):
    """(count, per-score distribution, with_comment, followed-up detractors, per-key counts)."""
    rows = run_sql(url, f"""
        SELECT r.score, coalesce(r.comment, '') <> '', {FOLLOWED_UP}, r.carrier_id,
               t.type_id, t.assigned_admin_id, r.source, r.source_platform,
               to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM'),
               CASE WHEN t.id IS NOT NULL THEN csat_resolution_bucket(t.created_at, t.resolved_at) END
        FROM ratings r LEFT JOIN tickets t ON t.id = r.ticket_id
        WHERE {where}""")
    carriers = dict(run_sql(url, "SELECT id, name FROM carriers"))
    types = dict(run_sql(url, "SELECT id, name FROM ticket_types"))
    return {
        "total": len(rows),
        "distribution": {str(s): sum(1 for r in rows if r[0] == s) for s in range(1, 6)},
        "with_comment": sum(1 for r in rows if r[1]),
        "followed_up": sum(1 for r in rows if r[0] <= 2 and r[2]),
        "carrier": Counter(carriers.get(r[3]) for r in rows),
        "ticket_type": Counter(types.get(r[4]) for r in rows),
        "agent": Counter(r[5] for r in rows),
        "source": Counter(r[6] for r in rows),
        "source_platform": Counter(r[7] for r in rows),
        "months": Counter(r[8] for r in rows),
        "resolution_time": Counter(r[9] for r in rows if r[9] is not None),
    }


def api_figures(summary):
    counts = {name: Counter({e["key"]: e["count"] for e in entries})
              for name, entries in summary["breakdowns"].items()}
    return {
        "total": summary["total"],
        "distribution": summary["distribution"],
        "with_comment": summary["with_comment"],
        "followed_up": summary["detractors"]["followed_up"],
        **counts,
        "months": Counter({p["start"][:7]: p["total"] for p in summary["trend"]["points"] if p["total"]}),
    }


class Writer:
    """One random write per step, on the database or through the API."""

    def __init__(self, url, client, headers, rng):
        self.url, self.client, self.headers, self.rng = url, client, headers, rng

    def one(self):
        action = self.rng.choice([self.insert, self.delete, self.rescore, self.recomment,
                                  self.post_follow_up, self.put_follow_up, self.delete_follow_up,
                                  self.retype, self.reassign, self.resolve, self.rename_agent,
                                  self.rename_carrier])
        return action()

    def pick(self, where="true"):
        return run_sql(self.url, f"SELECT r.id FROM ratings r WHERE {where} "
                                 "ORDER BY hashint8(r.id + %s) LIMIT 1", (self.rng.randrange(10**6),))[0][0]

    def insert(self):
        n = self.rng.randint(1, 40)
        run_sql(self.url, """
            INSERT INTO ratings (score, comment, source, source_platform, reference_id, ticket_id,
                                 company_id, locale_id, user_id, carrier_id, created_at)
            SELECT 1 + (hashint4(g + %(s)s) & 4), CASE WHEN g %% 3 = 0 THEN NULL ELSE 'llegó en fecha' END,
                   'shop', 'whatsapp', 900000 + g, NULL, c.id, c.locale_id, NULL, NULL,
                   timestamptz '2025-07-01' + g * interval '7 hours'
            FROM generate_series(1, %(n)s) g,
                 LATERAL (SELECT id, locale_id FROM companies ORDER BY hashint8(id + g + %(s)s) LIMIT 1) c""",
                {"n": n, "s": self.rng.randrange(10**6)})
        return f"insert {n}"

    def delete(self):
        rating_id = self.pick("r.ticket_id IS NULL")
        run_sql(self.url, "DELETE FROM ratings WHERE id = %s", (rating_id,))
        return f"delete {rating_id}"

    def rescore(self):
        run_sql(self.url, "UPDATE ratings SET score = %s WHERE id = %s", (self.rng.randint(1, 5), self.pick()))
        return "rescore"

    def recomment(self):
        text = self.rng.choice([None, "", "muy bien", "tarde"])
        run_sql(self.url, "UPDATE ratings SET comment = %s WHERE id = %s", (text, self.pick()))
        return "recomment"

    def post_follow_up(self):
        rating_id = self.pick(f"NOT {FOLLOWED_UP}")
        response = self.client.post("/csat/comments", json={"ratingId": rating_id, "comments": "Called"},
                                    headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return "post"

    def put_follow_up(self):
        rating_id = self.pick(FOLLOWED_UP)
        response = self.client.put("/csat/comments", json={"ratingId": rating_id, "comments": "Again"},
                                   headers=self.headers)
        assert response.status_code == 200, response.get_json()
        return "put"

    def delete_follow_up(self):
        run_sql(self.url, "DELETE FROM rating_follow_ups WHERE rating_id = %s", (self.pick(FOLLOWED_UP),))
        return "delete follow-up"

    def retype(self):
        run_sql(self.url, "UPDATE tickets SET type_id = 1 + (type_id %% 3) WHERE id = "
                          "(SELECT ticket_id FROM ratings WHERE id = %s)", (self.pick("r.ticket_id IS NOT NULL"),))
        return "retype"

    def reassign(self):
        run_sql(self.url, "UPDATE tickets SET assigned_admin_id = %s WHERE id = "
                          "(SELECT ticket_id FROM ratings WHERE id = %s)",
                (self.rng.choice([None, 1, 2, 3, 7]), self.pick("r.ticket_id IS NOT NULL")))
        return "reassign"

    def resolve(self):
        hours = self.rng.choice([None, 1, 4, 30, 100])
        run_sql(self.url, "UPDATE tickets SET resolved_at = CASE WHEN %s::int IS NULL THEN NULL "
                          "ELSE created_at + %s::int * interval '1 hour' END, "
                          "solved_by_admin_id = CASE WHEN %s::int IS NULL THEN NULL ELSE solved_by_admin_id END "
                          "WHERE id = (SELECT ticket_id FROM ratings WHERE id = %s)",
                (hours, hours, hours, self.pick("r.ticket_id IS NOT NULL")))
        return "resolve"

    def rename_agent(self):
        run_sql(self.url, "UPDATE administrators SET name = name || '.' WHERE id = %s", (self.rng.randint(1, 5),))
        return "rename agent"

    def rename_carrier(self):
        run_sql(self.url, "UPDATE carriers SET description = description || '.' WHERE id = "
                          "(SELECT carrier_id FROM ratings WHERE carrier_id IS NOT NULL ORDER BY id LIMIT 1)")
        return "rename carrier"


def summary_of(client, headers, query):
    response = client.get("/csat/summary", query_string={**query, "granularity": "month"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def records_filtered(client, headers, query):
    response = client.get("/csat", query_string={**query, "length": 1}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["recordsFiltered"]


def forget_everything(url):
    run_sql(url, "UPDATE rating_change_horizon SET version = (SELECT version FROM rating_filter_version)")


def test_remembered_answers_equal_a_recount_after_every_write(fresh_client, fresh_db, auth_headers):
    headers = auth_headers()
    writer = Writer(fresh_db, fresh_client, headers, random.Random(13))
    for query in FILTERS:  # remember every answer once
        records_filtered(fresh_client, headers, query)
        summary_of(fresh_client, headers, query)
    for step in range(STEPS):
        what = writer.one()
        for query, where in zip(FILTERS, WHERE):
            expected = recount(fresh_db, where)
            assert records_filtered(fresh_client, headers, query) == expected["total"], (step, what, query)
            updated = summary_of(fresh_client, headers, query)
            figures = api_figures(updated)
            for name in ("total", "distribution", "with_comment", "followed_up", "source",
                         "source_platform", "carrier", "ticket_type", "agent", "months", "resolution_time"):
                assert figures[name] == expected[name], (step, what, query, name)
    assert run_sql(fresh_db, "SELECT count(*) FROM rating_changes")[0][0] > 0  # updated, not recomputed
    # And whole: the same summaries computed with nothing remembered.
    queries = [q for q in FILTERS] + [{"startDate": "2025-07-01", "endDate": "2026-06-30", "compare": "previous", **q}
                                     for q in FILTERS]
    updated = [summary_of(fresh_client, headers, q) for q in queries]
    forget_everything(fresh_db)
    run_sql(fresh_db, "UPDATE ratings SET score = score WHERE id = (SELECT min(id) FROM ratings)")  # new version
    computed = [summary_of(fresh_client, headers, q) for q in queries]
    assert updated == computed


def answers_had(client):
    """{(kind, how): count} from /metrics (the process's counters: tests compare differences)."""
    return Counter({(dict(labels)["kind"], dict(labels)["how"]): value
                    for (name, labels), value in scrape(client).items() if name == "csat_answers_total"})


def test_only_the_changes_are_read_after_a_write(fresh_client, fresh_db, auth_headers):
    """After a write, a remembered count or summary is 'updated', never recomputed; /metrics says so."""
    headers = auth_headers()
    before = answers_had(fresh_client)
    records_filtered(fresh_client, headers, {"score": "1"})
    records_filtered(fresh_client, headers, {"score": "1"})
    run_sql(fresh_db, "UPDATE ratings SET score = 1 WHERE id = (SELECT min(id) FROM ratings WHERE score = 5)")
    records_filtered(fresh_client, headers, {"score": "1"})
    summary_of(fresh_client, headers, {})
    run_sql(fresh_db, "UPDATE ratings SET score = 2 WHERE id = (SELECT min(id) FROM ratings WHERE score = 5)")
    summary_of(fresh_client, headers, {})
    had = answers_had(fresh_client)
    had.subtract(before)
    assert +had == Counter({("count", "counted"): 1, ("count", "remembered"): 1, ("count", "updated"): 1,
                            ("summary", "computed"): 1, ("summary", "updated"): 1})


def test_a_pruned_log_retires_what_needed_it(fresh_client, fresh_db, auth_headers):
    headers = auth_headers()
    before = records_filtered(fresh_client, headers, {"score": "3"})
    run_sql(fresh_db, "UPDATE ratings SET score = 3 WHERE id = (SELECT min(id) FROM ratings WHERE score = 4)")
    run_sql(fresh_db, "UPDATE rating_changes SET logged_at = now() - interval '2 days'")
    pruned = run_sql(fresh_db, load("rating_changes_prune").sql(), {"retention_seconds": 86400})
    assert [row[:2] for row in pruned] == [(2, 1)]  # the update's two images; the count read before them
    assert records_filtered(fresh_client, headers, {"score": "3"}) == before + 1

