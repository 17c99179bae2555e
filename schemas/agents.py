"""The agents filter list."""

from marshmallow import Schema, fields


class AgentOption(Schema):
    """One option of the agents filter: value = id, label = text = name."""

    id = fields.Integer(required=True)
    value = fields.Integer(required=True)
    label = fields.String(required=True)
    text = fields.String(required=True)


class AgentsOut(Schema):
    list = fields.List(fields.Nested(AgentOption), required=True)
