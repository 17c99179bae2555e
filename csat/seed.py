"""Deterministic demo data: sql/seed/NN_*.sql, loaded from two connections at once.

The same `random_seed` gives the same data, byte for byte; the generation is all set-based
SQL and each file is one deterministic statement, whichever connection runs it.

Speed (the target is 1,000,000 ratings in under 30 s on two cores) comes from two things:
- Keys and indexes are built after the load, not row by row: the first transaction empties
  the tables, drops the big tables' keys and indexes and every foreign key of the seeded
  tables, and loads the small tables and tickets. Each key, index and foreign key is then
  rebuilt once (one index build or one validation join each).
- The rest runs as separate tasks on two connections: ticket comments while ratings are
  generated, the trigram index on ratings (the longest build, single-threaded) while the
  other indexes and the foreign keys are built. A task starts when the tasks it needs are
  done and no running task holds a lock it would wait for.

The price is that the seed is no longer one transaction: other sessions see the tables fill
up, and a seed that fails half way leaves data without some keys. Nothing is lost for good:
every key dropped is written to seed_pending_keys (migration 0016) in the transaction that
drops it and removed in the one that rebuilds it, and the next seed rebuilds whatever is
listed there. has_demo_data() is false while anything is pending, so `seed --if-empty`
repairs it too. An advisory lock keeps two seeds of one database from interleaving.

Every statement is a query file run through csat.db.load on the seed's own connections (it
runs outside a request, so not through db.fetch_*): sql/seed/NN_*.sql and sql/seed_*.sql. Only
statements whose identifiers are known at run time are composed here, with
psycopg2.sql.Identifier: dropping and re-creating the keys and indexes found in the catalog
(their definitions are PostgreSQL's own text, from pg_get_constraintdef and pg_get_indexdef),
and ANALYZE of this module's table lists (a utility statement takes no parameters).
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
from psycopg2 import sql

from csat.db import load

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
# Seed files run as tasks after the first transaction: what each writes and reads. The files
# before them (reset, reference data, companies and users, tickets) form that transaction.
FILE_TASKS = {
    "04_ticket_comments.sql": {"writes": ("ticket_comments",), "reads": ("tickets",)},
    "05_ratings.sql": {"writes": ("ratings", "rating_counts", "rating_filter_version", "rating_comment_terms"),
                       "reads": ("tickets", "companies")},
    "06_follow_ups.sql": {"writes": ("rating_follow_ups", "rating_follow_up_history", "rating_change_horizon"),
                          "reads": ("ratings",),
                          "after": ("05_ratings.sql",)},
}
WRITTEN_BY = {table: name for name, task in FILE_TASKS.items() for table in task["writes"]}
CONNECTIONS = 2  # the machine's cores; each task is one backend's work
# PostgreSQL's lock modes as the tasks take them, and which pairs wait for each other.
READ, INSERT, ANALYZE, BUILD, FOREIGN_KEY, ALTER = (
    "access share", "row exclusive", "share update exclusive", "share", "share row exclusive", "access exclusive")
_WAITS_FOR = {
    READ: {ALTER},
    INSERT: {BUILD, FOREIGN_KEY, ALTER},
    ANALYZE: {ANALYZE, BUILD, FOREIGN_KEY, ALTER},
    BUILD: {INSERT, ANALYZE, FOREIGN_KEY, ALTER},
    FOREIGN_KEY: {INSERT, ANALYZE, BUILD, FOREIGN_KEY, ALTER},
    ALTER: {READ, INSERT, ANALYZE, BUILD, FOREIGN_KEY, ALTER},
}


class SeedError(RuntimeError):
    """The seed stopped after committing some of its data; the message says how to recover."""


@dataclass
class Task:
    name: str
    statements: str | sql.Composable
    locks: dict  # table -> lock mode
    after: set = field(default_factory=set)  # names of tasks that must be done first
    pending_key: tuple | None = None  # (table, name) in seed_pending_keys, removed with the work
    params: dict | None = None

    def conflicts_with(self, other):
        return any(mode in _WAITS_FOR[other.locks[table]]
                   for table, mode in self.locks.items() if table in other.locks)


def _run(cursor, name, params=None):
    """Run sql/<name>.sql through the shared loader on one of the seed's own connections."""
    query = load(name)
    cursor.execute(query.sql(), query.params(params or {}))


