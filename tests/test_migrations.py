"""Migrations: each file runs as is with psql and records itself, `flask migrate` is idempotent,
refuses changed migrations, re-applies changed definitions and takes over databases migrated
before checksums were kept."""

import shutil
import subprocess

import psycopg2
import pytest

from app import create_app
from csat.db import SQL_DIR, load
from csat.migrations import apply_pending, definition_files, migration_files
from tests.servers import make_settings, psql_binary

# A versioned migration that a scratch sql directory gains: it must never run while an applied
# one has changed.
SCRATCH_MIGRATION = """BEGIN;
CREATE TABLE scratch_0099 (id integer);
INSERT INTO schema_migrations (version) VALUES ('0099_scratch');
COMMIT;
"""


def _rows(url, name):
    """sql/<name>.sql's rows on `url`, as dicts."""
    query = load(name)
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute(query.sql(), query.params({}))
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        conn.close()


def _versions(url):
    return [row["version"] for row in _rows(url, "migrations_applied")]


def _definitions(url):
    return {(row["kind"], row["name"]): (row["definition"], row["comment"])
            for row in _rows(url, "schema_definitions_list")}


def _migrate(url, *args):
    """`flask migrate *args` against `url`: the click Result."""
    app = create_app(make_settings(url))
    try:
        return app.test_cli_runner().invoke(args=["migrate", *args])
    finally:
        app.extensions["csat_db"].close()


@pytest.fixture
def scratch_sql(tmp_path):
    """A copy of sql/ that a test may edit."""
    return shutil.copytree(SQL_DIR, tmp_path / "sql")


