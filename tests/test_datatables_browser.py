"""A stock DataTables 2.x in headless Chromium pages and sorts GET /csat with no glue code.

The page below configures DataTables only with `serverSide: true` and `ajax: {url, headers}`
(no `ajax` function, no `data` callback): the request is DataTables' own protocol, and the
service must understand it. Chromium loads the page from a small local HTTP server that
serves the page and the npm packages and passes /csat requests on to a real gunicorn, so the
table and the API share one origin (no CORS, no test route in the app). A scenario in the
page's query string clicks DataTables' own controls (the "next" page button, a column
header); `chromium --headless --dump-dom --virtual-time-budget` runs the page until it is
idle and prints the DOM, whose table rows are compared with the API's own answer for the
sortBy/sortType and start/length those clicks stand for.

datatables.net@2 and jquery@3 come from the npm registry (`npm pack`) into tests/.cache
(gitignored; fetched once). Without chromium or npm the tests are skipped on a laptop and
fail under CI (CI is set), where .ci/run installs Debian's chromium.
"""

import html
import http.client
import http.server
import json
import re
import shutil
import subprocess
import tarfile
import threading
from functools import partial
from pathlib import Path

import pytest

from tests.servers import ROOT, chromium_binary, free_port, gunicorn, make_token, require_tool

pytestmark = pytest.mark.slow  # a browser

CACHE = ROOT / "tests" / ".cache" / "datatables"
PACKAGES = {"datatables.net@2": "package/js/dataTables.min.js",
            "jquery@3": "package/dist/jquery.min.js"}
