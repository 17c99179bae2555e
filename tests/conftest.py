"""Shared fixtures: a real PostgreSQL, migrated and seeded once per run, apps and clients.

The server is TEST_DATABASE_URL's when that is set (CI points it at the machine's
PostgreSQL), else an embedded one started from the pgserver wheel under var/pgtest.
Each run creates its own databases on that server and drops them at the end:
- a template, migrated and seeded, that nothing connects to;
- `shared_db`, a copy that read-only tests share;
- `fresh_db`, a new copy for each test that writes.
"""

import os
import uuid

import pgserver
import psycopg2
import pytest

from app import create_app
from csat.migrations import apply_pending
from csat.seed import seed_demo_data
from tests.servers import (EXTRA_RATINGS, ROOT, SEED, SEED_RATINGS, add_ratings, bearer,
                           execute_autocommit, make_settings, make_token, rating_count,
                           with_database)


@pytest.fixture(scope="session")
def server_url():
    """A maintenance connection URL on the test server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    data_dir = ROOT / "var" / "pgtest"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    yield server.get_uri()


class DatabaseFactory:
    """Creates databases on the test server and drops them when the run ends."""

    def __init__(self, server_url):
        self.server_url = server_url
        self.prefix = f"csat_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.created = []

    def create(self, suffix, template=None):
        name = f"{self.prefix}_{suffix}"
        clause = f' TEMPLATE "{template}"' if template else ""
        execute_autocommit(self.server_url, f'CREATE DATABASE "{name}"{clause}')
        self.created.append(name)
        return name

    def url(self, name):
        return with_database(self.server_url, name)

    def drop_all(self):
        for name in reversed(self.created):
            execute_autocommit(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases(server_url):
    factory = DatabaseFactory(server_url)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def template_db(databases):
    """Name of the migrated, seeded template database."""
    name = databases.create("template")
    conn = psycopg2.connect(databases.url(name))
    try:
        apply_pending(conn, log=lambda message: None)
        seed_demo_data(conn, ratings=SEED_RATINGS, random_seed=SEED)
    finally:
        conn.close()
    return name


@pytest.fixture(scope="session")
def shared_db(databases, template_db):
    """URL of a seeded database that tests only read."""
    return databases.url(databases.create("shared", template=template_db))


@pytest.fixture(scope="module")
def big_db(request, databases, template_db):
    """URL of a seeded copy with tens of thousands more ratings, for this test module.

    Exports from it are far larger than any socket buffer, so streaming, disconnects and
    shutdowns can be observed mid-body. Tests only read it.
    """
    module = request.module.__name__.rsplit(".", 1)[-1]
    url = databases.url(databases.create(f"big_{module}", template=template_db))
    add_ratings(url, getattr(request.module, "BIG_DB_EXTRA_RATINGS", EXTRA_RATINGS))
    return url


@pytest.fixture(scope="module")
def big_db_rows(big_db):
    return rating_count(big_db)


@pytest.fixture
def fresh_db(databases, template_db):
    """URL of a seeded database of this test's own."""
    return databases.url(databases.create(f"t{uuid.uuid4().hex[:8]}", template=template_db))


@pytest.fixture(scope="session")
def app(shared_db):
    application = create_app(make_settings(shared_db))
    application.config["TESTING"] = True
    yield application
    application.extensions["csat_db"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def fresh_app(fresh_db):
    """An app on a database of this test's own (for tests that write)."""
    application = create_app(make_settings(fresh_db))
    application.config["TESTING"] = True
    yield application
    application.extensions["csat_db"].close()


@pytest.fixture
def fresh_client(fresh_app):
    return fresh_app.test_client()


@pytest.fixture
def auth_headers():
    """auth_headers(permissions=..., admin_id=..., locales=...) -> request headers."""

    def build(**kwargs):
        return bearer(make_token(**kwargs))

    return build


