"""Bringing a database to sql/'s schema: versioned migrations, then the definitions.

Versioned migrations, sql/migrations/NNNN_name.sql, are applied once each, in order. Each
file is a complete transaction (BEGIN … COMMIT) that ends by recording its own version in
schema_migrations, so an operator who runs a file with psql and `flask migrate` leave the
same trace, and a file that fails leaves nothing behind.

A landed migration never changes. `flask migrate` records the sha256 of a file's bytes
(schema_migrations.checksum) when it applies it, and refuses to run, applying nothing, while
the file of an applied version differs from its recorded checksum; the error names the
files. Trust on first record: a version recorded without a checksum (a file run with psql,
or a database migrated before checksums were kept) gets the checksum of its file as it is
at the next `flask migrate`, so an edit made before that goes unnoticed. An applied version
without a file (a newer release's, seen by an older one) is reported, not refused.

Definitions, sql/definitions/NN_name.sql, hold the current text of every function and view
(Flyway's repeatable migrations): CREATE OR REPLACE and COMMENT statements only, so a file
can be applied again at any time, and no BEGIN/COMMIT (`psql -1` runs one by hand). After
the versioned migrations, every definition file whose checksum differs from the one
schema_definitions recorded for it is applied, in file name order, all in one transaction,
and recorded; after a run that applied a versioned migration, every file is, since a
migration may have dropped (CASCADE) or replaced what a definition creates. The numeric
prefix orders dependencies: a file uses only what migrations and files with a smaller
prefix create.

Changing a function or view is editing its definition file. What CREATE OR REPLACE cannot
do needs a versioned migration (the next free number) doing the DROP and CREATE, with the
definition file changed in the same commit: a function's argument list or return type,
a view's existing columns (renamed, retyped, removed; new ones go at the end), dropping a
function or view, and everything that is not a function or view (tables, types, triggers,
indexes). The migrations keep the historical copies they were written with.

An advisory lock keeps two deploys from migrating at once.
"""

import hashlib
from dataclasses import dataclass, field

from csat.db import SQL_DIR, load

# What each state means, as `flask migrate --status` explains it.
MIGRATION_STATES = {
    "applied": "applied as this file is",
    "unrecorded": "applied before checksums were kept: the next `flask migrate` records this file's",
    "changed": "differs from the file that was applied: `flask migrate` refuses to run",
    "pending": "not applied yet",
    "missing": "applied, but there is no such file here",
}
DEFINITION_STATES = {
    "current": "applied as this file is",
    "changed": "changed since it was applied: the next `flask migrate` applies it",
    "new": "never applied by `flask migrate`: the next one applies it",
    "no file": "applied once, but there is no such file here (a migration drops what it defined)",
}


class ChangedMigrations(RuntimeError):
    """Applied migrations whose files are no longer the files that were applied."""


@dataclass
class Migrated:
    """What one `flask migrate` did."""

    applied: list = field(default_factory=list)  # versions applied now, in order
    recorded: list = field(default_factory=list)  # versions whose checksum was first recorded now
    definitions: list = field(default_factory=list)  # definition files applied now


