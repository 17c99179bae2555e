"""The Boom error body every failure is answered with (built by csat/errors.py)."""

from marshmallow import Schema, fields, validate


class BoomValidation(Schema):
    """Which part of the request was invalid, and which keys of it."""

    source = fields.String(required=True,
                           validate=validate.OneOf(("query", "params", "payload", "headers")))
    keys = fields.List(fields.String(), required=True)


class Boom(Schema):
    """{"statusCode", "error", "message"}; 400s add "validation"."""

    class Meta:
        ordered = True

    statusCode = fields.Integer(required=True)
    error = fields.String(required=True)
    message = fields.String(required=True)
    validation = fields.Nested(BoomValidation)
