"""The ratings read API: list query arguments, list rows and rating details.

ListArgs loads the query string under the API's names (`companyId`, `sortBy`, ...) into
the SQL parameter names of `csat_filtered_ratings` (`company_ids`, ...), so parsed args go
straight to the query. RatingRow and RatingDetails declare the response shapes; the SQL
returns exactly these columns, so the handlers serialize rows without dumping them.
"""

import re

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from schemas import BIGINT_MAX

MAX_PAGE_LENGTH = 1000
MAX_LIST_ITEMS = 500
MAX_SEARCH_LENGTH = 200
# Everything csat_filtered_ratings filters by, under its SQL parameter names: ListArgs's
# filters plus locale_ids and time_zone, which the token and the settings give.
FILTER_PARAMS = (
    "locale_ids", "company_ids", "sources", "source_platforms", "rating", "scores",
    "start_date", "end_date", "time_zone", "agent_ids", "carriers", "has_comment",
    "follow_up", "search", "resolutions",
)

# The sortable columns: API name -> the ratings column the query orders by.
SORT_COLUMNS = {
    "reference": "r.reference_id",
    "rating": "r.score",
    "companyId": "r.company_id",
    "ratingDate": "r.created_at",
    "source": "r.source",
}
SORT_DIRECTIONS = {"ASC": "ASC", "DESC": "DESC"}

# A ticket's resolution time (resolved_at - created_at), each bucket from its lower edge:
# [0, 4 h), [4 h, 24 h), [24 h, 72 h), [72 h, ...), and no resolved_at (migration 0025).
RESOLUTION_TIMES = ("under_4h", "4h_to_24h", "1d_to_3d", "over_3d", "unresolved")

# DataTables' own sort: the `data` of the column it orders by -> the sortBy name it means.
DATATABLES_SORT_COLUMNS = {
    "reference_id": "reference",
    "rating": "rating",
    "company_id": "companyId",
    "company_name": "companyId",
    "rating_date": "ratingDate",
    "source": "source",
}
DATATABLES_ORDER_COLUMN = "order[0][column]"
DATATABLES_ORDER_DIR = "order[0][dir]"
DATATABLES_SEARCH = "search[value]"
# Parameter families DataTables sends on its own (`_` is jQuery's cache buster).
_DATATABLES_KEY = re.compile(r"^(?:columns|order|search)\[|^_$")

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class Choice(fields.String):
    """A case-insensitive enumeration: a name (any case) loads as the value it maps to."""

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        choices = choices if isinstance(choices, dict) else {name: name for name in choices}
        self.names = tuple(choices)
        self.values = {name.lower(): value for name, value in choices.items()}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        if text not in self.values:
            raise ValidationError(f"Must be one of: {', '.join(self.names)}")
        return self.values[text]


class CommaList(fields.Field):
    """`1,2,,2` -> [1, 2]: empty items ignored, duplicates dropped, at most MAX_LIST_ITEMS.

    A list with no items at all means "no filter" (None), as if the parameter were absent.
    """

    def __init__(self, item, **kwargs):
        super().__init__(**kwargs)
        self.item = item

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("Must be a comma-separated list")
        raw_items = [part.strip() for part in value.split(",") if part.strip()]
        if len(raw_items) > MAX_LIST_ITEMS:
            raise ValidationError(f"Must have at most {MAX_LIST_ITEMS} items")
        items = [self.item.deserialize(part) for part in raw_items]
        return list(dict.fromkeys(items)) or None


