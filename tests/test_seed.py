"""The demo-data generator: deterministic, realistic, exact counts, schema left as it was."""

import os
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest

import csat.seed
from csat.seed import SEED_DIR, SEEDED_TABLES, SeedError, has_demo_data, seed_demo_data
from tests.servers import sql_rows

pytestmark = pytest.mark.slow  # seeding databases

MIGRATIONS = Path(__file__).resolve().parent.parent / "sql" / "migrations"
RATINGS = 5000


# Local for now; the shared conftest's fixtures will replace it.
@pytest.fixture(scope="module")
def seed_db():
    """URL of a throwaway database with every migration applied (dropped afterwards)."""
    admin_url = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"csat_seed_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    conn = psycopg2.connect(url)
    conn.autocommit = True
    for path in sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql")):
        conn.cursor().execute(path.read_text(encoding="utf-8"))  # each file has its BEGIN/COMMIT
    conn.close()
    yield url
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def seed(url, ratings=RATINGS, random_seed=42):
    conn = psycopg2.connect(url)
    try:
        return seed_demo_data(conn, ratings, random_seed)
    finally:
        conn.close()


def fingerprint(url):
    """md5 of every seeded table's rows in id order."""
    parts = [f"(SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {table} t)" for table in SEEDED_TABLES]
    return sql_rows(url, "SELECT " + ", ".join(parts))[0]


def schema(url):
    return sql_rows(url, """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL
        SELECT tablename, indexname, indexdef, NULL FROM pg_indexes WHERE schemaname = 'public'
        ORDER BY 1, 2, 3
    """)


@pytest.fixture(scope="module")
def seeded(seed_db):
    """The database seeded with RATINGS ratings and random seed 42; (url, counts, schema before)."""
    before = schema(seed_db)
    conn = psycopg2.connect(seed_db)
    assert not has_demo_data(conn)
    conn.close()
    counts = seed(seed_db)
    return seed_db, dict(counts), before


def test_counts_are_returned_and_exact(seeded):
    url, counts, _ = seeded
    assert list(counts) == list(SEEDED_TABLES)
    for table, rows in counts.items():
        assert sql_rows(url, f"SELECT count(*) FROM {table}")[0][0] == rows, table
    assert counts["ratings"] == RATINGS
    assert counts["locales"] == 5 and counts["carriers"] == 40 and counts["administrators"] == 200
    assert counts["ticket_types"] == 10 and counts["companies"] == RATINGS // 50
    assert 0.60 * RATINGS < counts["tickets"] < 0.70 * RATINGS
    assert 2.5 < counts["ticket_comments"] / counts["tickets"] < 3.5
    assert 2 < counts["users"] / counts["companies"] < 4


def test_schema_is_unchanged_and_every_constraint_valid(seeded):
    url, _, before = seeded
    after = schema(url)
    assert after == before
    assert all(valid is not False for *_, valid in after)
    assert sql_rows(url, "SELECT count(*) FROM seed_pending_keys")[0][0] == 0


def test_has_demo_data(seeded):
    conn = psycopg2.connect(seeded[0])
    try:
        assert has_demo_data(conn)
        assert conn.get_transaction_status() == 0  # left no transaction open
    finally:
        conn.close()


def test_rating_counts_are_exact(seeded):
    url = seeded[0]
    assert sql_rows(url, "SELECT locale_id, ratings FROM rating_counts WHERE ratings > 0 ORDER BY 1") == \
        sql_rows(url, "SELECT locale_id, count(*) FROM ratings GROUP BY 1 ORDER BY 1")
    assert sql_rows(url, "SELECT count(*) FROM rating_counts")[0][0] == 5


def test_scores_are_j_shaped(seeded):
    n = dict(sql_rows(seeded[0], "SELECT score, count(*) FROM ratings GROUP BY 1"))
    assert n[5] > n[4] > n[1] > max(n[2], n[3])
    assert 0.45 < n[5] / RATINGS < 0.60


