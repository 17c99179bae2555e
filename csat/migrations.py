"""Applying sql/migrations/NNNN_*.sql in order, each exactly once.

Each file is a complete transaction (BEGIN … COMMIT) that ends by recording its own version
in schema_migrations, so an operator who runs a file with psql and `flask migrate` leave
the same trace, and a file that fails leaves nothing behind. An advisory lock keeps two
deploys from migrating at once.
"""

from csat.db import SQL_DIR, load

MIGRATIONS_DIR = SQL_DIR / "migrations"


def migration_files():
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def _run(cursor, name):
    query = load(name)
    cursor.execute(query.sql(), query.params({}))
    return cursor.fetchall() if cursor.description else None


def apply_pending(conn, log=print):
    """Apply every migration not yet recorded; returns the versions applied now."""
    conn.autocommit = True
    applied_now = []
    with conn.cursor() as cursor:
        _run(cursor, "migrations_lock")
        try:
            _run(cursor, "schema_migrations_create")
            applied = {row[0] for row in _run(cursor, "migrations_applied")}
            for path in migration_files():
                if path.stem in applied:
                    continue
                log(f"applying {path.name}")
                cursor.execute(path.read_text(encoding="utf-8"))
                if path.stem not in {row[0] for row in _run(cursor, "migrations_applied")}:
                    raise RuntimeError(f"{path.name} ran but did not record itself in schema_migrations")
                applied_now.append(path.stem)
        except BaseException:
            # A failed file leaves its transaction aborted; closing the session rolls it
            # back and releases the lock in one step.
            conn.close()
            raise
        _run(cursor, "migrations_unlock")
    return applied_now
