"""Deterministic demo data: sql/seed/NN_*.sql, run in order in one transaction.

Same `random_seed`, same data, byte for byte. All the generation is set-based SQL; this
module only runs the files and makes the bulk load fast: inside the transaction, after the
TRUNCATE, it drops the big tables' keys and indexes and every foreign key of the seeded
tables, and recreates them from their saved definitions before committing (one index build
or validation join each instead of a check per row). Nothing is dropped for good: any
failure rolls the whole seed back with the schema untouched.
"""

import logging
import re
import time
from pathlib import Path

log = logging.getLogger(__name__)

SEED_DIR = Path(__file__).resolve().parent.parent / "sql" / "seed"

# Tables the seed fills (children after parents), as reported by seed_demo_data.
SEEDED_TABLES = (
    "locales", "companies", "users", "carriers", "administrators", "ticket_types",
    "ticket_statuses", "tickets", "ticket_comments", "ratings", "rating_follow_ups",
    "rating_follow_up_history",
)
# Tables whose keys and indexes are rebuilt after the load rather than maintained row by row.
BULK_TABLES = ("tickets", "ticket_comments", "ratings", "rating_follow_ups", "rating_follow_up_history")

SESSION_SETTINGS = """
    SET LOCAL jit = off;
    SET LOCAL work_mem = '256MB';
    SET LOCAL maintenance_work_mem = '512MB';
    SET LOCAL synchronous_commit = off;
"""

# Foreign keys of the seeded tables (and into the bulk tables), then the bulk tables'
# primary, unique and exclusion constraints, each with its definition and comment.
SAVED_CONSTRAINTS = """
    SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid),
           c.contype = 'f', obj_description(c.oid, 'pg_constraint')
    FROM pg_constraint c
    WHERE (c.contype = 'f' AND (c.conrelid = ANY (%(seeded)s::regclass[])
                                OR c.confrelid = ANY (%(bulk)s::regclass[])))
       OR (c.contype IN ('p', 'u', 'x') AND c.conrelid = ANY (%(bulk)s::regclass[]))
    ORDER BY c.contype = 'f' DESC, c.conrelid::regclass::text, c.conname
"""
# The bulk tables' other indexes (left alone: replica identity and CLUSTER ones).
SAVED_INDEXES = """
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
           obj_description(i.indexrelid, 'pg_class')
    FROM pg_index i
    WHERE i.indrelid = ANY (%(bulk)s::regclass[])
      AND NOT i.indisreplident AND NOT i.indisclustered
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                      WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                        AND c.contype IN ('p', 'u', 'x'))
    ORDER BY 1
"""


def _sql(path):
    """A seed file for psycopg2: psql's :'name' becomes %(name)s, every % becomes %%."""
    return re.sub(r"(?<![:\w]):'(\w+)'", r"%(\1)s", path.read_text(encoding="utf-8").replace("%", "%%"))


def _suspend_keys(cursor):
    """Drop those keys, indexes and foreign keys; return the (name, SQL) pairs that restore
    the keys and indexes, and those that restore the foreign keys."""
    tables = {"seeded": list(SEEDED_TABLES), "bulk": list(BULK_TABLES)}
    cursor.execute(SAVED_CONSTRAINTS, tables)
    constraints = cursor.fetchall()
    cursor.execute(SAVED_INDEXES, tables)
    indexes = cursor.fetchall()

    keys, foreign_keys = [], []
    for table, name, definition, is_foreign, comment in constraints:  # foreign keys come first
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        restore = foreign_keys if is_foreign else keys
        restore.append((name, f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
        if comment is not None:
            restore.append((name, cursor.mogrify(f"COMMENT ON CONSTRAINT {name} ON {table} IS %s", (comment,)).decode()))
    for index, definition, comment in indexes:
        cursor.execute(f"DROP INDEX {index}")
        keys.append((index, definition))
        if comment is not None:
            keys.append((index, cursor.mogrify(f"COMMENT ON INDEX {index} IS %s", (comment,)).decode()))
    return keys, foreign_keys


def _timed(cursor, label, sql, params=None):
    started = time.perf_counter()
    cursor.execute(sql, params)
    log.info("seed: %-28s %6.2f s", label, time.perf_counter() - started)


def seed_demo_data(conn, ratings: int, random_seed: int = 42) -> list[tuple[str, int]]:
    """Replace all data with demo data for `ratings` ratings; returns (table, rows) pairs."""
    params = {"ratings": int(ratings), "random_seed": int(random_seed)}
    files = sorted(SEED_DIR.glob("[0-9][0-9]_*.sql"))
    started = time.perf_counter()
    with conn, conn.cursor() as cursor:  # one transaction: commit on success, else roll back
        cursor.execute(SESSION_SETTINGS)
        _timed(cursor, files[0].name, _sql(files[0]), params)  # 00_reset.sql: TRUNCATE … CASCADE
        keys, foreign_keys = _suspend_keys(cursor)
        for path in files[1:]:
            _timed(cursor, path.name, _sql(path), params)
        for name, statement in keys:
            _timed(cursor, name, statement)
        # Statistics before the foreign keys, so that their validation joins get sensible plans.
        _timed(cursor, "ANALYZE", "ANALYZE " + ", ".join(SEEDED_TABLES + ("rating_counts",)))
        for name, statement in foreign_keys:
            _timed(cursor, name, statement)
        counts = []
        for table in SEEDED_TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts.append((table, cursor.fetchone()[0]))
    log.info("seed: %d ratings (random seed %d) in %.2f s", ratings, random_seed, time.perf_counter() - started)
    return counts


def has_demo_data(conn) -> bool:
    """True when there are ratings (or companies) already."""
    with conn.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT FROM ratings) OR EXISTS (SELECT FROM companies)")
        return cursor.fetchone()[0]
