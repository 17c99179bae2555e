"""Request ids and one JSON log line per request and per application log record.

Every response carries `X-Request-Id`: the caller's (nginx's) id when it is well formed,
else a new one. The same id is stamped on every log record written while the request
runs, so one grep finds a request's access line, its errors and its export summary.

Under gunicorn, `gunicorn.conf.py` routes gunicorn's own loggers and the application's
through `LOGGING` below: one stdout handler on the root logger, nothing else, so each
record is written once, as one JSON object on one line.
"""

import logging
import re
import time
import uuid

import orjson
from flask import g, request
from gunicorn.glogging import Logger as GunicornBaseLogger

REQUEST_ID_HEADER = "X-Request-Id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

access_log = logging.getLogger("csat.access")

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, then the extras.

    The request fields come first in a fixed order so lines read alike; any other extra
    (an export's `outcome`, say) follows.
    """

    FIELDS = ("request_id", "admin_id", "method", "path", "endpoint", "status",
              "duration_ms", "rows_streamed")

    def format(self, record):
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and name not in entry and value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(entry, default=str).decode()


class GunicornLogger(GunicornBaseLogger):
    """gunicorn's logger (gunicorn.conf.py's `logger_class`) without gunicorn's access line.

    The application writes its own, richer one (`tag_and_log`). With `logconfig_dict` set,
    gunicorn would otherwise build every request's access fields for its `gunicorn.access`
    logger, only for that logger's level to drop them.
    """

    def access(self, resp, req, environ, request_time):
        return None


class RequestContextFilter(logging.Filter):
    """Stamps records logged during a request with its id and admin."""

    def filter(self, record):
        try:
            if getattr(record, "request_id", None) is None:
                record.request_id = g.get("request_id")
            if getattr(record, "admin_id", None) is None:
                record.admin_id = g.get("admin_id")
        except RuntimeError:  # outside a request (gunicorn's own lines, a streamed body)
            pass
        return True


def logging_config(level="INFO"):
    """The dictConfig for the whole process: gunicorn's logs and ours, JSON on stdout.

    gunicorn's access logger is silenced: the application writes a richer access line
    (request id, admin, endpoint) itself.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "filters": {"request": {"()": RequestContextFilter}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "json",
                "filters": ["request"],
            },
        },
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }


def init_app(app):
    @app.before_request
    def assign_request_id():
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def tag_and_log(response):
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers[REQUEST_ID_HEADER] = request_id
        line = _access_fields(request_id, response)
        if response.is_streamed:
            # The body is sent after the request context is gone: log when it has been.
            started = g.get("started", time.perf_counter())
            response.call_on_close(lambda: _log_access(line, started))
        else:
            _log_access(line, g.get("started", time.perf_counter()))
        return response


def _access_fields(request_id, response):
    rule = request.url_rule
    return {
        "request_id": request_id,
        "admin_id": g.get("admin_id"),
        "method": request.method,
        "path": request.path,
        "endpoint": rule.rule if rule is not None else None,
        "status": response.status_code,
        "streamed": True if response.is_streamed else None,
    }


def _log_access(fields, started):
    duration_ms = round((time.perf_counter() - started) * 1000, 2)
    access_log.info("%s %s %s", fields["method"], fields["path"], fields["status"],
                    extra={**fields, "duration_ms": duration_ms})
