"""Shared fixtures: a real PostgreSQL, migrated and seeded once per run, and token helpers.

The server is TEST_DATABASE_URL's when that is set (CI points it at the machine's
PostgreSQL), else an embedded one started from the pgserver wheel under var/pgtest.
Each run creates its own databases on that server and drops them at the end:
- a template, migrated and seeded, that nothing connects to;
- `shared_db`, a copy that read-only tests share;
- `fresh_db`, a new copy for each test that writes.
"""

import os
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import jwt
import psycopg2
import pytest

from app import create_app
from csat.config import Settings
from csat.migrations import apply_pending
from csat.seed import seed_demo_data

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-0123456789abcdef0123456789abcdef"
SEED_RATINGS = 3000
SEED = 7

ALL_PERMISSIONS = ("menu-csat", "company-request-view", "csat-add-comments", "csat-update-comments")


def _with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def run_sql(url, statement, params=None):
    """Run one statement on `url` in its own committed transaction; its rows, if any."""
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall() if cursor.description else None
    finally:
        conn.close()


def _admin_execute(server_url, statement):
    conn = psycopg2.connect(server_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def server_url():
    """A maintenance connection URL on the test server."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        yield url
        return
    import pgserver

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
        _admin_execute(self.server_url, f'CREATE DATABASE "{name}"{clause}')
        self.created.append(name)
        return name

    def url(self, name):
        return _with_database(self.server_url, name)

    def drop_all(self):
        for name in reversed(self.created):
            _admin_execute(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
    from tests.servers import EXTRA_RATINGS, add_ratings

    module = request.module.__name__.rsplit(".", 1)[-1]
    url = databases.url(databases.create(f"big_{module}", template=template_db))
    add_ratings(url, getattr(request.module, "BIG_DB_EXTRA_RATINGS", EXTRA_RATINGS))
    return url


@pytest.fixture(scope="module")
def big_db_rows(big_db):
    from tests.servers import rating_count

    return rating_count(big_db)


@pytest.fixture
def fresh_db(databases, template_db):
    """URL of a seeded database of this test's own."""
    return databases.url(databases.create(f"t{uuid.uuid4().hex[:8]}", template=template_db))


def make_settings(database_url, **overrides):
    values = dict(
        database_url=database_url,
        environment="test",
        jwt_secret_key=TEST_SECRET,
        pool_timeout_seconds=1.0,
    )
    values.update(overrides)
    settings = Settings(**values)
    settings.validate()
    return settings


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


def sign(claims, key=TEST_SECRET, algorithm="HS256", headers=None):
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def make_token(admin_id=1, permissions=ALL_PERMISSIONS, locales=None, expires_in=600, **claims):
    now = int(time.time())
    body = {"sub": admin_id, "permissions": list(permissions), "iat": now, "exp": now + expires_in}
    if locales is not None:
        body["locales"] = list(locales)
    body.update(claims)
    return sign({k: v for k, v in body.items() if v is not None})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def auth_headers():
    """auth_headers(permissions=..., admin_id=..., locales=...) -> request headers."""

    def build(**kwargs):
        return bearer(make_token(**kwargs))

    return build


def assert_boom(response, status, message=None):
    """The response is a Boom error with this status (and message, when given)."""
    from werkzeug.http import HTTP_STATUS_CODES

    body = response.get_json()
    assert response.status_code == status, body
    assert body["statusCode"] == status
    assert body["error"] == {413: "Request Entity Too Large", 414: "URI Too Long",
                             422: "Unprocessable Entity"}.get(
        status, HTTP_STATUS_CODES[status])
    assert isinstance(body["message"], str) and body["message"]
    if message is not None:
        assert body["message"] == message
    return body