def migration_files(sql_dir=SQL_DIR):
    return sorted((sql_dir / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql"))


def definition_files(sql_dir=SQL_DIR):
    return sorted((sql_dir / "definitions").glob("[0-9][0-9]_*.sql"))


def checksum(data):
    return hashlib.sha256(data).hexdigest()


def _run(cursor, name, params=None):
    query = load(name)
    cursor.execute(query.sql(), query.params(params or {}))
    if cursor.description is None:
        return None
    names = [column.name for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def migration_states(applied, files):
    """{version: state} (MIGRATION_STATES) from migrations_applied.sql's rows and the files."""
    by_version = {path.stem: path for path in files}
    states = {}
    for row in applied:
        path = by_version.get(row["version"])
        if path is None:
            states[row["version"]] = "missing"
        elif row["checksum"] is None:
            states[row["version"]] = "unrecorded"
        elif row["checksum"] != checksum(path.read_bytes()):
            states[row["version"]] = "changed"
        else:
            states[row["version"]] = "applied"
    for version in by_version:
        states.setdefault(version, "pending")
    return dict(sorted(states.items()))


def definition_states(recorded, files):
    """{file name: state} (DEFINITION_STATES) from definitions_applied.sql's rows and the files."""
    recorded = {row["name"]: row["checksum"] for row in recorded}
    states = {name: "no file" for name in recorded}
    for path in files:
        if path.name not in recorded:
            states[path.name] = "new"
        elif recorded[path.name] != checksum(path.read_bytes()):
            states[path.name] = "changed"
        else:
            states[path.name] = "current"
    return dict(sorted(states.items()))


def status(conn, sql_dir=SQL_DIR):
    """(migration states, definition states), read in read-only transactions."""
    conn.set_session(readonly=True, autocommit=True)
    with conn.cursor() as cursor:
        ledgers = _run(cursor, "migration_ledgers_check")[0]
        applied = _run(cursor, "migrations_applied") if ledgers["migrations"] else []
        recorded = _run(cursor, "definitions_applied") if ledgers["definitions"] else []
    return (migration_states(applied, migration_files(sql_dir)),
            definition_states(recorded, definition_files(sql_dir)))


def apply_pending(conn, log=print, sql_dir=SQL_DIR):
    """Apply every migration not yet recorded, then the definitions due; returns a Migrated.

    Raises ChangedMigrations, having applied nothing, when an applied migration's file changed.
    """
    conn.autocommit = True
    done = Migrated()
    with conn.cursor() as cursor:
        _run(cursor, "migrations_lock")
        try:
            _run(cursor, "schema_migrations_create")
            _run(cursor, "schema_definitions_create")
            _apply_migrations(cursor, migration_files(sql_dir), done, log)
            _apply_definitions(conn, cursor, definition_files(sql_dir), done, log)
        except BaseException:
            # A failed file leaves its transaction aborted; closing the session rolls it
            # back and releases the lock in one step.
            conn.close()
            raise
        _run(cursor, "migrations_unlock")
    return done


def _apply_migrations(cursor, files, done, log):
    states = migration_states(_run(cursor, "migrations_applied"), files)
    changed = [path.name for path in files if states[path.stem] == "changed"]
    if changed:
        raise ChangedMigrations(
            f"refusing to migrate: applied migration(s) changed since they were applied: "
            f"{', '.join(changed)} (sha256 differs from schema_migrations.checksum). Nothing was "
            f"applied. A landed migration never changes: restore the file and put the change in "
            f"a new migration (or, for a function or view, in its sql/definitions file).")
    for path in files:
        if states[path.stem] == "unrecorded":
            _run(cursor, "migration_checksum_record",
                 {"version": path.stem, "checksum": checksum(path.read_bytes())})
            done.recorded.append(path.stem)
        elif states[path.stem] == "pending":
            log(f"applying {path.name}")
            data = path.read_bytes()
            cursor.execute(data.decode("utf-8"))
            if not _run(cursor, "migration_checksum_record",
                        {"version": path.stem, "checksum": checksum(data)}):
                raise RuntimeError(f"{path.name} ran but did not record itself in schema_migrations")
            done.applied.append(path.stem)
    if done.recorded:
        log(f"recorded the checksums of {len(done.recorded)} migration(s) applied without one")


def _apply_definitions(conn, cursor, files, done, log):
    states = definition_states(_run(cursor, "definitions_applied"), files)
    due = [path for path in files if done.applied or states[path.name] != "current"]
    if not due:
        return
    # One transaction: the definitions change together or not at all.
    conn.autocommit = False
    for path in due:
        log(f"applying {path.parent.name}/{path.name}")
        data = path.read_bytes()
        cursor.execute(data.decode("utf-8"))
        _run(cursor, "definition_record", {"name": path.name, "checksum": checksum(data)})
        done.definitions.append(path.name)
    conn.commit()
    conn.autocommit = True
