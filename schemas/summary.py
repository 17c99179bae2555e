"""GET /csat/summary: its query arguments (the list's filters plus two switches) and its body.

Figures: `average` has two decimals, `csat` and the Wilson bounds are percentages with one
decimal, and all three are null when nothing matches. `distribution` maps each score, as
the JSON object keys "1".."5", to its count; every key is always present.
"""

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from schemas.ratings import Choice, ListArgs

GRANULARITIES = ("day", "week", "month")


class SummaryArgs(ListArgs):
    """The list's filters (same names, same validation), without paging, sort or report."""

    class Meta:
        unknown = EXCLUDE
        exclude = ("start", "length", "draw", "sort_column", "sort_direction", "report", "format", "raw")

    granularity = Choice(GRANULARITIES, load_default=None)
    compare = Choice(("previous",), load_default=None)

    @validates_schema
    def compare_needs_a_range(self, data, **kwargs):
        """The previous period has the range's length, so both ends must be given."""
        if data.get("compare") is None:
            return
        missing = {key: ["Required with compare=previous"]
                   for key, name in (("startDate", "start_date"), ("endDate", "end_date"))
                   if data.get(name) is None}
        if missing:
            raise ValidationError(missing)


def _nullable(field_class, **kwargs):
    return field_class(required=True, allow_none=True, **kwargs)


class Distribution(Schema):
    class Meta:
        ordered = True

    for _score in "12345":
        locals()[_score] = fields.Integer(required=True, strict=True)
    del _score


class Detractors(Schema):
    """Ratings of 1-2 stars: followed up (a follow-up exists) and pending (none yet)."""

    class Meta:
        ordered = True

    total = fields.Integer(required=True, strict=True)
    followed_up = fields.Integer(required=True, strict=True)
    pending = fields.Integer(required=True, strict=True)


class Headline(Schema):
    """The figures of one period."""

    class Meta:
        ordered = True

    start_date = _nullable(fields.String)
    end_date = _nullable(fields.String)
    total = fields.Integer(required=True, strict=True)
    average = _nullable(fields.Float)
    csat = _nullable(fields.Float)
    distribution = fields.Nested(Distribution, required=True)
    with_comment = fields.Integer(required=True, strict=True)
    detractors = fields.Nested(Detractors, required=True)


class BreakdownEntry(Schema):
    """One value of a dimension. key null: no carrier / ticket type / assigned agent."""

    class Meta:
        ordered = True

    key = _nullable(fields.Raw, metadata={"description": "source, platform, carrier or ticket "
                                                         "type slug; the agent's admin id"})
    name = _nullable(fields.String, metadata={"description": "Display name"})
    count = fields.Integer(required=True, strict=True)
    average = fields.Float(required=True)
    csat = fields.Float(required=True)
    csat_lower = fields.Float(required=True, metadata={"description": "95% Wilson lower bound, %"})
    csat_upper = fields.Float(required=True, metadata={"description": "95% Wilson upper bound, %"})
    low_sample = fields.Boolean(required=True,
                                metadata={"description": "count < SUMMARY_MIN_SAMPLE"})
    rank = _nullable(fields.Integer, metadata={
        "description": "1 = the highest csat_lower of its breakdown; null when low_sample"})
    filter = _nullable(fields.Dict, keys=fields.String(), values=fields.String(), metadata={
        "description": "GET /csat parameters that, added to the request's, select exactly this "
                       "entry's ratings; null where no filter can (no carrier, no agent, ticket types)"})
    csat_change = _nullable(fields.Float, metadata={
        "description": "compare=previous: csat minus the same key's csat in the previous period, "
                       "percentage points; null without compare or when the key had no ratings then"})
    significant = _nullable(fields.Boolean, metadata={
        "description": "compare=previous: the two-proportion z-test's p-value < 0.05; null as csat_change"})


class Breakdowns(Schema):
    class Meta:
        ordered = True

    source = fields.List(fields.Nested(BreakdownEntry), required=True)
    source_platform = fields.List(fields.Nested(BreakdownEntry), required=True)
    carrier = fields.List(fields.Nested(BreakdownEntry), required=True)
    ticket_type = fields.List(fields.Nested(BreakdownEntry), required=True)
    agent = fields.List(fields.Nested(BreakdownEntry), required=True)
    locale = fields.List(fields.Nested(BreakdownEntry), required=True)
    company = fields.List(fields.Nested(BreakdownEntry), required=True, metadata={
        "description": "The shippers at risk: among companies with at least SUMMARY_MIN_SAMPLE ratings, "
                       "the 25 with the lowest csat_lower, worst first"})
    resolution_time = fields.List(fields.Nested(BreakdownEntry), required=True, metadata={
        "description": "Ticket ratings by their ticket's resolution time: under_4h, 4h_to_24h, 1d_to_3d, "
                       "over_3d, unresolved, in that order (counts add up to the ticket ratings)"})


class TrendPoint(Schema):
    """One day, ISO week or month; start/end are the days of the range it covers."""

    class Meta:
        ordered = True

    start = fields.String(required=True)
    end = fields.String(required=True)
    total = fields.Integer(required=True, strict=True)
    average = _nullable(fields.Float)
    csat = _nullable(fields.Float)


class Trend(Schema):
    class Meta:
        ordered = True

    granularity = _nullable(fields.String, validate=validate.OneOf(GRANULARITIES))
    points = fields.List(fields.Nested(TrendPoint), required=True)


class Change(Schema):
    """compare=previous: this range minus the previous period (see csat/queries/summary_change.py)."""

    class Meta:
        ordered = True

    csat = _nullable(fields.Float, metadata={"description": "percentage points, 1 decimal"})
    average = _nullable(fields.Float, metadata={"description": "2 decimals"})
    total = fields.Integer(required=True, strict=True)
    p_value = _nullable(fields.Float, metadata={
        "description": "two-sided two-proportion z-test of the CSAT share; null when a period has no rating"})
    significant = _nullable(fields.Boolean, metadata={"description": "p_value < 0.05"})


class SummaryOut(Headline):
    """GET /csat/summary: the range's headline figures, breakdowns and trend.

    start_date/end_date: the range (the filters' dates, else the first and last day with a
    matching rating, null when none). previous: the same headline figures for the period of
    equal length just before start_date, with compare=previous; null otherwise.
    """

    class Meta:
        ordered = True

    breakdowns = fields.Nested(Breakdowns, required=True)
    trend = fields.Nested(Trend, required=True)
    previous = fields.Nested(Headline, required=True, allow_none=True)
    change = fields.Nested(Change, required=True, allow_none=True)
