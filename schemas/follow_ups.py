"""Admin follow-ups: the POST/PUT body, the history response, and the write acknowledgement."""

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from schemas import BIGINT_MAX

COMMENTS_MAX_CHARS = 2000  # rating_follow_ups.comments CHECK


class TrimmedString(fields.String):
    """A string with surrounding whitespace removed before it is validated."""

    trimmed = True  # csat/openapi.py states the length limits of the trimmed text

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


def _no_nul(text):
    # PostgreSQL text cannot hold U+0000; without this check it would surface as a 500.
    if "\x00" in text:
        raise ValidationError("Must not contain NUL characters.")


class CommentIn(Schema):
    """{"ratingId", "comments"}: the body of POST and PUT /csat/comments.

    ratingId must be a JSON integer: the string "12", 12.5 and booleans are refused, so
    the frontend's type bugs surface as 400s instead of being guessed at.
    """

    class Meta:
        unknown = RAISE

    rating_id = fields.Integer(data_key="ratingId", required=True, strict=True,
                               validate=validate.Range(min=1, max=BIGINT_MAX))
    comments = TrimmedString(required=True,
                             validate=[validate.Length(min=1, max=COMMENTS_MAX_CHARS), _no_nul])


class FollowUpVersion(Schema):
    """One text a follow-up has had; replaced_* are null for the current text."""

    version = fields.Integer(required=True)
    comments = fields.String(required=True)
    written_by = fields.Integer(required=True)
    written_by_name = fields.String(required=True)
    written_at = fields.String(required=True)
    replaced_by = fields.Integer(required=True, allow_none=True)
    replaced_by_name = fields.String(required=True, allow_none=True)
    replaced_at = fields.String(required=True, allow_none=True)


class FollowUpHistoryOut(Schema):
    history = fields.List(fields.Nested(FollowUpVersion), required=True)


class SuccessOut(Schema):
    success = fields.Boolean(required=True)
