"""The framework's own errors are Boom too; the database being down is a 503 with Retry-After."""

import pytest

from app import create_app
from csat.config import ConfigError, Settings
from tests.servers import assert_boom, bearer, make_settings, make_token


def test_unknown_route_is_404_boom(client):
    assert_boom(client.get("/nope"), 404, "Not Found")
    assert_boom(client.get("/csat/agents/nope", headers=bearer(make_token())), 404)


def test_wrong_method_is_405_boom(client):
    response = client.delete("/csat/agents/list")
    assert_boom(response, 405, "Method DELETE is not allowed on this path")
    assert "GET" in response.headers["Allow"]


def test_healthz_needs_no_database_or_token():
    app = create_app(make_settings("postgresql://postgres@127.0.0.1:1/none"))
    assert app.test_client().get("/healthz").get_json() == {"status": "ok"}


def test_readyz(client):
    assert client.get("/readyz").get_json() == {"status": "ready", "databases": {"primary": {"reachable": True}}}


@pytest.fixture
def down_client():
    app = create_app(make_settings("postgresql://postgres@127.0.0.1:1/none"))
    return app.test_client()


@pytest.mark.parametrize("path", ["/readyz", "/csat/agents/list"])
def test_database_down_is_503_boom(down_client, path):
    response = down_client.get(path, headers=bearer(make_token()))
    assert_boom(response, 503, "The database is unavailable, try again shortly")
    assert response.headers["Retry-After"] == "5"


def test_internal_errors_hide_details(shared_db, caplog):
    app = create_app(make_settings(shared_db))

    @app.get("/__boom")
    def explode():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/__boom", headers={"X-Request-Id": "req-123"})
    body = assert_boom(response, 500, "An internal server error occurred")
    assert body == {"statusCode": 500, "error": "Internal Server Error",
                    "message": "An internal server error occurred"}
    assert "secret" not in response.get_data(as_text=True)
    assert response.headers["X-Request-Id"] == "req-123"
    logged = [r for r in caplog.records if r.exc_info and "secret internals" in str(r.exc_info[1])]
    assert logged and logged[0].request_id == "req-123"


@pytest.mark.parametrize("overrides, message", [
    ({"jwt_secret_key": None}, "JWT_SECRET_KEY is missing"),
    ({"jwt_secret_key": "dev-secret-change-me"}, "JWT_SECRET_KEY is missing or is the development default"),
    ({"jwt_secret_key": "short"}, "at least 32 characters"),
    ({"jwt_algorithm": "none"}, "JWT_ALGORITHM must be one of"),
    ({"jwt_algorithm": "RS256"}, "needs JWT_PUBLIC_KEY"),
    ({"time_zone": "Mars/Olympus"}, "not a known time zone"),
])
def test_production_refuses_unsafe_settings(overrides, message):
    values = {"environment": "production", "jwt_secret_key": "x" * 40, **overrides}
    with pytest.raises(ConfigError, match=message):
        Settings(**values).validate()