def test_sources_platforms_and_locales(seeded):
    url = seeded[0]
    share = dict(sql_rows(url, "SELECT source, count(*)::float / %s FROM ratings GROUP BY 1", (RATINGS,)))
    assert set(share) == {"ticket", "carrier", "shop"}
    assert 0.55 < share["ticket"] < 0.65 and 0.20 < share["carrier"] < 0.30 and 0.10 < share["shop"] < 0.20
    platforms = dict(sql_rows(url, "SELECT source_platform, count(*)::float / %s FROM ratings GROUP BY 1", (RATINGS,)))
    assert set(platforms) == {"platform", "whatsapp"} and 0.15 < platforms["whatsapp"] < 0.25
    locales = [share for _, share in sql_rows(url, """
        SELECT l.code, count(*)::float / %s FROM ratings r JOIN locales l ON l.id = r.locale_id
        GROUP BY 1 ORDER BY 2 DESC""", (RATINGS,))]
    assert len(locales) == 5 and 0.5 < locales[0] < 0.7 and locales[-1] > 0.02


def test_ratings_are_consistent_with_their_tickets(seeded):
    url = seeded[0]
    assert sql_rows(url, """
        SELECT count(*) FILTER (WHERE r.company_id <> t.company_id OR r.carrier_id IS DISTINCT FROM t.carrier_id
                                   OR r.user_id IS DISTINCT FROM t.user_id OR r.reference_id <> t.id
                                   OR r.created_at <= t.resolved_at OR t.resolved_at IS NULL)
        FROM ratings r JOIN tickets t ON t.id = r.ticket_id""")[0][0] == 0
    assert sql_rows(url, "SELECT count(*) FROM ratings WHERE source = 'carrier' AND carrier_id IS NULL")[0][0] == 0
    # Ids follow the rating date, all within the two years before the anchor date.
    assert sql_rows(url, """
        SELECT count(*) FILTER (WHERE b.created_at < a.created_at),
               min(a.created_at) >= '2024-11-01', max(a.created_at) <= '2026-11-01'
        FROM ratings a JOIN ratings b ON b.id = a.id + 1""")[0] == (0, True, True)
    # Comments: ~60 %, and words that fit the score and the market.
    assert 0.5 < sql_rows(url, "SELECT count(comment)::float / count(*) FROM ratings")[0][0] < 0.7
    assert sql_rows(url, """
        SELECT count(*) FILTER (WHERE l.code = 'br' AND r.comment ~ '[ãõç]'),
               count(*) FILTER (WHERE r.score = 5 AND r.comment ~* 'pésimo|terrible|péssimo')
        FROM ratings r JOIN locales l ON l.id = r.locale_id""")[0][0] > 0
    assert sql_rows(url, "SELECT count(*) FROM ratings WHERE score = 5 AND comment ~* 'pésimo|terrible|péssimo'")[0][0] == 0


def test_tickets_and_their_chat(seeded):
    url = seeded[0]
    unresolved, solved_open, early = sql_rows(url, """
        SELECT count(*) FILTER (WHERE resolved_at IS NULL),
               count(*) FILTER (WHERE resolved_at IS NULL AND solved_by_admin_id IS NOT NULL),
               count(*) FILTER (WHERE resolved_at < created_at + interval '1 hour'
                                   OR resolved_at > created_at + interval '10 days')
        FROM tickets""")[0]
    assert 0 < unresolved and solved_open == 0 and early == 0
    assert sql_rows(url, "SELECT count(*) FILTER (WHERE assigned_admin_id IS NULL)::float / count(*) FROM tickets")[0][0] < 0.05
    assert sql_rows(url, """
        SELECT count(*) FROM ticket_comments c JOIN tickets t ON t.id = c.ticket_id
        WHERE c.created_at < t.created_at OR c.created_at > coalesce(t.resolved_at, '2026-11-01')""")[0][0] == 0
    authors = sql_rows(url, "SELECT count(admin_id), count(user_id) FROM ticket_comments")[0]
    assert min(authors) > 0.3 * sum(authors)


