"""What operators rely on: the container recipe, request ids, JSON log lines and metrics.

In-process tests; tests/test_gunicorn.py checks the same behaviours under real gunicorn
workers.
"""

import fnmatch
import io
import json
import logging
import os
import re
import shutil
import subprocess

import pytest

from app import create_app
from csat import metrics
from csat.request_log import JsonFormatter, RequestContextFilter
from tests.servers import ROOT, assert_boom, bearer, make_settings, make_token, sample, scrape

RUNTIME_PATHS = ("app.py", "gunicorn.conf.py", "requirements.txt", "csat", "schemas", "sql")


# --- Dockerfile -------------------------------------------------------------------------

def dockerfile_instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    logical = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")))
    return [tuple(line.strip().split(None, 1)) for line in logical.splitlines() if line.strip()]


def final_stage():
    instructions = dockerfile_instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def copy_sources(arguments):
    """The build-context sources of a COPY (none when it copies from another stage)."""
    parts = arguments.split()
    if any(part.startswith("--from=") for part in parts):
        return []
    return [part for part in parts if not part.startswith("--")][:-1]


def dockerignored(path):
    """Whether .dockerignore keeps `path` out of the build context (last match wins)."""
    ignored = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if _dockerignore_match(pattern, path):
            ignored = not negated
    return ignored


def _dockerignore_match(pattern, path):
    """A pattern matches a path or any of its parent directories; `**/` spans directories."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    if pattern.startswith("**/"):
        tail = pattern[3:]
        return any(fnmatch.fnmatchcase(part, tail) for part in parts)
    depth = pattern.count("/") + 1
    return any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes if prefix.count("/") + 1 == depth)


def build_context_files():
    files = []
    for directory, subdirectories, names in os.walk(ROOT):
        subdirectories[:] = [d for d in subdirectories if d not in (".git", ".venv", "var")]
        for name in names:
            relative = os.path.relpath(os.path.join(directory, name), ROOT)
            if not dockerignored(relative):
                files.append(relative)
    return files


def test_every_copy_source_exists_and_reaches_the_build_context():
    sources = [source for word, arguments in dockerfile_instructions() if word == "COPY"
               for source in copy_sources(arguments)]
    assert sources, "the Dockerfile copies nothing from the build context"
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not dockerignored(source.rstrip("/")), f"{source} is excluded by .dockerignore"


def test_the_image_gets_runtime_files_only():
    files = build_context_files()
    assert files
    for path in files:
        assert path.split("/")[0] in RUNTIME_PATHS, f"{path} would reach the image"
    assert not any(path.startswith("tests/") for path in files)
    assert "requirements-dev.txt" not in files


def test_final_stage_runs_gunicorn_as_non_root_with_exec_form_commands():
    stage = final_stage()
    words = dict(stage)
    assert stage[0][1].split()[0] == "python:3.11-slim"
    assert json.loads(words["CMD"]) == ["gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
    healthcheck = words["HEALTHCHECK"]
    assert "CMD [" in healthcheck, "HEALTHCHECK must be exec form"
    command = json.loads(healthcheck[healthcheck.index("CMD ") + 4:])
    assert command[:2] == ["python", "-c"] and "/healthz" in command[2]
    compile(command[2], "HEALTHCHECK", "exec")
    user = words["USER"].split(":")[0]
    assert user not in ("root", "0")
    assert "PYTHONUNBUFFERED=1" in words["ENV"] and "PYTHONDONTWRITEBYTECODE=1" in words["ENV"]
    assert "requirements-dev" not in (ROOT / "Dockerfile").read_text()


def test_dependencies_come_from_wheels_built_in_the_first_stage():
    instructions = dockerfile_instructions()
    froms = [arguments for word, arguments in instructions if word == "FROM"]
    assert len(froms) == 2 and froms[0].endswith(" AS build")
    runs = [arguments for word, arguments in final_stage() if word == "RUN"]
    assert any("pip install" in run and "--no-index" in run and "-r requirements.txt" in run
               for run in runs)


def test_hadolint_finds_nothing():
    hadolint = shutil.which("hadolint") or str(ROOT / ".venv" / "bin" / "hadolint")
    result = subprocess.run([hadolint, "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- request ids ------------------------------------------------------------------------

@pytest.fixture
def exploding_client(shared_db):
    app = create_app(make_settings(shared_db))

    @app.get("/__explode")
    def explode():
        raise RuntimeError("boom")

    yield app.test_client()
    app.extensions["csat_db"].close()


@pytest.mark.parametrize("method, path, headers, status", [
    ("get", "/healthz", {}, 200),
    ("get", "/readyz", {}, 200),
    ("get", "/nope", {}, 404),
    ("delete", "/csat/agents/list", {}, 405),
    ("get", "/csat/agents/list", {}, 401),
    ("get", "/csat/agents/list", {"Authorization": "Bearer not-a-token"}, 401),
    ("get", "/csat/agents/list", bearer(make_token(permissions=["other"])), 403),
    ("get", "/__explode", {}, 500),
])
def test_every_response_carries_a_request_id(exploding_client, method, path, headers, status):
    response = getattr(exploding_client, method)(path, headers=headers)
    assert response.status_code == status
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


def test_authorized_and_unavailable_responses_carry_a_request_id(client):
    response = client.get("/csat/agents/list", headers=bearer(make_token()))
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])

    down = create_app(make_settings("postgresql://postgres@127.0.0.1:1/none")).test_client()
    response = down.get("/readyz", headers={"X-Request-Id": "edge-42"})
    assert_boom(response, 503)
    assert response.headers["X-Request-Id"] == "edge-42"


def test_each_request_gets_its_own_id(client):
    ids = {client.get("/healthz").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


@pytest.mark.parametrize("incoming, kept", [
    ("abc-123", True),
    ("7f0c2c1e-2b1a-4a59-9b4f-2f1d8f9b7a10", True),
    ("nginx.req:42_x", True),
    ("x" * 128, True),
    ("x" * 129, False),
    ("has space", False),
    ("quote\"d", False),
    ("", False),
])
def test_a_well_formed_incoming_request_id_is_kept(client, incoming, kept):
    response = client.get("/healthz", headers={"X-Request-Id": incoming})
    if kept:
        assert response.headers["X-Request-Id"] == incoming
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])


# --- JSON log lines ---------------------------------------------------------------------

@pytest.fixture
def json_log():
    """The root logger's records as the production handler formats them (one JSON per line)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)

    def lines():
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(previous_level)


