"""CORS_ORIGINS: the admin frontend on its own origin calls the API from a browser.

In-process: the preflight and response headers for a listed origin, none for any other
origin or when the setting is empty, and the setting's validation. Over real sockets: a
page served from a second local port, loaded in headless Chromium (the Debian package,
installed by .ci/run; without it the test skips locally and fails under CI), calls the
list and a CSV export through gunicorn with a token, and reports what it could read.
"""

import html
import json
import re
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app import create_app
from csat.config import ConfigError, Settings
from tests.servers import TEST_SECRET, bearer, chromium_binary, gunicorn, make_settings, make_token, run_sql

FRONTEND = "https://admin.example.com"
PREFLIGHT = {"Origin": FRONTEND, "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "authorization,x-locale-id"}


@pytest.fixture
def cors_client(shared_db):
    application = create_app(make_settings(shared_db, cors_origins=(FRONTEND, "http://[::1]:3000")))
    yield application.test_client()
    application.extensions["csat_db"].close()


@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_a_listed_origin_gets_its_preflight_answered(cors_client, method):
    response = cors_client.options("/csat/comments" if method != "GET" else "/csat",
                                   headers={**PREFLIGHT, "Access-Control-Request-Method": method,
                                            "Access-Control-Request-Headers":
                                                "authorization,content-type,x-locale-id"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT"
    assert response.headers["Access-Control-Allow-Headers"] == "authorization, content-type, x-locale-id"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_header_outside_the_list_is_not_allowed(cors_client):
    response = cors_client.options("/csat", headers={**PREFLIGHT,
                                                     "Access-Control-Request-Headers": "x-custom"})
    assert "Access-Control-Allow-Headers" not in response.headers


def test_responses_expose_the_download_name_and_request_id(cors_client):
    response = cors_client.get("/csat?length=1", headers={**bearer(make_token()), "Origin": FRONTEND})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Expose-Headers"] == "Content-Disposition, X-Request-Id"
    assert response.headers["Vary"] == "Origin"
    # Errors too, so the frontend can read the Boom body of a 401.
    error = cors_client.get("/csat", headers={"Origin": FRONTEND})
    assert error.status_code == 401 and error.headers["Access-Control-Allow-Origin"] == FRONTEND


def test_an_ipv6_origin_is_matched_exactly(cors_client):
    listed = cors_client.get("/csat/nope", headers={"Origin": "http://[::1]:3000"})
    assert listed.headers["Access-Control-Allow-Origin"] == "http://[::1]:3000"
    # flask-cors would read "[::1]" as a regex character class; it must not match ":".
    other = cors_client.get("/csat/nope", headers={"Origin": "http://::3000"})
    assert "Access-Control-Allow-Origin" not in other.headers


@pytest.mark.parametrize("origin", [
    "https://evil.example.com", "https://admin.example.com.evil.com", "http://admin.example.com",
    "https://admin.example.com:444", "null",
])
def test_any_other_origin_gets_no_cors_headers(cors_client, origin):
    for response in (cors_client.options("/csat", headers={**PREFLIGHT, "Origin": origin}),
                     cors_client.get("/csat?length=1", headers={**bearer(make_token()), "Origin": origin})):
        assert not [name for name in response.headers.keys() if name.startswith("Access-Control-")]


def test_no_cors_headers_by_default(client):
    for response in (client.options("/csat", headers=PREFLIGHT),
                     client.get("/csat?length=1", headers={**bearer(make_token()), "Origin": FRONTEND})):
        assert not [name for name in response.headers.keys() if name.startswith("Access-Control-")]


def test_the_setting_is_a_comma_list_of_exact_origins(monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", " https://admin.example.com , http://localhost:3000,")
    settings = Settings.from_env(jwt_secret_key=TEST_SECRET, environment="test")
    assert settings.cors_origins == ("https://admin.example.com", "http://localhost:3000")
    monkeypatch.delenv("CORS_ORIGINS")
    assert Settings.from_env(jwt_secret_key=TEST_SECRET, environment="test").cors_origins == ()


@pytest.mark.parametrize("value", ["*", "https://admin.example.com/", "admin.example.com",
                                   "https://*.example.com", "https://admin.example.com/app"])
def test_anything_but_an_origin_is_refused_at_start(monkeypatch, value):
    monkeypatch.setenv("CORS_ORIGINS", value)
    with pytest.raises(ConfigError, match="CORS_ORIGINS"):
        Settings.from_env(jwt_secret_key=TEST_SECRET, environment="test")


# --- A real browser -------------------------------------------------------------------------

PAGE = """<!doctype html>
<html><head><title>running</title></head><body><pre id="result"></pre><script>
const api = %(api)s, headers = {"Authorization": "Bearer " + %(token)s, "X-Locale-Id": %(locale)s};
async function call(path, read) {
  try {
    const response = await fetch(api + path, {headers});
    return {status: response.status, ...(await read(response))};
  } catch (error) {
    return {blocked: error.name};
  }
}
(async () => {
  const list = await call("/csat?length=2", async r => {
    const page = await r.json();
    return {rows: page.data.length, requestId: r.headers.get("X-Request-Id")};
  });
  const csv = await call("/csat?report=true&format=csv&score=1", async r => ({
    disposition: r.headers.get("Content-Disposition"),
    header: (await r.text()).split("\\r\\n")[0],
  }));
  document.getElementById("result").textContent = JSON.stringify({list, csv});
  document.title = "done";
})();
</script></body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def frontend(tmp_path_factory):
    """A static file server on its own port: the frontend's origin."""
    directory = tmp_path_factory.mktemp("frontend")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield directory, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def browse(binary, url, profile):
    """The page's DOM after its script ran, as headless Chromium prints it."""
    completed = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom", url],
        capture_output=True, text=True, timeout=90)
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def page_result(dom):
    assert "<title>done</title>" in dom, dom[-2000:]
    return json.loads(html.unescape(re.search(r'<pre id="result">(.*?)</pre>', dom, re.S).group(1)))


@pytest.mark.slow
@pytest.mark.parametrize("listed", [True, False], ids=["origin listed", "origin not listed"])
def test_a_page_on_another_origin_calls_the_api_only_when_listed(
        listed, frontend, shared_db, tmp_path):
    binary = chromium_binary()
    directory, origin = frontend
    [(locale,)] = run_sql(shared_db, "SELECT min(id) FROM locales")
    env = {"CORS_ORIGINS": f"{origin},http://localhost:3000"} if listed else {}
    with gunicorn(shared_db, tmp_path / "gunicorn.log", **env) as address:
        page = PAGE % {"api": json.dumps(f"http://{address}"), "locale": json.dumps(str(locale)),
                       "token": json.dumps(make_token(expires_in=3600))}
        (directory / f"{tmp_path.name}.html").write_text(page)
        result = page_result(browse(binary, f"{origin}/{tmp_path.name}.html", tmp_path / "profile"))

    if listed:
        assert result["list"]["status"] == 200 and result["list"]["rows"] == 2
        assert re.fullmatch(r"[0-9a-f]{32}", result["list"]["requestId"])
        assert result["csv"]["status"] == 200
        assert re.fullmatch(r'attachment; filename="csat-ratings_all_all\.csv"',
                            result["csv"]["disposition"])
        assert result["csv"]["header"].startswith("rating_id,rating,comment,")
    else:
        assert result == {"list": {"blocked": "TypeError"}, "csv": {"blocked": "TypeError"}}
