"""Migrations: each file runs as is with psql, records itself, and `flask migrate` is idempotent."""

import subprocess

import psycopg2

from app import create_app
from csat.migrations import apply_pending, migration_files
from tests.servers import make_settings, psql_binary


def _versions(url):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT version FROM schema_migrations ORDER BY version")
            return [row[0] for row in cursor.fetchall()]
    finally:
        conn.close()


def test_each_file_runs_with_psql_and_records_itself(databases):
    url = databases.url(databases.create("psql_migrations"))
    for path in migration_files():
        result = subprocess.run(
            [psql_binary(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(path)],
            capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{path.name}: {result.stderr}"
        assert _versions(url)[-1] == path.stem
    assert _versions(url) == [p.stem for p in migration_files()]


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
    assert first == [p.stem for p in migration_files()]
    assert second == []


def test_flask_migrate_command(databases, monkeypatch):
    url = databases.url(databases.create("cli_migrate"))
    app = create_app(make_settings(url))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["migrate"])
    assert first.exit_code == 0, first.output
    assert f"applied {len(migration_files())} migration(s)" in first.output
    second = runner.invoke(args=["migrate"])
    assert second.exit_code == 0, second.output
    assert "database is up to date" in second.output