def test_an_access_line_is_json_with_the_request_fields(client, json_log):
    response = client.get("/csat/agents/list?localeId=1", headers={
        **bearer(make_token(admin_id=1)), "X-Request-Id": "req-access-1"})
    assert response.status_code == 200
    [line] = [entry for entry in json_log() if entry.get("request_id") == "req-access-1"]
    assert line["logger"] == "csat.access"
    assert line["level"] == "info"
    assert line["admin_id"] == 1
    assert line["method"] == "GET"
    assert line["path"] == "/csat/agents/list"
    assert line["endpoint"] == "/csat/agents/list"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert line["message"] == "GET /csat/agents/list 200"
    assert isinstance(line["pid"], int)


def test_an_error_is_logged_with_its_request_id_and_then_the_access_line(exploding_client, json_log):
    exploding_client.get("/__explode", headers={"X-Request-Id": "req-boom-1"})
    lines = [entry for entry in json_log() if entry.get("request_id") == "req-boom-1"]
    assert [entry["logger"] for entry in lines] == ["csat.errors", "csat.access"]
    error, access = lines
    assert error["level"] == "error"
    assert "RuntimeError: boom" in error["exception"]
    assert access["status"] == 500 and "admin_id" not in access


def test_unknown_routes_are_logged_without_an_endpoint(client, json_log):
    client.get("/csat/nope/nope", headers={"X-Request-Id": "req-404"})
    [line] = [entry for entry in json_log() if entry.get("request_id") == "req-404"]
    assert line["status"] == 404 and line["path"] == "/csat/nope/nope" and "endpoint" not in line


