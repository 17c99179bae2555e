"""Deterministic demo data: sql/seed/NN_*.sql, run in order in one transaction.

The same `random_seed` gives the same data, byte for byte; the generation is all set-based
SQL. This module runs the files and makes the bulk load fast: after the TRUNCATE, inside the
same transaction, it drops the big tables' keys and indexes and every foreign key of the
seeded tables, and recreates them from their saved definitions before committing: one index
build or one validation join each, instead of a check per row. Nothing is dropped for good;
any failure rolls the whole seed back with the schema untouched.
"""

import logging
import re
import time
from pathlib import Path

log = logging.getLogger(__name__)

SEED_DIR = Path(__file__).resolve().parent.parent / "sql" / "seed"

# Tables the seed fills, parents first: what seed_demo_data reports.
SEEDED_TABLES = (
    "locales", "companies", "users", "carriers", "administrators", "ticket_types",
    "ticket_statuses", "tickets", "ticket_comments", "ratings", "rating_follow_ups",
    "rating_follow_up_history",
)
# Tables whose keys and indexes are built after the load instead of row by row.
BULK_TABLES = ("tickets", "ticket_comments", "ratings", "rating_follow_ups", "rating_follow_up_history")

SESSION_SETTINGS = """
    SET LOCAL statement_timeout = 0;
    SET LOCAL jit = off;
    SET LOCAL work_mem = '256MB';
    SET LOCAL maintenance_work_mem = '512MB';
    SET LOCAL synchronous_commit = off;
"""

# Foreign keys of the seeded tables and into the bulk tables (dropped first), then the bulk
# tables' primary key, unique and exclusion constraints; each with its definition and comment.
SAVED_CONSTRAINTS = """
    SELECT c.conrelid::regclass::text, quote_ident(c.conname), pg_get_constraintdef(c.oid),
           c.contype = 'f', obj_description(c.oid, 'pg_constraint')
    FROM pg_constraint c
    WHERE (c.contype = 'f' AND (c.conrelid = ANY (%(seeded)s::regclass[])
                                OR c.confrelid = ANY (%(bulk)s::regclass[])))
       OR (c.contype IN ('p', 'u', 'x') AND c.conrelid = ANY (%(bulk)s::regclass[]))
    ORDER BY c.contype = 'f' DESC, 1, 2
"""
# The bulk tables' other indexes (except replica identity and CLUSTER ones, left alone).
SAVED_INDEXES = """
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
           obj_description(i.indexrelid, 'pg_class')
    FROM pg_index i
    WHERE i.indrelid = ANY (%(bulk)s::regclass[])
      AND NOT i.indisreplident AND NOT i.indisclustered
      AND NOT EXISTS (SELECT FROM pg_constraint c
                      WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                        AND c.contype IN ('p', 'u', 'x'))
    ORDER BY 1
"""


def _sql(path):
    """A seed file for psycopg2: psql's :'name' becomes %(name)s and every % becomes %%."""
    text = path.read_text(encoding="utf-8").replace("%", "%%")
    return re.sub(r"(?<![:\w]):'(\w+)'", r"%(\1)s", text)


def _suspend_keys(cursor):
    """Drop those constraints and indexes. Returns the (name, SQL) pairs that restore the keys
    and indexes, and those that restore the foreign keys (to run after them)."""
    tables = {"seeded": list(SEEDED_TABLES), "bulk": list(BULK_TABLES)}
    cursor.execute(SAVED_CONSTRAINTS, tables)
    constraints = cursor.fetchall()
    cursor.execute(SAVED_INDEXES, tables)
    indexes = cursor.fetchall()

    keys, foreign_keys = [], []
    for table, name, definition, is_foreign, comment in constraints:
        cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        restore = foreign_keys if is_foreign else keys
        restore.append((name, f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
        if comment is not None:
            restore.append((name, cursor.mogrify(f"COMMENT ON CONSTRAINT {name} ON {table} IS %s", (comment,)).decode()))
    for name, definition, comment in indexes:
        cursor.execute(f"DROP INDEX {name}")
        keys.append((name, definition))
        if comment is not None:
            keys.append((name, cursor.mogrify(f"COMMENT ON INDEX {name} IS %s", (comment,)).decode()))
    return keys, foreign_keys


def _timed(cursor, label, sql, params=None):
    started = time.perf_counter()
    cursor.execute(sql, params)
    log.info("seed: %-40s %6.2f s", label, time.perf_counter() - started)


def seed_demo_data(conn, ratings: int, random_seed: int = 42) -> list[tuple[str, int]]:
    """Replace all data with demo data holding `ratings` ratings; returns (table, rows) pairs."""
    params = {"ratings": int(ratings), "random_seed": int(random_seed)}
    files = sorted(SEED_DIR.glob("[0-9][0-9]_*.sql"))
    started = time.perf_counter()
    autocommit = conn.autocommit
    if autocommit:
        conn.autocommit = False  # the whole seed is one transaction, whatever the caller uses
    try:
        with conn, conn.cursor() as cursor:  # commits at the end, rolls back on any error
            cursor.execute(SESSION_SETTINGS)
            _timed(cursor, files[0].name, _sql(files[0]), params)  # 00_reset.sql: the TRUNCATE
            keys, foreign_keys = _suspend_keys(cursor)
            for path in files[1:]:
                _timed(cursor, path.name, _sql(path), params)
            for name, statement in keys:
                _timed(cursor, name, statement)
            # Statistics before the foreign keys, so their validation joins get good plans.
            _timed(cursor, "ANALYZE", "ANALYZE " + ", ".join(SEEDED_TABLES + ("rating_counts",)))
            for name, statement in foreign_keys:
                _timed(cursor, name, statement)
            counts = []
            for table in SEEDED_TABLES:
                cursor.execute(f"SELECT count(*) FROM {table}")
                counts.append((table, cursor.fetchone()[0]))
    finally:
        if autocommit:
            conn.autocommit = True
    log.info("seed: %d ratings (random seed %d) in %.2f s", ratings, random_seed, time.perf_counter() - started)
    return counts


def has_demo_data(conn) -> bool:
    """True when the database already has ratings."""
    idle = conn.get_transaction_status() == 0  # psycopg2.extensions.TRANSACTION_STATUS_IDLE
    with conn.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT FROM ratings)")
        found = cursor.fetchone()[0]
    if idle and not conn.autocommit:
        conn.rollback()  # end the transaction this query opened, nothing else
    return found