class Day(fields.Date):
    """A calendar day written exactly YYYY-MM-DD."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not _ISO_DAY.match(value.strip()):
            raise ValidationError("Must be a date written YYYY-MM-DD")
        return super()._deserialize(value.strip(), attr, data, **kwargs)


def _without_nul(text):
    # PostgreSQL text cannot hold U+0000: without this check it would surface as a 500.
    if "\x00" in text:
        raise ValidationError("Must not contain NUL characters.")
    return text


class LowerText(fields.String):
    """Text compared case-insensitively: trimmed and lower-cased."""

    trimmed = True  # csat/openapi.py states the length limits of the trimmed text

    def _deserialize(self, value, attr, data, **kwargs):
        return _without_nul(super()._deserialize(value, attr, data, **kwargs).strip().lower())


class Search(fields.String):
    """Free text, trimmed; blank means no search."""

    trimmed = True

    def _deserialize(self, value, attr, data, **kwargs):
        text = _without_nul(super()._deserialize(value, attr, data, **kwargs).strip())
        if len(text) > MAX_SEARCH_LENGTH:
            raise ValidationError(f"Must be at most {MAX_SEARCH_LENGTH} characters")
        return text or None


def _positive_id(maximum=BIGINT_MAX):
    return fields.Integer(validate=validate.Range(min=1, max=maximum))


def _score(**kwargs):
    return fields.Integer(validate=validate.Range(min=1, max=5), **kwargs)


class ListArgs(Schema):
    """GET /csat query string. DataTables' own order and search stand for sortBy/sortType and
    q when those are absent; its other parameters are ignored (read_datatables_parameters)."""

    class Meta:
        unknown = EXCLUDE

    start = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    length = fields.Integer(
        load_default=100,
        validate=validate.Range(
            min=1, max=MAX_PAGE_LENGTH,
            error=f"Must be between 1 and {MAX_PAGE_LENGTH}; use report=true to export every row"),
    )
    draw = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    sort_column = Choice(SORT_COLUMNS, data_key="sortBy", load_default=SORT_COLUMNS["ratingDate"])
    sort_direction = Choice(SORT_DIRECTIONS, data_key="sortType", load_default="DESC")

    company_ids = CommaList(_positive_id(), data_key="companyId", load_default=None)
    sources = CommaList(Choice(("ticket", "carrier", "shop")), data_key="source", load_default=None)
    source_platforms = CommaList(Choice(("platform", "whatsapp")), data_key="sourcePlatform",
                                 load_default=None)
    rating = _score(load_default=None)
    scores = CommaList(_score(), data_key="score", load_default=None)
    start_date = Day(data_key="startDate", load_default=None)
    end_date = Day(data_key="endDate", load_default=None)
    agent_ids = CommaList(_positive_id(2**31 - 1), data_key="agents", load_default=None)
    carriers = CommaList(LowerText(validate=validate.Length(max=100)), data_key="carrier",
                         load_default=None)
    has_comment = fields.Boolean(data_key="hasComment", load_default=None)
    follow_up = Choice(("pending", "done"), data_key="followUp", load_default=None)
    search = Search(data_key="q", load_default=None, metadata={"maxLength": MAX_SEARCH_LENGTH})
    resolutions = CommaList(Choice(RESOLUTION_TIMES), data_key="resolution", load_default=None)

    report = fields.Boolean(load_default=False)
    format = Choice(("json", "csv", "xlsx"), load_default="json")
    # With format=csv: the values verbatim, no byte-order mark (for BI pipelines); ignored
    # by the other formats.
    raw = fields.Boolean(load_default=False)

    @pre_load
    def ignore_paging_in_report_mode(self, data, **kwargs):
        """report=true exports every row: paging does not apply, so start/length/draw are not
        read at all (DataTables sends length=-1 for "All")."""
        if "report" not in self.fields:  # a schema built without report (the summary's)
            return data
        try:
            report = self.fields["report"].deserialize(data.get("report", "false"))
        except ValidationError:
            return data  # the report field itself reports the error
        if not report:
            return data
        return {key: value for key, value in data.items() if key not in ("start", "length", "draw")}

    @pre_load
    def read_datatables_parameters(self, data, **kwargs):
        """DataTables' own protocol, for a stock table with no glue code: `order[0][column]`
        (with that column's `columns[<n>][data]`) and `order[0][dir]` stand for sortBy and
        sortType, `search[value]` for q. An explicit sortBy, sortType or q wins. Every other
        DataTables parameter is dropped here, so the fields see only the API's own names."""
        mapped = {key: value for key, value in data.items() if not _DATATABLES_KEY.match(key)}
        if "sort_column" in self.fields and "sortBy" not in mapped:
            mapped.update(_datatables_sort(data, has_sort_type="sortType" in mapped))
        search = data.get(DATATABLES_SEARCH)
        if "q" not in mapped and search is not None:
            mapped["q"] = search
        return mapped

    @pre_load
    def drop_blank_values(self, data, **kwargs):
        """`?rating=&score=` is what a cleared DataTables filter sends: treat it as absent."""
        return {key: value for key, value in data.items()
                if not (isinstance(value, str) and value.strip() == "")}


def _datatables_sort(data, has_sort_type):
    """{"sortBy", "sortType"} from DataTables' first order entry; {} when it sends none."""
    column = data.get(DATATABLES_ORDER_COLUMN)
    if column is None or column.strip() == "":
        return {}
    column = column.strip()
    column_data = data.get(f"columns[{column}][data]") if column.isdigit() else None
    sort_by = DATATABLES_SORT_COLUMNS.get(column_data)
    if sort_by is None:
        raise ValidationError(
            {DATATABLES_ORDER_COLUMN: [
                "Must be a column whose data is one of: " + ", ".join(DATATABLES_SORT_COLUMNS)]})
    sort = {"sortBy": sort_by}
    direction = data.get(DATATABLES_ORDER_DIR)
    if direction is None or has_sort_type:
        return sort
    if direction.strip().upper() not in SORT_DIRECTIONS:
        raise ValidationError({DATATABLES_ORDER_DIR: ["Must be one of: asc, desc"]})
    return {**sort, "sortType": direction}


def _nullable(field_class, **kwargs):
    return field_class(required=True, allow_none=True, **kwargs)


def _utc_timestamp(required_value=False):
    """An ISO 8601 UTC timestamp text ending in Z, as the SQL formats it."""
    return fields.String(required=True, allow_none=not required_value,
                         validate=validate.Regexp(_ISO_UTC))


class RatingRow(Schema):
    """One row of GET /csat: the original's fields, names and casing, in this order.

    Ticket-only fields are null for carrier and shop ratings; `carrier`/`carrier_name`/`logo`
    are null when the rating names no carrier; the follow_up_* fields when nobody followed up.
    """

    class Meta:
        ordered = True

    rating_id = fields.Integer(required=True, strict=True)
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = _nullable(fields.String)
    source_platform = fields.String(required=True, validate=validate.OneOf(("platform", "whatsapp")))
    rating_date = _utc_timestamp(required_value=True)
    source = fields.String(required=True, validate=validate.OneOf(("ticket", "carrier", "shop")))
    reference_id = fields.Integer(required=True, strict=True)
    company_id = fields.Integer(required=True, strict=True)
    company_name = fields.String(required=True)
    country = fields.String(required=True, validate=validate.Length(equal=2))
    country_img = fields.String(required=True)
    ticket_type = _nullable(fields.String)
    ticket_type_description = _nullable(fields.String)
    ticketsStatusDescription = _nullable(fields.String)
    ticketsStatusColor = _nullable(fields.String)
    carrier = _nullable(fields.String)
    carrier_name = _nullable(fields.String)
    logo = _nullable(fields.String)
    follow_up_comments = _nullable(fields.String)
    follow_up_created_by = _nullable(fields.Integer, strict=True)
    follow_up_created_at = _utc_timestamp()
    follow_up_updated_by = _nullable(fields.Integer, strict=True)
    follow_up_updated_at = _utc_timestamp()


class RatingPage(Schema):
    """GET /csat: one DataTables page."""

    class Meta:
        ordered = True

    data = fields.List(fields.Nested(RatingRow), required=True)
    draw = fields.Integer(required=True, strict=True)
    recordsTotal = fields.Integer(required=True, strict=True)
    recordsFiltered = fields.Integer(required=True, strict=True)


class RatingDetails(Schema):
    """GET /csat/{id} and /csat/ticket/{ticketId}: one rating with its ticket's story.

    `admin_name` is the ticket's assigned agent, `admin_solution_name` the agent who solved
    it, `diff_hours` whole hours from creation to resolution (null if unresolved or not a
    ticket), `latest_comment_date` the newest ticket comment (null if none).
    """

    class Meta:
        ordered = True

    rating_id = fields.Integer(required=True, strict=True)
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = _nullable(fields.String)
    rating_date = _utc_timestamp(required_value=True)
    source = fields.String(required=True, validate=validate.OneOf(("ticket", "carrier", "shop")))
    reference_id = fields.Integer(required=True, strict=True)
    company_id = fields.Integer(required=True, strict=True)
    company_name = fields.String(required=True)
    country = fields.String(required=True, validate=validate.Length(equal=2))
    ticket_type = _nullable(fields.String)
    ticket_type_description = _nullable(fields.String)
    user_name = _nullable(fields.String)
    admin_name = _nullable(fields.String)
    admin_solution_name = _nullable(fields.String)
    diff_hours = _nullable(fields.Integer, strict=True)
    latest_comment_date = _utc_timestamp()
    follow_up_comments = _nullable(fields.String)
    follow_up_created_at = _utc_timestamp()
    follow_up_created_by = _nullable(fields.Integer, strict=True)
    follow_up_updated_by = _nullable(fields.Integer, strict=True)
    follow_up_updated_at = _utc_timestamp()
    source_platform = fields.String(required=True, validate=validate.OneOf(("platform", "whatsapp")))
    carrier = _nullable(fields.String)
    carrier_name = _nullable(fields.String)


class RatingDetailsOut(Schema):
    """{"details": {...}}, or {"details": null} for a ticket nobody rated."""

    details = fields.Nested(RatingDetails, required=True, allow_none=True)
