"""GET /csat/docs: Swagger UI served whole by the service, working with no other host.

In-process: the page's headers (HTML, Content-Security-Policy, caching) and every file it
names, served with 200 from the flask-swagger-ui wheel's bytes and cached as immutable.
Over real sockets: gunicorn serves the page to headless Chromium (Debian's package; without
it the tests skip on a laptop and fail under CI, where .ci/run installs it), driven over
the DevTools protocol (`--remote-debugging-pipe`: JSON messages ended by NUL on file
descriptors 3 and 4, so no client library is needed). Chromium records every request the
page makes, and resolves no host but 127.0.0.1 (`--host-resolver-rules`), so a file or call
to another host would both show in the record and fail to load. The tests wait until
Swagger UI has rendered the operations, compare them with the OpenAPI document, check the
server's access log for every file, and use Authorize and "Try it out" as a person would.
"""

import fcntl
import json
import os
import re
import subprocess
import threading
from importlib.resources import files

import pytest

from csat.routes.api_docs import ASSETS_VERSION, CONTENT_SECURITY_POLICY
from tests.servers import assert_boom, chromium_binary, gunicorn, make_token, request, wait_for

DIST = files("flask_swagger_ui") / "dist"
RENDER_TIMEOUT = 60
# Swagger UI keeps styles and scripts to what the policy allows: a violation is recorded here.
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
    event => window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`));
"""
RENDERED_OPERATIONS = """JSON.stringify([...document.querySelectorAll(".opblock")].map(block => [
    block.querySelector(".opblock-summary-method").textContent,
    block.querySelector(".opblock-summary-path").dataset.path]))"""


def page_files(page):
    """The relative URLs of the files the page names (stylesheets, icons, scripts)."""
    return re.findall(r'(?:href|src)="([^"]+)"', page)


# --- In-process: headers and files -------------------------------------------------------------

def test_the_page_is_html_under_a_self_only_policy(client):
    response = client.get("/csat/docs")  # no token: the page holds no data
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    directives = dict(directive.split(" ", 1) for directive in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert set(directives) >= {"object-src", "base-uri", "frame-ancestors"}
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_page_names_only_relative_urls_of_this_version(client):
    page = client.get("/csat/docs").get_data(as_text=True)
    names = page_files(page)
    assert len(names) == 6
    assert all(name.startswith(f"docs/{ASSETS_VERSION}/") for name in names), names
    assert "<script>" not in page and "style=" not in page  # nothing inline


@pytest.mark.parametrize("name, content_type", [
    ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    ("swagger-ui.css", "text/css; charset=utf-8"),
    ("index.css", "text/css; charset=utf-8"),
    ("favicon-32x32.png", "image/png"),
    ("favicon-16x16.png", "image/png"),
])
def test_swagger_ui_files_come_from_the_wheel_cached_as_immutable(client, name, content_type):
    response = client.get(f"/csat/docs/{ASSETS_VERSION}/{name}")
    assert response.status_code == 200
    assert response.content_type == content_type
    assert response.get_data() == (DIST / name).read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    again = client.get(f"/csat/docs/{ASSETS_VERSION}/{name}",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_initializer_loads_the_document_next_to_the_page(client):
    response = client.get(f"/csat/docs/{ASSETS_VERSION}/csat-docs.js")
    assert response.status_code == 200
    assert response.content_type == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    script = response.get_data(as_text=True)
    assert 'new URL("openapi.json", document.baseURI)' in script
    assert "validatorUrl: null" in script  # the badge would ask an online validator


@pytest.mark.parametrize("path", [
    f"/csat/docs/{ASSETS_VERSION}/swagger-ui.js",  # in the wheel, unused by the page
    f"/csat/docs/{ASSETS_VERSION}/oauth2-redirect.html",
    f"/csat/docs/{ASSETS_VERSION}/..%2Fflask_swagger_ui.py",
    f"/csat/docs/{ASSETS_VERSION}/nope.js",
    "/csat/docs/0.0.0-00000000/swagger-ui.css",
    "/csat/docs/",
])
def test_anything_else_under_docs_is_a_boom_404(client, path):
    assert_boom(client.get(path), 404)


def test_the_openapi_document_lists_the_page_but_not_its_files(client):
    paths = client.get("/csat/openapi.json").get_json()["paths"]
    page = paths["/csat/docs"]["get"]
    assert list(page["responses"]["200"]["content"]) == ["text/html"]
    assert "security" not in page
    assert [path for path in paths if path.startswith("/csat/docs")] == ["/csat/docs"]


# --- A real browser --------------------------------------------------------------------------

class DevTools:
    """Headless Chromium driven over its DevTools pipe; keeps every event it sends."""

    def __init__(self, binary, profile, *flags):
        to_browser, self._writer = (_above_stdio(fd) for fd in os.pipe())
        self._reader, from_browser = (_above_stdio(fd) for fd in os.pipe())
        # bash puts the pipe's ends on the descriptors Chromium reads (3) and writes (4).
        self.process = subprocess.Popen(
            ["bash", "-c", f'exec "$@" 3<&{to_browser} 4>&{from_browser}', "bash", binary,
             "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--disable-background-networking", "--remote-debugging-pipe",
             f"--user-data-dir={profile}", *flags, "about:blank"],
            pass_fds=(to_browser, from_browser), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self.events, self._answers, self._last_id = [], {}, 0
        self._arrived = threading.Condition()
        threading.Thread(target=self._receive, daemon=True).start()

    def _receive(self):
        pending = b""
        while chunk := os.read(self._reader, 1 << 16):
            *messages, pending = (pending + chunk).split(b"\0")
            with self._arrived:
                for message in map(json.loads, messages):
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self.events.append(message)
                self._arrived.notify_all()

    def send(self, method, session=None, **params):
        self._last_id += 1
        message = {"id": self._last_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._writer, json.dumps(message).encode() + b"\0")
        with self._arrived:
            assert self._arrived.wait_for(lambda: self._last_id in self._answers, 60), method
        answer = self._answers.pop(self._last_id)
        assert "error" not in answer, (method, answer["error"])
        return answer["result"]

    def close(self):
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._writer)
        os.close(self._reader)


def _above_stdio(fd):
    """The same pipe end on a descriptor of 10 or more (3 and 4 are Chromium's to take)."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Tab:
    """One page of the browser; every request it sent and script evaluation in it."""

    def __init__(self, devtools):
        self.devtools = devtools
        target = devtools.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = devtools.send("Target.attachToTarget", targetId=target,
                                     flatten=True)["sessionId"]
        devtools.send("Network.enable", self.session)
        devtools.send("Page.enable", self.session)
        devtools.send("Page.addScriptToEvaluateOnNewDocument", self.session,
                      source=RECORD_CSP_VIOLATIONS)

    def open(self, url):
        self.devtools.send("Page.navigate", self.session, url=url)

    def evaluate(self, expression):
        result = self.devtools.send("Runtime.evaluate", self.session, expression=expression,
                                    returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def wait_for(self, expression, timeout=RENDER_TIMEOUT):
        found = wait_for(lambda: self.evaluate(expression), timeout, interval=0.1)
        assert found, f"never true: {expression}"
        return found

    def requests(self):
        """(url, headers) of every request the page sent, in order."""
        return [(event["params"]["request"]["url"], event["params"]["request"]["headers"])
                for event in list(self.devtools.events)
                if event["method"] == "Network.requestWillBeSent"
                and event.get("sessionId") == self.session]


@pytest.fixture(scope="module")
def served(shared_db, tmp_path_factory):
    """(gunicorn's "host:port", its log file)."""
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn(shared_db, log) as address:
        yield address, log


@pytest.fixture(scope="module")
def docs(served, tmp_path_factory):
    """A tab that opened /csat/docs, once Swagger UI has drawn its first operations."""
    binary = chromium_binary()
    address, _ = served
    devtools = DevTools(binary, tmp_path_factory.mktemp("chromium"),
                        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    try:
        tab = Tab(devtools)
        tab.open(f"http://{address}/csat/docs")
        tab.wait_for("document.querySelectorAll('.opblock').length > 0")
        yield tab
    finally:
        devtools.close()


def access_log(log):
    """(path, status) of every request the service answered, from its JSON access lines."""
    lines = (json.loads(line) for line in log.read_text().splitlines() if line.startswith("{"))
    return [(line["path"], line["status"]) for line in lines if line["logger"] == "csat.access"]


def fetched(address, path):
    status, _, body = request(address, path)
    assert status == 200, path
    return body.decode()


def test_every_operation_of_the_document_is_rendered(docs, served):
    paths = json.loads(fetched(served[0], "/csat/openapi.json"))["paths"]
    expected = sorted([method.upper(), path] for path, item in paths.items() for method in item)
    rendered = json.loads(docs.wait_for(
        f"document.querySelectorAll('.opblock').length === {len(expected)} && "
        f"{RENDERED_OPERATIONS}"))
    assert sorted(rendered) == expected
    assert ["GET", "/csat/{id}"] in rendered
    assert ["GET", "/csat/ticket/{ticketId}"] in rendered
    assert ["GET", "/csat/docs"] in rendered
    assert docs.evaluate("JSON.stringify(window.cspViolations)") == "[]"


def test_no_request_left_the_service(docs, served):
    address, log = served
    names = page_files(fetched(address, "/csat/docs"))
    icons = {f"/csat/{name}" for name in names if name.endswith(".png")}
    # The browser asks for one of the two icon sizes, once the page is drawn.
    assert wait_for(lambda: icons & served_paths(docs, address), 10)
    assert foreign_requests(docs, address) == []
    requested = served_paths(docs, address)
    assert {"/csat/docs", "/csat/openapi.json",
            *(f"/csat/{name}" for name in names if not name.endswith(".png"))} <= requested
    # Every one was answered by this service with 200 (a file's line is written once sent).
    answered = wait_for(lambda: requested <= {path for path, status in access_log(log)
                                              if status == 200}, 10)
    assert answered, (requested, access_log(log))


def served_paths(tab, address):
    """The paths of the requests the tab sent to the service."""
    origin = f"http://{address}"
    return {url[len(origin):] for url, _ in tab.requests() if url.startswith(origin + "/")}


def foreign_requests(tab, address):
    """Every request the tab sent anywhere but the service (data: URLs are no request)."""
    return [url for url, _ in tab.requests() if not url.startswith((f"http://{address}/", "data:"))]


def test_try_it_out_sends_the_token_given_to_authorize(docs, served):
    token = make_token(permissions=["menu-csat"], expires_in=3600)
    docs.evaluate("document.querySelector('button.authorize').click()")
    docs.wait_for("document.getElementById('auth-bearer-value') !== null")
    # A React input takes a value as typed: set through the native setter, then announced.
    docs.evaluate(f"""(() => {{
        const input = document.getElementById("auth-bearer-value");
        Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set
            .call(input, {json.dumps(token)});
        input.dispatchEvent(new Event("input", {{bubbles: true}}));
        document.querySelector(".auth-btn-wrapper button.authorize").click();
    }})()""")
    docs.wait_for("document.querySelector('.auth-btn-wrapper .btn-done') !== null")
    docs.evaluate("document.querySelector('.auth-btn-wrapper .btn-done').click()")
    operation = "#operations-agents-agents_list"
    docs.evaluate(f"document.querySelector('{operation} .opblock-summary-control').click()")
    docs.wait_for(f"document.querySelector('{operation} .try-out__btn') !== null")
    docs.evaluate(f"document.querySelector('{operation} .try-out__btn').click()")
    docs.wait_for(f"document.querySelector('{operation} button.execute') !== null")
    docs.evaluate(f"document.querySelector('{operation} button.execute').click()")

    status = docs.wait_for(f"document.querySelector("
                           f"'{operation} .live-responses-table tbody .response-col_status')"
                           f"?.textContent")
    assert status.strip() == "200"
    calls = [headers for url, headers in docs.requests() if url.endswith("/csat/agents/list")]
    assert len(calls) == 1
    assert calls[0]["Authorization"] == f"Bearer {token}"
    assert foreign_requests(docs, served[0]) == []
    assert docs.evaluate("JSON.stringify(window.cspViolations)") == "[]"
