"""JSON responses through orjson: faster than the standard library on list pages, datetimes native.

Keys keep their insertion order (the API's field order); nothing is sorted.
"""

import dataclasses
import decimal
import uuid
from datetime import date

import orjson
from flask.json.provider import JSONProvider
from werkzeug.http import http_date

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def _default(value):
    """What orjson cannot serialize itself, converted as Flask's default provider would."""
    if isinstance(value, date):
        return http_date(value)
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "__html__"):
        return str(value.__html__())
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class OrjsonProvider(JSONProvider):
    mimetype = "application/json"

    def dumps(self, obj, **kwargs):
        return orjson.dumps(obj, default=_default, option=_OPTIONS).decode()

    def loads(self, s, **kwargs):
        return orjson.loads(s)

    def response(self, *args, **kwargs):
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, default=_default, option=_OPTIONS)
        return self._app.response_class(body, mimetype=self.mimetype)
