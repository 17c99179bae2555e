"""Request bodies: JSON objects read and validated the same way by every write endpoint.

415 when the body is not declared JSON, 413 (from werkzeug, via MAX_CONTENT_LENGTH) when
it is too large, 422 when it cannot be read as a JSON object, 400 when the object breaks
the schema (unknown fields included).
"""

import orjson
from flask import request
from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from csat.errors import UnprocessableEntity, validation_error


def parse_json_body(schema):
    """The request's JSON object loaded through a marshmallow schema."""
    if not request.is_json:
        raise UnsupportedMediaType()
    try:
        # orjson, not the stdlib: it refuses NaN, lone surrogates and invalid UTF-8, which
        # would otherwise get as far as PostgreSQL and come back as a 500.
        payload = orjson.loads(_body_bytes())
    except orjson.JSONDecodeError:
        raise UnprocessableEntity("The request body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise UnprocessableEntity("The request body must be a JSON object")
    try:
        return schema.load(payload)
    except ValidationError as exc:
        raise validation_error(exc, "payload") from None


def _body_bytes():
    """The request body; 413 when it is over the cap, with or without Content-Length.

    werkzeug refuses a Content-Length over MAX_CONTENT_LENGTH up front, but cuts a chunked
    body (no Content-Length) silently at the cap: one byte more on the wire means too large.
    """
    data = request.get_data(cache=False)
    limit = request.max_content_length
    if request.content_length is None and limit is not None and len(data) >= limit:
        if request.environ["wsgi.input"].read(1):
            raise RequestEntityTooLarge()
    return data
