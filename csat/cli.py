"""Operator commands: `flask migrate`, `flask seed`, `flask token`."""

import collections
import time
from pathlib import Path

import click
import psycopg2
from flask import current_app
from flask.cli import with_appcontext

from csat import auth, migrations
from csat.seed import has_demo_data, seed_demo_data


def _connect():
    return psycopg2.connect(current_app.config["CSAT"].database_url)


@click.command("migrate")
@with_appcontext
@click.option("--status", "show_status", is_flag=True,
              help="List applied, pending and changed migrations and the definitions' state; "
                   "change nothing.")
@click.option("--sql-dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=migrations.SQL_DIR, show_default=True,
              help="The sql directory whose migrations/ and definitions/ to use.")
def migrate_command(show_status, sql_dir):
    """Apply pending migrations, then changed definitions (safe to run again)."""
    conn = _connect()
    try:
        if show_status:
            _echo_status(*migrations.status(conn, sql_dir))
            return
        try:
            done = migrations.apply_pending(conn, log=click.echo, sql_dir=sql_dir)
        except migrations.ChangedMigrations as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        conn.close()
    if done.applied:
        click.echo(f"applied {len(done.applied)} migration(s)")
    if done.definitions:
        click.echo(f"applied {len(done.definitions)} definition file(s)")
    if not (done.applied or done.definitions):
        click.echo("database is up to date")


def _echo_status(migration_states, definition_states):
    for title, states, meanings in (("migrations", migration_states, migrations.MIGRATION_STATES),
                                    ("definitions", definition_states, migrations.DEFINITION_STATES)):
        counts = collections.Counter(states.values())
        click.echo(f"{title}: " + (", ".join(f"{counts[state]} {state}" for state in meanings
                                             if counts[state]) or "none"))
        for name, state in states.items():
            click.echo(f"  {state:<10}  {name}")
        for state in list(meanings)[1:]:  # the first is "as it should be"
            if counts[state]:
                click.echo(f"  ({state}: {meanings[state]})")


@click.command("seed")
@with_appcontext
@click.option("--ratings", type=click.IntRange(min=0), default=10_000, show_default=True)
@click.option("--random-seed", type=int, default=42, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when ratings already exist.")
def seed_command(ratings, random_seed, if_empty):
    """Replace all data with deterministic demo data (same seed, same data)."""
    conn = _connect()
    try:
        if if_empty and has_demo_data(conn):
            click.echo("demo data already present; nothing to do")
            return
        started = time.perf_counter()
        counts = seed_demo_data(conn, ratings=ratings, random_seed=random_seed)
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    for table, rows in counts:
        click.echo(f"{table:<28} {rows:>12,}")
    click.echo(f"seeded {ratings:,} ratings (random seed {random_seed}) in {elapsed:.1f} s")


def _int_list(value):
    try:
        return [int(v) for v in value.split(",") if v.strip()] if value else []
    except ValueError:
        raise click.BadParameter("expected comma-separated integers") from None


@click.command("token")
@with_appcontext
@click.option("--admin", "admin_id", type=click.IntRange(min=1), required=True)
@click.option("--permissions", default="", help="Comma-separated, e.g. menu-csat,csat-add-comments")
@click.option("--locales", default=None, help="Comma-separated locale ids the token may see")
@click.option("--expires-in", type=click.IntRange(min=1), default=3600, show_default=True,
              help="Seconds")
def token_command(admin_id, permissions, locales, expires_in):
    """Print a signed JWT for this service's configured key."""
    perms = [p.strip() for p in permissions.split(",") if p.strip()]
    locale_ids = _int_list(locales) if locales is not None else None
    click.echo(auth.mint_token(admin_id, perms, locale_ids, expires_in))


def init_app(app):
    for command in (migrate_command, seed_command, token_command):
        app.cli.add_command(command)