def test_follow_ups_and_their_history(seeded):
    url = seeded[0]
    share, low, high = sql_rows(url, """
        SELECT count(f.rating_id)::float / count(*),
               count(f.rating_id) FILTER (WHERE r.score <= 2)::float / count(*) FILTER (WHERE r.score <= 2),
               count(f.rating_id) FILTER (WHERE r.score >= 4)::float / count(*) FILTER (WHERE r.score >= 4)
        FROM ratings r LEFT JOIN rating_follow_ups f ON f.rating_id = r.id""")[0]
    assert 0.07 < share < 0.13 and low > 5 * high
    edited, history, mismatched = sql_rows(url, """
        SELECT count(*) FILTER (WHERE f.updated_by IS NOT NULL), count(h.id),
               count(*) FILTER (WHERE h.id IS NOT NULL AND (h.written_by <> f.created_by OR h.written_at <> f.created_at
                                OR h.replaced_by <> f.updated_by OR h.replaced_at <> f.updated_at
                                OR h.comments = f.comments))
        FROM rating_follow_ups f LEFT JOIN rating_follow_up_history h ON h.rating_id = f.rating_id""")[0]
    assert edited == history and 0.1 < edited / (share * RATINGS) < 0.3 and mismatched == 0
    assert sql_rows(url, """
        SELECT count(*) FROM rating_follow_ups f JOIN ratings r ON r.id = f.rating_id
        WHERE f.created_at < r.created_at""")[0][0] == 0


def test_administrators(seeded):
    url = seeded[0]
    assert sql_rows(url, "SELECT name, active FROM administrators WHERE id = 1") == [("Admin User", True)]
    inactive = sql_rows(url, "SELECT count(*) FROM administrators WHERE NOT active")[0][0]
    assert 10 <= inactive <= 30


def test_new_rows_get_fresh_ids(seeded):
    url = seeded[0]
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:  # rolled back below
            cursor.execute("""
                INSERT INTO ratings (score, source, source_platform, reference_id, company_id, locale_id)
                SELECT 5, 'shop', 'platform', 1, id, locale_id FROM companies ORDER BY id LIMIT 1 RETURNING id""")
            assert cursor.fetchone()[0] == RATINGS + 1
            cursor.execute("""
                INSERT INTO ticket_comments (ticket_id, admin_id, body, created_at)
                VALUES (1, 1, 'x', now()) RETURNING id""")
            assert cursor.fetchone()[0] > sql_rows(url, "SELECT max(id) FROM ticket_comments")[0][0]
    finally:
        conn.rollback()
        conn.close()


def test_same_seed_same_data_other_seed_other_data(seeded):
    url = seeded[0]
    first = fingerprint(url)
    seed(url, random_seed=42)
    assert fingerprint(url) == first
    try:
        seed(url, random_seed=43)
        other = fingerprint(url)
        assert other[SEEDED_TABLES.index("ratings")] != first[SEEDED_TABLES.index("ratings")]
        assert other[SEEDED_TABLES.index("tickets")] != first[SEEDED_TABLES.index("tickets")]
    finally:
        seed(url, random_seed=42)
    assert fingerprint(url) == first


def test_psql_runs_the_same_files_to_the_same_data(seeded):
    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql is not installed")
    url = seeded[0]
    expected = fingerprint(url)
    try:
        for path in sorted(SEED_DIR.glob("[0-9][0-9]_*.sql")):
            subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"ratings={RATINGS}",
                            "-v", "random_seed=42", "-d", url, "-f", str(path)],
                           check=True, capture_output=True, timeout=120)
        assert fingerprint(url) == expected
        test_rating_counts_are_exact(seeded)
    finally:
        seed(url)


def test_a_failed_seed_is_repaired_by_the_next(seeded, monkeypatch):
    """A seed that fails after committing data lists what it did not rebuild; the next seed
    rebuilds it, and `has_demo_data` says no in between (so `seed --if-empty` repairs too)."""
    url, _, before = seeded
    expected = fingerprint(url)
    timed = csat.seed._timed

    def failing(cursor, label, sql, params=None):
        if label == "ratings.ratings_pkey":
            raise RuntimeError("simulated failure")
        timed(cursor, label, sql, params)

    monkeypatch.setattr(csat.seed, "_timed", failing)
    with pytest.raises(SeedError, match="seed_pending_keys"):
        seed(url)
    pending = [name for (name,) in sql_rows(url, "SELECT name FROM seed_pending_keys")]
    assert "ratings_pkey" in pending
    assert schema(url) != before
    conn = psycopg2.connect(url)
    try:
        assert not has_demo_data(conn)
    finally:
        conn.close()

    monkeypatch.setattr(csat.seed, "_timed", timed)
    seed(url)
    assert sql_rows(url, "SELECT count(*) FROM seed_pending_keys")[0][0] == 0
    assert schema(url) == before
    assert fingerprint(url) == expected
