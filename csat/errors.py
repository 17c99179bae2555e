"""The one place where every failure becomes a Boom JSON response.

Body: {"statusCode", "error", "message"}; 400s add {"validation": {"source", "keys"}}.
Handlers raise ApiError (or let Flask, marshmallow, flask-jwt-extended or psycopg2 raise
their own); nothing else in the service builds an error response. gunicorn refuses some
requests before the app could see them (a request line or headers over its limits, a
request it cannot parse); csat/gunicorn_worker.py answers those with `boom_http_response`
below, so they are Boom JSON too.
"""

import logging

import orjson
import psycopg2
from flask import g, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from csat import metrics
from csat.db_failures import is_unavailable

log = logging.getLogger(__name__)

INTERNAL_ERROR_MESSAGE = "An internal server error occurred"
DATABASE_UNAVAILABLE_MESSAGE = "The database is unavailable, try again shortly"

# Boom's phrases where they differ from werkzeug's.
# 414: RFC 9110's name (werkzeug still says "Request URI Too Long").
_BOOM_PHRASES = {413: "Request Entity Too Large", 414: "URI Too Long", 422: "Unprocessable Entity"}


class ApiError(Exception):
    """An expected failure with its HTTP status; the message is safe to show the caller."""

    status = 500
    default_message = INTERNAL_ERROR_MESSAGE

    def __init__(self, message=None, *, validation=None, headers=None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.validation = validation
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400
    default_message = "Invalid request"


class Unauthorized(ApiError):
    status = 401
    default_message = "Missing or invalid token"


class Forbidden(ApiError):
    status = 403
    default_message = "Insufficient permissions"


class NotFound(ApiError):
    status = 404
    default_message = "Not found"


class Conflict(ApiError):
    status = 409
    default_message = "Conflict"


class UnprocessableEntity(ApiError):
    status = 422
    default_message = "The request could not be read"


class TooManyRequests(ApiError):
    status = 429
    default_message = "Too many requests"


class ServiceUnavailable(ApiError):
    status = 503
    default_message = DATABASE_UNAVAILABLE_MESSAGE


def phrase(status):
    return _BOOM_PHRASES.get(status) or HTTP_STATUS_CODES.get(status, "Unknown Error")


def boom_body(status, message, validation=None):
    body = {"statusCode": status, "error": phrase(status), "message": message}
    if validation is not None:
        body["validation"] = validation
    return body


def boom_response(status, message, *, validation=None, headers=None):
    response = jsonify(boom_body(status, message, validation))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def boom_http_response(status, message, request_id):
    """A whole HTTP/1.1 response, as bytes, for a request refused before the app ran.

    The connection is closed afterwards: whatever the client sent after the part gunicorn
    refused cannot be read as a next request.
    """
    body = orjson.dumps(boom_body(status, message))
    head = (f"HTTP/1.1 {status} {phrase(status)}\r\n"
            "Connection: close\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"X-Request-Id: {request_id}\r\n"
            "\r\n")
    return head.encode("latin-1") + body


def validation_error(exc: ValidationError, source):
    """A marshmallow failure as a 400 naming the offending keys, in a stable order."""
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    keys = sorted(messages)
    first = messages[keys[0]]
    while isinstance(first, (list, dict)):
        first = first[0] if isinstance(first, list) else next(iter(first.values()))
    detail = f'"{keys[0]}" {first[0].lower() + first[1:] if first else "is invalid"}'
    return BadRequest(detail, validation={"source": source, "keys": keys})


def _request_id():
    return getattr(g, "request_id", None)


def init_app(app):
    @app.errorhandler(ApiError)
    def handle_api_error(exc):
        headers = dict(exc.headers)
        if exc.status == 503:
            headers.setdefault("Retry-After", str(app.config["CSAT"].retry_after_seconds))
        return boom_response(exc.status, exc.message, validation=exc.validation, headers=headers)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc):
        headers = {k: v for k, v in exc.get_headers() if k.lower() == "allow"}
        message = _http_message(exc)
        return boom_response(exc.code, message, headers=headers)

    @app.errorhandler(psycopg2.Error)
    def handle_database_error(exc):
        if is_unavailable(exc):
            metrics.database_error("unavailable")
            log.warning("database unavailable: %s", str(exc).strip(), extra={"request_id": _request_id()})
            return handle_api_error(ServiceUnavailable())
        metrics.database_error("other")
        log.exception("database error", extra={"request_id": _request_id()})
        return boom_response(500, INTERNAL_ERROR_MESSAGE)

    @app.errorhandler(Exception)
    def handle_unexpected(exc):
        log.exception("unhandled error on %s %s", request.method, request.path,
                      extra={"request_id": _request_id()})
        return boom_response(500, INTERNAL_ERROR_MESSAGE)


def _http_message(exc):
    """Werkzeug's own descriptions are long HTML-ish prose; keep them short and generic."""
    messages = {
        404: "Not Found",
        405: f"Method {request.method} is not allowed on this path",
        413: "The request body is too large",
        415: "The request body must be JSON (Content-Type: application/json)",
    }
    return messages.get(exc.code, phrase(exc.code))