def _seed_file(name, params):
    """sql/seed/<name> as a statement and its parameters. The loader strips the comment lines and
    only the last `;`, so a file of several statements (04_ticket_comments.sql) runs as one."""
    query = load(f"seed/{Path(name).stem}")
    return query.sql(), query.params(params)


def _analyze(tables):
    """ANALYZE takes no parameters: its table names are composed, from this module's lists."""
    return sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables)))


def _timed(cursor, label, statement, params=None):
    started = time.perf_counter()
    cursor.execute(statement, params)
    log.info("seed: %-40s %6.2f s", label, time.perf_counter() - started)


def _suspend_keys(cursor):
    """Drop those constraints and indexes, writing each to seed_pending_keys first."""
    tables = {"seeded": list(SEEDED_TABLES), "bulk": list(BULK_TABLES)}
    _run(cursor, "seed_keys_list", tables)
    constraints = cursor.fetchall()
    _run(cursor, "seed_indexes_list", tables)
    indexes = cursor.fetchall()

    for table, name, referenced, definition, is_foreign, comment, table_identifier, constraint_name in constraints:
        on_table, constraint = sql.Identifier(*table_identifier), sql.Identifier(constraint_name)
        restore = sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {};").format(on_table, constraint, sql.SQL(definition))
        if comment is not None:
            restore += sql.SQL("\nCOMMENT ON CONSTRAINT {} ON {} IS {};").format(constraint, on_table,
                                                                              sql.Literal(comment))
        kind, referenced = ("foreign key", referenced) if is_foreign else ("key", None)
        _remember(cursor, table, name, kind, referenced, restore)
        cursor.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(on_table, constraint))
    for table, name, definition, comment, index_identifier in indexes:
        index = sql.Identifier(*index_identifier)
        restore = sql.SQL("{};").format(sql.SQL(definition))
        if comment is not None:
            restore += sql.SQL("\nCOMMENT ON INDEX {} IS {};").format(index, sql.Literal(comment))
        _remember(cursor, table, name, "index", None, restore)
        cursor.execute(sql.SQL("DROP INDEX {}").format(index))


def _remember(cursor, table, name, kind, referenced, restore):
    _run(cursor, "seed_pending_key_remember", {"table_name": table, "name": name, "kind": kind,
                                                "references_table": referenced,
                                                "statements": restore.as_string(cursor)})


def _plan(pending, params):
    """The tasks after the first transaction: the remaining seed files, each table's ANALYZE,
    and rebuilding everything in seed_pending_keys, with what each needs done before it."""
    files = []
    for name, spec in FILE_TASKS.items():
        statement, values = _seed_file(name, params)
        files.append(Task(name, statement,
                          {**{t: READ for t in spec.get("reads", ())}, **{t: INSERT for t in spec["writes"]}},
                          set(spec.get("after", ())), params=values))
    loaded = lambda table: {WRITTEN_BY[table]} if table in WRITTEN_BY else set()  # noqa: E731
    builds = [Task(f"{table}.{name}", statements, {table: ALTER if kind == "key" else BUILD}, loaded(table),
                   (table, name))
              for table, name, kind, _, statements in pending if kind != "foreign key"]
    indexes_of = {}
    for task in builds:
        indexes_of.setdefault(next(iter(task.locks)), set()).add(task.name)
    # The slowest build (the trigram GIN, single-threaded) goes first, as soon as the ratings are
    # in, so that the other connection does the rest meanwhile; then the seed files, the keys and
    # the other indexes.
    slowest = [task for task in builds if " USING gin " in task.statements]
    tasks = slowest + files + [task for task in builds if task not in slowest]
    # Statistics before the foreign keys, so their validation joins get good plans.
    for table in BULK_TABLES:
        analyzed = (table, "rating_counts") if table == "ratings" else (table,)
        tasks.append(Task(f"ANALYZE {table}", _analyze(analyzed), {table: ANALYZE}, loaded(table)))
    for table, name, kind, referenced, statements in pending:
        if kind == "foreign key":
            needs = set()
            for t in {table, referenced}:
                needs |= loaded(t) | indexes_of.get(t, set()) | ({f"ANALYZE {t}"} if t in BULK_TABLES else set())
            tasks.append(Task(f"{table}.{name}", statements, {table: FOREIGN_KEY, referenced: FOREIGN_KEY},
                              needs, (table, name)))
    return tasks


