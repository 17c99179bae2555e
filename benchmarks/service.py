"""The service under test: gunicorn started as production starts it, a token, an HTTP client.

gunicorn runs `-c gunicorn.conf.py 'app:create_app()'` with the production defaults (workers, threads,
pool sizes, logging) on a free port; only BIND, DATABASE_URL and a freshly generated
JWT secret are set here (and GUNICORN_WORKERS/GUNICORN_THREADS when the caller overrides
them to compare sizes).
"""

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import jwt

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
PERMISSIONS = ("menu-csat", "company-request-view")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_secret():
    """A production-grade JWT secret for this run only."""
    return secrets.token_urlsafe(48)


def make_token(secret, admin_id, lifetime_seconds=3 * 3600, permissions=PERMISSIONS):
    """An HS256 token for an active admin with the read permissions and no locale limit."""
    now = int(time.time())
    claims = {"sub": str(admin_id), "iat": now, "exp": now + lifetime_seconds,
              "permissions": list(permissions)}
    return jwt.encode(claims, secret, algorithm="HS256")


@contextmanager
def gunicorn(database_url, secret, log_path, workers=None, threads=None):
    """A production-configured gunicorn on a free port; yields (host, port, master pid)."""
    port = free_port()
    environment = dict(os.environ, BIND=f"127.0.0.1:{port}", DATABASE_URL=database_url,
                       JWT_SECRET_KEY=secret, CSAT_ENV="production")
    environment.pop("DATABASE_READ_URL", None)
    if workers:
        environment["GUNICORN_WORKERS"] = str(workers)
    if threads:
        environment["GUNICORN_THREADS"] = str(threads)
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "app:create_app()"],
                                   cwd=ROOT, env=environment, stdout=log,
                                   stderr=subprocess.STDOUT)
    try:
        _wait_until_ready("127.0.0.1", port, process)
        yield "127.0.0.1", port, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(host, port, process, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; see its log")
        try:
            status, _ = Client(host, port, {}).get("/readyz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not become ready in time")


def worker_pids(master_pid):
    """The gunicorn master's worker processes."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return [int(pid) for pid in children]


def memory_kb(pid, field="VmRSS"):
    """VmRSS (now) or VmHWM (peak) of a process, in kB; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Client:
    """Keep-alive HTTP/1.1 connections that read whole bodies.

    GETs, the requests the benchmark times, go through a minimal client of its own: a path's
    request bytes are built once, and the answer is read up to its Content-Length. Python's
    http.client parses every header line in Python, time the benchmark would count as the
    service's (measured in benchmarks/README.md). POSTs (the ingest writer's) use http.client.
    """

    def __init__(self, host, port, headers):
        self.host, self.port, self.headers = host, port, headers
        self._conn = None  # http.client, for POSTs
        self._sock = None  # the GET connection
        self._requests = {}  # path -> request bytes

    def get(self, path):
        """(status, body bytes)."""
        for attempt in (1, 2):
            try:
                return self._get_once(path)
            except (ConnectionError, TimeoutError):
                # gunicorn recycles workers (max_requests): reconnect once, as browsers do.
                self._close_get()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _get_once(self, path):
        if self._sock is None:
            self._sock = socket.create_connection((self.host, self.port), timeout=120)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = self._requests.get(path)
        if request is None:
            lines = [f"GET {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
            lines += [f"{name}: {value}" for name, value in self.headers.items()]
            request = self._requests[path] = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
        self._sock.sendall(request)
        received = bytearray()
        head_end = -1
        while head_end < 0:
            received += self._receive()
            head_end = received.find(b"\r\n\r\n")
        status, length, closes = _response_head(bytes(received[:head_end]))
        body_end = head_end + 4 + length
        while len(received) < body_end:
            received += self._receive()
        if len(received) > body_end:
            raise RuntimeError(f"{path}: more bytes than the answer's Content-Length")
        if closes:
            self._close_get()
        return status, bytes(received[head_end + 4:])

    def _receive(self):
        chunk = self._sock.recv(262144)
        if not chunk:
            raise ConnectionResetError("the server closed the connection")
        return chunk

    def _close_get(self):
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def post(self, path, body):
        """(status, body bytes) of a JSON POST (not retried: it writes)."""
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            self._conn.request("POST", path, body=body,
                               headers={**self.headers, "Content-Type": "application/json"})
            response = self._conn.getresponse()
            return response.status, response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            self.close()
            raise

    def timed_get(self, path):
        """(milliseconds, status, body)."""
        started = time.perf_counter()
        status, body = self.get(path)
        return (time.perf_counter() - started) * 1000, status, body

    def close(self):
        self._close_get()
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _response_head(head):
    """(status, Content-Length, whether the server closes) of a response's head."""
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" not in headers:
        raise RuntimeError(f"no Content-Length (a streamed answer?): {status_line}")
    return (int(status_line.split()[1]), int(headers["content-length"]),
            headers.get("connection", "").lower() == "close")
