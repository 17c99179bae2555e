"""GET /csat/themes: its query arguments (the list's filters) and its body.

Without startDate/endDate the range is the last 90 days in CSAT_TIMEZONE, today included
(csat/queries/themes.py). `lift` has two decimals; only terms with a lift above 1 are listed.
"""

from marshmallow import EXCLUDE, Schema, fields

from schemas.ratings import ListArgs

MAX_TERMS = 30


class ThemesArgs(ListArgs):
    """The list's filters (same names, same validation), without paging, sort or report."""

    class Meta:
        unknown = EXCLUDE
        exclude = ("start", "length", "draw", "sort_column", "sort_direction", "report", "format", "raw")


class Theme(Schema):
    class Meta:
        ordered = True

    term = fields.String(required=True, metadata={
        "description": "The stem PostgreSQL text search gives the word in the comment's "
                       "language (spanish, portuguese or english, from the company's country)"})
    count = fields.Integer(required=True, strict=True, metadata={
        "description": "The group's comments containing the term"})
    lift = fields.Float(required=True, metadata={
        "description": "The term's share among the group's comments divided by its share "
                       "among all comments of the range (3 stars included); 2 decimals, > 1"})
    example_rating_id = fields.Integer(required=True, strict=True, metadata={
        "description": "The group's highest rating id (the latest recorded) containing the term"})


class ThemesOut(Schema):
    """GET /csat/themes: what detractors (1-2 stars) and promoters (4-5 stars) write about.

    Each list holds up to 30 terms, count descending then term.
    """

    class Meta:
        ordered = True

    start_date = fields.String(required=True)
    end_date = fields.String(required=True)
    detractors = fields.List(fields.Nested(Theme), required=True)
    promoters = fields.List(fields.Nested(Theme), required=True)