PAGE_LENGTH = 10
# The table's columns; rating_id is not sortable in the API, so the page says so.
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>CSAT</title>
<script src="/assets/jquery.min.js"></script>
<script src="/assets/dataTables.min.js"></script>
</head><body>
<table id="ratings"><thead><tr>
<th>Id</th><th>Rating</th><th>Reference</th><th>Company</th><th>Date</th><th>Source</th>
</tr></thead></table>
<script>
const scenario = new URLSearchParams(location.search).get("scenario");
const table = new DataTable("#ratings", {
  serverSide: true,
  ajax: {url: "/csat", headers: {Authorization: "Bearer __TOKEN__"}},
  pageLength: __PAGE_LENGTH__,
  order: [[4, "desc"]],
  columns: [{data: "rating_id", orderable: false}, {data: "rating"}, {data: "reference_id"},
            {data: "company_name"}, {data: "rating_date"}, {data: "source"}],
});
// Each step clicks one of DataTables' own controls once the previous answer is drawn.
const steps = {
  first: [],
  next: [() => document.querySelector("button.dt-paging-button.next").click()],
  sort: [() => document.querySelectorAll("#ratings thead th")[2].click(),
         () => document.querySelectorAll("#ratings thead th")[2].click(),
         () => document.querySelector("button.dt-paging-button.next").click()],
}[scenario];
let draws = 0;
table.on("draw", () => {
  draws += 1;
  if (draws <= steps.length) {
    setTimeout(steps[draws - 1], 0);
  } else {
    const done = document.createElement("div");
    done.id = "done";
    done.textContent = JSON.stringify(table.ajax.params());
    document.body.appendChild(done);
  }
});
table.on("dt-error", (event, settings, techNote, message) => {
  document.body.appendChild(Object.assign(document.createElement("pre"),
                                          {id: "dt-error", textContent: message}));
});
</script></body></html>
"""


@pytest.fixture(scope="module")
def assets():
    """{file name: path} of DataTables' and jQuery's scripts, fetched with npm once."""
    files = {Path(member).name: CACHE / Path(member).name for member in PACKAGES.values()}
    if all(path.exists() for path in files.values()):
        return files
    npm = require_tool(shutil.which("npm"), "npm", "npm")
    CACHE.mkdir(parents=True, exist_ok=True)
    for package, member in PACKAGES.items():
        packed = subprocess.run([npm, "pack", package, "--pack-destination", str(CACHE)],
                                capture_output=True, text=True, timeout=300, check=True)
        tarball = CACHE / packed.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as archive:
            extracted = archive.extractfile(member)
            (CACHE / Path(member).name).write_bytes(extracted.read())
        tarball.unlink()
    return files


class _SameOrigin(http.server.BaseHTTPRequestHandler):
    """The page, the scripts, and /csat passed on to gunicorn, all from one origin."""

    def __init__(self, *args, page, assets, upstream, **kwargs):
        self.page, self.assets, self.upstream = page, assets, upstream
        super().__init__(*args, **kwargs)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(200, "text/html; charset=utf-8", self.page.encode())
        elif path.startswith("/assets/") and path[len("/assets/"):] in self.assets:
            self._send(200, "text/javascript", self.assets[path[len("/assets/"):]].read_bytes())
        elif path == "/csat":
            host, port = self.upstream.rsplit(":", 1)
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            try:
                conn.request("GET", self.path,
                             headers={"Authorization": self.headers.get("Authorization", "")})
                response = conn.getresponse()
                self._send(response.status, response.getheader("Content-Type"), response.read())
            finally:
                conn.close()
        else:
            self._send(404, "text/plain", b"not found")

    def _send(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def api(shared_db, tmp_path_factory):
    with gunicorn(shared_db, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log") as address:
        yield address


@pytest.fixture(scope="module")
def site(api, assets):
    token = make_token(permissions=["menu-csat"], expires_in=3600)
    page = PAGE.replace("__TOKEN__", token).replace("__PAGE_LENGTH__", str(PAGE_LENGTH))
    handler = partial(_SameOrigin, page=page, assets=assets, upstream=api)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def rendered(site, scenario, tmp_path):
    """(rating ids of the table's rows, DataTables' last request parameters) after the scenario."""
    result = subprocess.run(
        [chromium_binary(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=30000",
         "--dump-dom", f"{site}/?scenario={scenario}"],
        capture_output=True, text=True, timeout=120)
    dom = result.stdout
    error = re.search(r'<pre id="dt-error">(.*?)</pre>', dom, re.S)
    assert error is None, html.unescape(error.group(1))
    done = re.search(r'<div id="done">(.*?)</div>', dom, re.S)
    assert done is not None, f"the table never finished drawing:\n{dom[-2000:]}\n{result.stderr[-2000:]}"
    body = dom[dom.index("<tbody"):dom.index("</tbody>")]
    ids = [int(cell) for cell in re.findall(r"<tr[^>]*>\s*<td[^>]*>(\d+)</td>", body)]
    return ids, json.loads(html.unescape(done.group(1)))


def api_ids(client, auth_headers, **params):
    response = client.get("/csat", query_string={"length": PAGE_LENGTH, **params},
                          headers=auth_headers())
    assert response.status_code == 200
    return [row["rating_id"] for row in response.get_json()["data"]]


def test_the_first_page_is_the_newest_ratings(site, client, auth_headers, tmp_path):
    ids, sent = rendered(site, "first", tmp_path)
    assert sent["order"][0]["column"] == 4 and sent["start"] == 0
    assert ids == api_ids(client, auth_headers, sortBy="ratingDate", sortType="desc")
    assert len(ids) == PAGE_LENGTH


def test_the_next_button_shows_the_second_page(site, client, auth_headers, tmp_path):
    ids, sent = rendered(site, "next", tmp_path)
    assert sent["start"] == PAGE_LENGTH
    assert ids == api_ids(client, auth_headers, sortBy="ratingDate", sortType="desc",
                          start=PAGE_LENGTH)


def test_clicking_a_header_twice_sorts_by_it_descending(site, client, auth_headers, tmp_path):
    ids, sent = rendered(site, "sort", tmp_path)
    assert sent["order"][0] == {"column": 2, "dir": "desc", "name": ""}
    assert sent["start"] == PAGE_LENGTH
    expected = api_ids(client, auth_headers, sortBy="reference", sortType="desc", start=PAGE_LENGTH)
    assert ids == expected
    assert expected != api_ids(client, auth_headers, sortBy="ratingDate", sortType="desc",
                               start=PAGE_LENGTH)
