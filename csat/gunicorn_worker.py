"""gunicorn's gthread worker, answering the requests it refuses itself in Boom JSON.

gunicorn reads the request line and headers before the app runs, and answers a request it
will not pass on with its own HTML page (`util.write_error`). This worker keeps gunicorn's
limits and parser and changes only that answer, for the refusals a client can cause:
- a request line over `limit_request_line` -> 414;
- a header over `limit_request_field_size`, or too many or too much header -> 431;
- a request line or header gunicorn cannot parse -> 400.
Everything else (an unknown transfer coding's 501, an `Expect` it does not know, TLS and
PROXY-protocol failures, a crash) stays gunicorn's own handling.

It also keeps a request thread on its keep-alive connection for a moment after answering
(`handle`): gthread hands every request from its poller thread to a pool thread and the
connection back afterwards, and on an idle machine each hand-off wakes a sleeping CPU, which
costs more than the hand-off itself (benchmarks/README.md). A thread that has answered waits
up to GUNICORN_KEEPALIVE_LINGER_MS (default 100; 0: never) for the same client's next request
and serves it at once. It waits only while the worker has nothing else to do (no other
request being served or queued: under load, gthread's fair hand-off is kept), and at most
half the threads wait at a time, so new connections always find a thread. A stopping worker
ends every wait at once. After a wait with no request the connection goes back to gunicorn's
poller, as before.

Why not let gunicorn pass everything and check sizes in the app: gunicorn's request-line
limit tops out at 8190 bytes, and its only larger setting is 0, "unlimited", which reads a
line of any length into memory before anything can refuse it. 8190 is exactly what nginx's
default `large_client_header_buffers 4 8k` admits (an 8 KB buffer holding the line and its
CRLF), so the service keeps a bounded limit that matches the proxy in front of it
(gunicorn.conf.py; docs/operations.md).
"""

import logging
import os
import select
import socket
import ssl
import threading
import time
import uuid

from gunicorn.http.errors import (ChunkMissingTerminator, InvalidChunkExtension, InvalidChunkSize,
                                  InvalidHeader, InvalidHeaderName, InvalidHTTPVersion,
                                  InvalidRequestLine, InvalidRequestMethod, LimitRequestHeaders,
                                  LimitRequestLine, ObsoleteFolding)
from gunicorn.workers.gthread import ThreadWorker

from csat import metrics
from csat.errors import boom_http_response

log = logging.getLogger("csat.access")
worker_log = logging.getLogger(__name__)

# After answering, read on what the client is still sending (a 70 KB request line it wrote
# in full) before closing: closing a socket with unread input resets the connection, and
# a reset can destroy the answer before the client has read it. Bounded in time and bytes.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1024 * 1024

DEFAULT_KEEPALIVE_LINGER_MS = 100
MAX_KEEPALIVE_LINGER_MS = 60_000

REQUEST_LINE_TOO_LONG = "The request line is too long"
HEADERS_TOO_LARGE = "The request headers are too large"
MALFORMED_REQUEST = "The request could not be parsed"

# The status gunicorn itself gives each refusal (workers/base.py), now with a Boom body.
_REFUSALS = (
    (LimitRequestLine, 414, REQUEST_LINE_TOO_LONG),
    (LimitRequestHeaders, 431, HEADERS_TOO_LARGE),
    ((InvalidRequestLine, InvalidRequestMethod, InvalidHTTPVersion, InvalidHeader,
      InvalidHeaderName, ObsoleteFolding, InvalidChunkSize, ChunkMissingTerminator,
      InvalidChunkExtension), 400, MALFORMED_REQUEST),
)


def keepalive_linger_ms():
    """GUNICORN_KEEPALIVE_LINGER_MS: how long a thread waits for its client's next request."""
    value = int(os.environ.get("GUNICORN_KEEPALIVE_LINGER_MS") or DEFAULT_KEEPALIVE_LINGER_MS)
    if not 0 <= value <= MAX_KEEPALIVE_LINGER_MS:
        raise ValueError(f"GUNICORN_KEEPALIVE_LINGER_MS must be 0 to {MAX_KEEPALIVE_LINGER_MS}, "
                         f"got {value}")
    return value


