"""Request ids and one JSON log line per request and per application log record."""

import logging
import re
import sys
import time
import uuid

import orjson
from flask import g, request

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_log = logging.getLogger("csat.access")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message and any extras."""

    FIELDS = ("request_id", "admin_id", "method", "path", "status", "duration_ms", "rows_streamed")

    def format(self, record):
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level="INFO"):
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_RequestContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class _RequestContextFilter(logging.Filter):
    """Stamps records logged during a request with its id and admin."""

    def filter(self, record):
        try:
            record.request_id = getattr(record, "request_id", None) or g.get("request_id")
            record.admin_id = getattr(record, "admin_id", None) or g.get("admin_id")
        except RuntimeError:  # outside a request
            pass
        return True


def init_app(app):
    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-Id"] = request_id
        if not response.is_streamed:
            access_log.info(
                "%s %s %s", request.method, request.path, response.status_code,
                extra={
                    "request_id": request_id,
                    "admin_id": g.get("admin_id"),
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
                },
            )
        return response