def _run_tasks(tasks, connections):
    """Run the tasks on the connections, each task in its own transaction. Returns the first
    error (after letting the running tasks end), or None."""
    state = threading.Condition()
    waiting, running, done, failures = list(tasks), [], set(), []

    def next_task():
        for task in waiting:
            if task.after <= done and not any(task.conflicts_with(r) or r.conflicts_with(task) for r in running):
                return task
        return None

    def work(conn):
        while True:
            with state:
                while not failures and waiting and (task := next_task()) is None:
                    state.wait()
                if failures or not waiting:
                    state.notify_all()
                    return
                waiting.remove(task)
                running.append(task)
            try:
                with conn, conn.cursor() as cursor:
                    if task.pending_key:
                        table, name = task.pending_key
                        _run(cursor, "seed_pending_key_forget", {"table_name": table, "name": name})
                    _timed(cursor, task.name, task.statements, task.params)
            except Exception as exc:  # any failure stops both connections after their task
                with state:
                    failures.append(exc)
            with state:
                running.remove(task)
                done.add(task.name)
                state.notify_all()

    threads = [threading.Thread(target=work, args=(conn,), name=f"seed-{i}") for i, conn in enumerate(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures[0] if failures else None


def _extra_connection(conn):
    """Another session on the same database, or None when one cannot be opened."""
    try:
        extra = psycopg2.connect(**conn.info.dsn_parameters, password=conn.info.password)
    except psycopg2.Error as exc:
        log.warning("seed: one connection only (%s)", exc)
        return None
    extra.autocommit = False
    with extra, extra.cursor() as cursor:
        _run(cursor, "seed_session_setup")
    return extra


def seed_demo_data(conn, ratings: int, random_seed: int = 42) -> list[tuple[str, int]]:
    """Replace all data with demo data holding `ratings` ratings; returns (table, rows) pairs."""
    params = {"ratings": int(ratings), "random_seed": int(random_seed)}
    first_files = [p for p in sorted(SEED_DIR.glob("[0-9][0-9]_*.sql")) if p.name not in FILE_TASKS]
    started = time.perf_counter()
    autocommit = conn.autocommit
    conn.autocommit = False
    connections = [conn]
    try:
        with conn, conn.cursor() as cursor:
            _run(cursor, "seed_lock_acquire")  # held by the session to the end
            _run(cursor, "seed_session_setup")
        extra = _extra_connection(conn) if CONNECTIONS > 1 else None
        connections += [extra] if extra else []
        with conn, conn.cursor() as cursor:  # the first transaction: all or nothing
            _timed(cursor, first_files[0].name, *_seed_file(first_files[0].name, params))  # 00_reset.sql: the TRUNCATE
            _suspend_keys(cursor)
            for path in first_files[1:]:
                _timed(cursor, path.name, *_seed_file(path.name, params))
            _timed(cursor, "ANALYZE", _analyze(t for t in SEEDED_TABLES if t not in BULK_TABLES))
            _run(cursor, "seed_pending_keys_list")
            tasks = _plan(cursor.fetchall(), params)
        error = _run_tasks(tasks, connections)
        if error is not None:
            raise SeedError(f"the seed failed after loading part of the data ({error}); keys and indexes not "
                            "rebuilt yet are listed in seed_pending_keys: run the seed again to finish") from error
        with conn, conn.cursor() as cursor:
            _run(cursor, "seed_counts_list", {})
            counts = cursor.fetchall()
    finally:
        for extra in connections[1:]:
            extra.close()
        try:
            conn.rollback()
            with conn.cursor() as cursor:
                _run(cursor, "seed_lock_release")
                _run(cursor, "seed_session_reset")
            conn.commit()
            conn.autocommit = autocommit
        except psycopg2.Error:  # the connection is gone, and with it the session's lock
            pass
    log.info("seed: %d ratings (random seed %d) in %.2f s", ratings, random_seed, time.perf_counter() - started)
    return counts


def has_demo_data(conn) -> bool:
    """True when the database has ratings and no seed left keys to rebuild."""
    idle = conn.get_transaction_status() == 0  # psycopg2.extensions.TRANSACTION_STATUS_IDLE
    with conn.cursor() as cursor:
        _run(cursor, "seed_demo_data_check")
        found = cursor.fetchone()[0]
    if idle and not conn.autocommit:
        conn.rollback()  # end the transaction this query opened, nothing else
    return found