def refusal(exc):
    """(status, message) of a request gunicorn refused with `exc`, or None if not ours."""
    for classes, status, message in _REFUSALS:
        if isinstance(exc, classes):
            return status, message
    return None


class BoomThreadWorker(ThreadWorker):
    """ThreadWorker whose refusals are Boom JSON with an X-Request-Id, logged and counted
    (csat_http_requests_total{method="unread", endpoint="refused"}), and whose threads serve
    a keep-alive client's next request themselves when it comes soon (module docstring)."""

    def init_process(self):
        self.linger_seconds = keepalive_linger_ms() / 1000
        self.max_lingering = self.cfg.threads // 2
        self._lingering = 0  # threads waiting for their client's next request
        self._queued = 0  # connections handed to the pool that no thread has taken yet
        self._serving = 0  # threads serving a request
        self._counts_lock = threading.Lock()
        # Readable once the worker stops: it ends every thread's wait at once.
        self._stopping_reader, self._stopping_writer = os.pipe()
        super().init_process()

    def handle_exit(self, sig, frame):
        super().handle_exit(sig, frame)
        os.write(self._stopping_writer, b"\0")

    def enqueue_req(self, conn):
        with self._counts_lock:
            self._queued += 1
        super().enqueue_req(conn)

    def handle(self, conn):
        """gthread's handle, then the client's next requests while they come within the linger."""
        with self._counts_lock:
            self._queued -= 1
            self._serving += 1
        try:
            keepalive = super().handle(conn)
            while keepalive is True and self._next_request_comes(conn):
                worker_log.debug("%s sent more within the linger: read on the same thread",
                                 conn.client)
                keepalive = super().handle(conn)
            return keepalive
        finally:
            with self._counts_lock:
                self._serving -= 1

    def _next_request_comes(self, conn):
        if not self.alive or self.linger_seconds <= 0:
            return False
        if conn.parser.unreader.buf.getvalue() or (
                isinstance(conn.sock, ssl.SSLSocket) and conn.sock.pending()):
            return True  # already read, so the socket will not look readable
        with self._counts_lock:
            # Another request being served or queued: the worker is busy, and a waiting thread
            # would only keep this client ahead of the others.
            if self._queued or self._serving > 1 or self._lingering >= self.max_lingering:
                return False
            self._serving -= 1
            self._lingering += 1
        try:
            poller = select.poll()
            poller.register(conn.sock, select.POLLIN)
            poller.register(self._stopping_reader, select.POLLIN)
            ready = dict(poller.poll(self.linger_seconds * 1000))
            return conn.sock.fileno() in ready and self._stopping_reader not in ready
        finally:
            with self._counts_lock:
                self._lingering -= 1
                self._serving += 1

    def handle_error(self, req, client, addr, exc):
        answer = refusal(exc)
        if answer is None:
            return super().handle_error(req, client, addr, exc)
        status, message = answer
        request_id = uuid.uuid4().hex  # the request's own id is in the part not read
        metrics.request_refused(status)
        log.info("request refused by gunicorn: %s", exc, extra={
            "request_id": request_id, "status": status,
            "client": (addr or ("",))[0] or None})
        try:
            client.sendall(boom_http_response(status, message, request_id))
            _linger(client)
        except OSError:
            log.debug("could not send the %s refusal", status)


def _linger(client):
    """Drain the client's input until it closes, LINGER_SECONDS or LINGER_BYTES pass."""
    client.shutdown(socket.SHUT_WR)  # the client reads the answer, then its end of file
    deadline = time.monotonic() + LINGER_SECONDS
    drained = 0
    while drained < LINGER_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        client.settimeout(remaining)
        chunk = client.recv(65536)
        if not chunk:
            return
        drained += len(chunk)