def test_each_file_runs_with_psql_and_flask_migrate_takes_over(databases, shared_db):
    """A database migrated with psql alone has the ledger a release before checksums left:
    `--status` reads it unchanged, and `flask migrate` records the checksums and applies the
    definitions, ending with what a database migrated by `flask migrate` has."""
    url = databases.url(databases.create("psql_migrations"))
    for path in migration_files():
        result = subprocess.run(
            [psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
            capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{path.name}: {result.stderr}"
        assert _versions(url)[-1] == path.stem
    assert _versions(url) == [p.stem for p in migration_files()]
    ledger = _rows(url, "migrations_applied")

    status = _migrate(url, "--status")
    assert status.exit_code == 0, status.output
    assert f"migrations: {len(migration_files())} unrecorded" in status.output
    assert f"definitions: {len(definition_files())} new" in status.output
    assert _rows(url, "migrations_applied") == ledger, "--status changed the ledger"
    assert _rows(url, "migration_ledgers_check") == [{"migrations": True, "definitions": False}]

    first = _migrate(url)
    assert first.exit_code == 0, first.output
    assert f"recorded the checksums of {len(migration_files())} migration(s)" in first.output
    assert f"applied {len(definition_files())} definition file(s)" in first.output
    assert all(row["checksum"] for row in _rows(url, "migrations_applied"))
    assert _definitions(url) == _definitions(shared_db)

    second = _migrate(url)
    assert second.exit_code == 0, second.output
    assert "database is up to date" in second.output


def test_migrate_twice_is_a_no_op(databases):
    url = databases.url(databases.create("migrate_twice"))
    conn = psycopg2.connect(url)
    try:
        first = apply_pending(conn, log=lambda message: None)
    finally:
        conn.close()
    conn = psycopg2.connect(url)
    try:
        second = apply_pending(conn, log=lambda message: None)
    finally:
        conn.close()
    assert first.applied == [p.stem for p in migration_files()]
    assert first.definitions == [p.name for p in definition_files()]
    assert (second.applied, second.recorded, second.definitions) == ([], [], [])


def test_flask_migrate_command(databases):
    url = databases.url(databases.create("cli_migrate"))
    first = _migrate(url)
    assert first.exit_code == 0, first.output
    assert f"applied {len(migration_files())} migration(s)" in first.output
    second = _migrate(url)
    assert second.exit_code == 0, second.output
    assert "database is up to date" in second.output


def test_a_changed_migration_is_refused_and_nothing_applied(databases, scratch_sql):
    url = databases.url(databases.create("changed_migration"))
    assert _migrate(url, "--sql-dir", str(scratch_sql)).exit_code == 0
    edited = scratch_sql / "migrations" / "0004_rating_rows.sql"
    edited.write_text(edited.read_text(encoding="utf-8") + "-- an afterthought\n", encoding="utf-8")
    (scratch_sql / "migrations" / "0099_scratch.sql").write_text(SCRATCH_MIGRATION, encoding="utf-8")
    ledger = _rows(url, "migrations_applied")

    refused = _migrate(url, "--sql-dir", str(scratch_sql))
    assert refused.exit_code != 0, refused.output
    assert "0004_rating_rows.sql" in refused.output
    assert "0099_scratch" not in refused.output
    assert _rows(url, "migrations_applied") == ledger

    status = _migrate(url, "--status", "--sql-dir", str(scratch_sql))
    assert status.exit_code == 0, status.output
    assert "  changed     0004_rating_rows\n" in status.output
    assert "  pending     0099_scratch\n" in status.output
    assert "  applied     0005_list_indexes\n" in status.output
    assert _rows(url, "migrations_applied") == ledger

    # Restored, the file is the one applied again, and the new migration goes in.
    shutil.copy(SQL_DIR / "migrations" / "0004_rating_rows.sql", edited)
    resumed = _migrate(url, "--sql-dir", str(scratch_sql))
    assert resumed.exit_code == 0, resumed.output
    assert _versions(url)[-1] == "0099_scratch"


def test_a_changed_definition_is_applied_again(databases, scratch_sql):
    url = databases.url(databases.create("changed_definition"))
    assert _migrate(url, "--sql-dir", str(scratch_sql)).exit_code == 0
    key = ("function", "csat_export_text(text,boolean)")
    quoted, doubled = "THEN '''' || value", "THEN '''''' || value"
    # pg_get_functiondef gives the quote back as ''''::text, the doubled one as ''''''::text.
    assert "(''''::text || value)" in _definitions(url)[key][0]

    path = scratch_sql / "definitions" / "10_csat_export_text.sql"
    path.write_text(path.read_text(encoding="utf-8").replace(quoted, doubled), encoding="utf-8")
    before = _definitions(url)
    status = _migrate(url, "--status", "--sql-dir", str(scratch_sql))
    assert "  changed     10_csat_export_text.sql\n" in status.output
    assert _definitions(url) == before

    changed = _migrate(url, "--sql-dir", str(scratch_sql))
    assert changed.exit_code == 0, changed.output
    assert "applying definitions/10_csat_export_text.sql" in changed.output
    assert "applied 1 definition file(s)" in changed.output
    after = _definitions(url)
    assert "(''''''::text || value)" in after[key][0]
    assert {k: v for k, v in after.items() if k != key} == {k: v for k, v in before.items() if k != key}
    assert "database is up to date" in _migrate(url, "--sql-dir", str(scratch_sql)).output


def test_every_function_and_view_has_exactly_one_definition_file(fresh_db):
    """Each definition file is run alone in a transaction that is rolled back; the catalog rows
    it wrote (schema_definitions_list.sql's defined_now) are what it defines."""
    migrated = _definitions(fresh_db)
    query = load("schema_definitions_list")
    defined_by = {}
    conn = psycopg2.connect(fresh_db)
    try:
        with conn.cursor() as cursor:
            for path in definition_files():
                cursor.execute(path.read_text(encoding="utf-8"))
                cursor.execute(query.sql(), query.params({}))
                for kind, name, _definition, _comment, defined_now in cursor.fetchall():
                    if defined_now:
                        defined_by.setdefault((kind, name), []).append(path.name)
                conn.rollback()
            # All of them again, in order, on top of a migrated database: nothing moves.
            for path in definition_files():
                cursor.execute(path.read_text(encoding="utf-8"))
            cursor.execute(query.sql(), query.params({}))
            reapplied = {(kind, name): (definition, comment)
                         for kind, name, definition, comment, _now in cursor.fetchall()}
            conn.rollback()
    finally:
        conn.close()
    assert sorted(set(migrated) - set(defined_by)) == [], "defined by no file in sql/definitions"
    assert {key: files for key, files in defined_by.items() if len(files) > 1} == {}
    assert reapplied == migrated


@pytest.mark.parametrize("path", definition_files(), ids=lambda p: p.name)
def test_definition_files_only_replace(path):
    """Applied again at any time, inside the runner's transaction: CREATE OR REPLACE and
    COMMENT only, no transaction control, a header that runs it with psql."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith(f"-- {path.name}: ")
    assert f'-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/{path.name}' in lines
    statements = [line for line in lines if line[:1].isalpha()]
    starts = [line for line in statements if line.startswith(("CREATE", "COMMENT", "DROP", "ALTER",
                                                               "BEGIN;", "COMMIT;", "INSERT"))]
    assert starts and all(line.startswith(("CREATE OR REPLACE FUNCTION", "CREATE OR REPLACE VIEW",
                                           "COMMENT ON")) for line in starts), starts