def test_extras_beyond_the_request_fields_are_kept(json_log):
    logging.getLogger("csat.exports").info(
        "export complete", extra={"rows_streamed": 3000, "outcome": "complete", "duration_ms": 12.5})
    [line] = [entry for entry in json_log() if entry["logger"] == "csat.exports"]
    assert line["rows_streamed"] == 3000
    assert line["outcome"] == "complete"
    assert line["duration_ms"] == 12.5
    assert "request_id" not in line  # logged outside a request


# --- metrics ----------------------------------------------------------------------------

def test_metrics_count_a_request_by_route_and_status_after_it_was_made(client):
    before = scrape(client)
    for unknown_locale in (101, 102):
        client.get(f"/csat/agents/list?localeId={unknown_locale}", headers=bearer(make_token()))
    client.get("/csat/agents/list", headers=bearer(make_token()))
    after = scrape(client)
    labels = {"method": "GET", "endpoint": "/csat/agents/list"}
    assert sample(after, "csat_http_requests_total", status="200", **labels) \
        - sample(before, "csat_http_requests_total", status="200", **labels) == 1
    assert sample(after, "csat_http_requests_total", status="400", **labels) \
        - sample(before, "csat_http_requests_total", status="400", **labels) == 2
    assert sample(after, "csat_http_request_duration_seconds_count", status="200", **labels) \
        - sample(before, "csat_http_request_duration_seconds_count", status="200", **labels) == 1


def test_metrics_never_label_by_raw_path(client):
    client.get("/csat/definitely/not/a/route")
    samples = scrape(client)
    assert sample(samples, "csat_http_requests_total",
                  method="GET", endpoint="unmatched", status="404") >= 1
    assert not any("definitely" in value for _, labels in samples for _, value in labels)


def test_metrics_need_no_token(client):
    assert client.get("/metrics").status_code == 200


def test_database_error_calls_show_up(client):
    before = scrape(client)
    metrics.database_error("unavailable")
    after = scrape(client)

    def grew(name, **labels):
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("csat_database_errors_total", kind="unavailable") == 1
    assert grew("csat_database_errors_total", kind="other") == 0
    assert ("csat_database_errors_total", (("kind", "other"),)) in after  # exported before any


def test_database_error_refuses_an_unknown_kind():
    with pytest.raises(ValueError, match="unavailable"):
        metrics.database_error("timeout")


def test_pool_gauges_show_this_process_pool(app, client):
    client.get("/csat/agents/list", headers=bearer(make_token()))  # opens a connection
    samples = scrape(client)
    pool = app.extensions["csat_db"].pool("primary")
    assert sample(samples, "csat_db_pool_max_connections", role="primary") == pool.max_size
    assert sample(samples, "csat_db_pool_connections", role="primary", state="in_use") == 0
    assert sample(samples, "csat_db_pool_connections", role="primary", state="idle") >= 1


def test_a_streamed_export_carries_a_request_id_and_is_logged_when_it_ends(client, json_log):
    response = client.get("/csat?report=true&score=1", headers={
        **bearer(make_token(admin_id=1)), "X-Request-Id": "export-req-1"})
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["X-Request-Id"] == "export-req-1"
    rows = sum(len(json.loads(line)) for line in response.get_data(as_text=True).splitlines())
    response.close()
    lines = [entry for entry in json_log() if entry.get("request_id") == "export-req-1"]
    assert [entry["logger"] for entry in lines] == ["csat.exports", "csat.access"]
    export, access = lines
    assert export["rows_streamed"] == rows > 0
    assert export["admin_id"] == 1
    assert access["streamed"] is True
    assert access["status"] == 200 and access["endpoint"] == "/csat" and access["admin_id"] == 1
