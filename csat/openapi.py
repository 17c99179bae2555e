"""The OpenAPI 3 document of every route the app registers (GET /csat/openapi.json).

apispec's MarshmallowPlugin turns the very schemas the handlers validate with into the
document: query parameters from the ...Args schemas, request bodies from the ...In
schemas, responses from the ...Out/...Row schemas, errors from the Boom schema. What a
schema cannot say (which schema a route uses, which errors it can answer) is the small
registry OPERATIONS below, keyed by Flask endpoint name. Statuses that follow from a
route's shape are added by rule: a token (401, 403), a path id (404), query parameters
(400), a JSON body (400, 413, 415, 422), the database (503). Every route can answer 405 and
500, and, before the app runs, gunicorn's refusals (csat/gunicorn_worker.py): 400 for a
request it cannot parse, 414 for a request line over 8190 bytes, 431 for headers over its
limits. tests/test_openapi.py fails when a registered route has no entry here.

Path parameters carry the API's documented names (`/csat/{id}`, `/csat/ticket/{ticketId}`),
whatever the Flask rule calls them (_DOCUMENTED_NAMES).
"""

import logging
import re
from dataclasses import dataclass

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from csat.errors import phrase
from csat.exports.xlsx import CONTENT_TYPE as XLSX_CONTENT_TYPE
from schemas.agents import AgentsOut
from schemas.errors import Boom
from schemas.follow_ups import CommentIn, FollowUpHistoryOut, SuccessOut
from schemas.ratings import MAX_LIST_ITEMS, ListArgs, RatingDetailsOut, RatingPage, RatingRow
from schemas.summary import SummaryArgs, SummaryOut
from schemas.themes import ThemesArgs, ThemesOut

log = logging.getLogger(__name__)

OPENAPI_VERSION = "3.0.3"
API_VERSION = "1.0.0"
# Flask rule argument -> the name the API documents for it.
_DOCUMENTED_NAMES = {"rating_id": "id", "ticket_id": "ticketId"}
# What any route can answer: an unhandled error, a wrong method, and gunicorn's refusals.
_EVERY_ROUTE = frozenset({400, 405, 414, 431, 500})
_PATH_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\((?P<args>[^)]*)\))?:)?(?P<name>\w+)>")

@dataclass(frozen=True)
class Operation:
    """What the document says about one route beyond what its schemas say."""

    tag: str
    response: object = None  # success body: a Schema class or an OpenAPI schema dict
    query: object = None  # Schema class of the query string
    body: object = None  # Schema class of the JSON request body
    errors: tuple = ()  # statuses the route's shape does not imply (409, 422, 429, ...)
    locale: bool = False  # takes localeId / X-Locale-Id
    database: bool = True
    description: str = ""
    success: dict = None  # the whole success response, when one JSON schema cannot say it
    content_type: str = "application/json"


_STATUS = {"type": "object", "required": ["status"],
           "properties": {"status": {"type": "string"}}}

_DATABASE_STATE = {"type": "object", "required": ["reachable"], "properties": {
    "reachable": {"type": "boolean"},
    "serving_reads": {"type": "boolean", "description": "replica: reads go to it now"},
    "lag_seconds": {"type": "number", "nullable": True,
                    "description": "replica: replay behind receipt; null when unknown"}}}
_READINESS = {"type": "object", "required": ["status", "databases"], "properties": {
    "status": {"type": "string"},
    "databases": {"type": "object", "required": ["primary"], "properties": {
        "primary": _DATABASE_STATE, "replica": _DATABASE_STATE}}}}

_LIST_OR_REPORT = {
    "description": (
        "Without report: one DataTables page (RatingPage). With report=true: every matching "
        "rating, same filters and sort, no paging, read from one snapshot and streamed with "
        "Transfer-Encoding: chunked. format=json (default): application/x-ndjson, each batch "
        "of up to 1000 rows is one JSON array of RatingRow objects on its own line (an empty "
        "export is the line `[]`). format=csv: Excel-ready RFC 4180 CSV (text/csv) with a "
        "header row of the same names, a UTF-8 byte-order mark, and every text starting with "
        "= + - @ TAB or CR prefixed with ' (CSV injection); with raw=true the values verbatim "
        "and no byte-order mark. format=xlsx: a workbook, header row frozen with an autofilter, "
        "ids and scores as numbers, times as Excel date-times (UTC), texts as text cells, "
        "further sheets past 1,048,575 rows. A stream that fails after its first byte ends "
        "without the final chunk: a truncated download, never a complete-looking one."),
    "headers": {
        "X-Request-Id": "X-Request-Id",
        "Content-Disposition": {
            "description": "report=true only: attachment; "
                           'filename="csat-ratings_<startDate|all>_<endDate|all>.jsonl|.csv|.xlsx"',
            "schema": {"type": "string"}},
        "X-Accel-Buffering": {"description": "report=true only: `no`, so nginx passes each "
                                             "batch on at once", "schema": {"type": "string"}},
    },
    "content": {
        "application/json": {"schema": RatingPage},
        "application/x-ndjson": {"schema": {
            "type": "array", "items": RatingRow,
            "description": "report=true: one line of the export (a JSON array of up to 1000 rows)."}},
        "text/csv": {"schema": {"type": "string", "description": "report=true&format=csv"}},
        XLSX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary",
                                       "description": "report=true&format=xlsx"}},
    },
}

OPERATIONS = {
    "health.healthz": Operation(
        "operations", _STATUS, database=False,
        description="Liveness: the process answers. Never touches the database."),
    "health.readyz": Operation(
        "operations", _READINESS,
        description="Readiness: the primary answers (503 while it does not); says whether the "
                    "read replica is reachable and serving reads (reads fall back to the primary)."),
    "metrics.metrics": Operation(
        "operations", {"type": "string"}, database=False, content_type="text/plain",
        description="Prometheus text format, summed over all gunicorn workers. "
                    "No token: keep it off the public internet."),
    "openapi.openapi_document": Operation(
        "operations", {"type": "object"}, database=False, description="This document."),
    "api_docs.api_docs_page": Operation(
        "operations", {"type": "string"}, database=False, content_type="text/html",
        description="Swagger UI on this document, every file served by the service itself "
                    "(no other host is contacted). Its operations need a token entered in "
                    "Authorize. The page's files (docs/<version>/...) are static files and "
                    "not listed here."),
    "ratings.ratings_list": Operation(
        "ratings", query=ListArgs, locale=True, errors=(422, 429), success=_LIST_OR_REPORT,
        description="Filters combine with AND, comma lists with OR. 422 when startDate is after "
                    "endDate; 429 (report=true) when the admin already runs "
                    "MAX_EXPORTS_PER_ADMIN exports. DataTables' own parameters are understood: "
                    "without sortBy, order[0][column] (the column whose columns[<n>][data] is "
                    "reference_id, rating, company_id, company_name, rating_date or source; any "
                    "other is a 400 naming order[0][column]) and order[0][dir] (asc/desc) choose "
                    "the sort; without q, search[value] is q. Its other parameters are ignored."),
    "ratings.rating_details": Operation("ratings", RatingDetailsOut),
    "ratings.ticket_rating_details": Operation(
        "ratings", RatingDetailsOut,
        description='{"details": null} when nobody rated the ticket.'),
    "agents.agents_list": Operation("agents", AgentsOut, locale=True),
    "summary.summary": Operation(
        "ratings", SummaryOut, query=SummaryArgs, locale=True, errors=(422,),
        description="The list's filters and locale rules (total = the list's recordsFiltered). "
                    "average: 2 decimals; csat, csat_lower, csat_upper: percentages with 1 "
                    "decimal (95% Wilson interval), null when nothing matches. trend: day up to "
                    "31 days, week (ISO) up to 182, else month, in CSAT_TIMEZONE, empty periods "
                    "included; without dates the range is the matching ratings' first to last "
                    "day. compare=previous needs startDate and endDate (400 otherwise) and adds "
                    "the equally long period just before. 422 when startDate is after endDate."),
    "themes.themes": Operation(
        "ratings", ThemesOut, query=ThemesArgs, locale=True, errors=(422,),
        description="The list's filters and locale rules. The most frequent stemmed terms (up "
                    "to 30 each, count descending then term) in the comments of detractors "
                    "(1-2 stars) and promoters (4-5 stars), PostgreSQL text search in the "
                    "language of the company's country (Portuguese for BR/PT..., English for "
                    "US/GB/CA/AU/NZ/IE, else Spanish), stop words removed; only terms whose "
                    "lift is above 1. Without dates: the last 90 days in CSAT_TIMEZONE; with "
                    "only endDate the 90 days ending there; with only startDate the 90 days "
                    "from it, cut at today. 422 when startDate is after endDate."),
    "follow_ups.follow_up_create": Operation(
        "follow-ups", SuccessOut, body=CommentIn, errors=(404, 409),
        description="409 when the rating already has a follow-up (use PUT). Two concurrent "
                    "POSTs for one rating: exactly one succeeds."),
    "follow_ups.follow_up_update": Operation(
        "follow-ups", SuccessOut, body=CommentIn, errors=(404, 409),
        description="409 when the rating has no follow-up yet (use POST). The previous text "
                    "is kept in the history."),
    "follow_ups.follow_up_history": Operation("follow-ups", FollowUpHistoryOut),
}


def document_of(app):
    """The app's OpenAPI document, built on first use (the routes never change after start)."""
    document = app.extensions.get("csat_openapi")
    if document is None:
        document = app.extensions["csat_openapi"] = build_document(app)
    return document


def build_document(app):
    """The OpenAPI document of every route in app.url_map (static files aside: is_static)."""
    marshmallow = MarshmallowPlugin()
    spec = APISpec(
        title="CSAT service",
        version=API_VERSION,
        openapi_version=OPENAPI_VERSION,
        plugins=[marshmallow],
        info={"description": "Customer-satisfaction ratings for the admin panel. Errors are "
                             "Boom JSON; every response carries X-Request-Id. Every path also "
                             "answers HEAD (as GET, without a body) and OPTIONS (Allow; with "
                             "CORS_ORIGINS set, the CORS preflight for those origins)."},
    )
    marshmallow.converter.add_attribute_function(_custom_field_properties)
    marshmallow.converter.add_parameter_attribute_function(_query_parameter_attributes)
    _add_components(spec)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if is_static(rule.endpoint):
            continue
        view = app.view_functions[rule.endpoint]
        operation = OPERATIONS.get(rule.endpoint)
        if operation is None:  # tests/test_openapi.py fails on this; production still answers
            log.warning("openapi: endpoint %s has no OPERATIONS entry", rule.endpoint)
            operation = Operation("undocumented")
        path, path_parameters = _openapi_path(rule.rule)
        operations = {
            method.lower(): _operation(operation, view, path_parameters)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        }
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def is_static(endpoint):
    """Static files: Flask's `static` endpoint, or a blueprint's (`<blueprint>.static`)."""
    return endpoint == "static" or endpoint.endswith(".static")


def _add_components(spec):
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.schema("Boom", schema=Boom)
    spec.components.header("X-Request-Id", {
        "description": "The request's id: the caller's X-Request-Id when well formed "
                       "(1-128 of A-Z a-z 0-9 . _ : -), else a generated one.",
        "schema": {"type": "string"}})
    spec.components.header("Retry-After", {
        "description": "Seconds to wait before retrying.", "schema": {"type": "integer"}})
    spec.components.header("Allow", {
        "description": "The methods this path accepts.", "schema": {"type": "string"}})
    for status, description in _ERROR_DESCRIPTIONS.items():
        headers = {"X-Request-Id": "X-Request-Id"}
        if status in (429, 503):
            headers["Retry-After"] = "Retry-After"
        if status == 405:
            headers["Allow"] = "Allow"
        spec.components.response(_response_name(status), {
            "description": description,
            "headers": headers,
            "content": {"application/json": {"schema": "Boom"}},
        })


_ERROR_DESCRIPTIONS = {
    400: "A value violates the schema (`validation` names the source and keys), or the request "
         "could not be parsed as HTTP.",
    401: "Missing, malformed, expired or badly signed token, or an unknown/inactive admin.",
    403: "The token lacks the permission, or the locale is outside its `locales` claim.",
    404: "Unknown route, or a rating unknown or outside the caller's locales.",
    405: "The path does not accept this method (Allow lists those it does).",
    409: "Business conflict (see the operation).",
    413: "The request body is over MAX_BODY_BYTES.",
    414: "The request line is over 8190 bytes (nginx's default 8 KB buffer admits the same).",
    415: "The request body is not declared JSON (Content-Type: application/json).",
    422: "The request cannot be read: body not JSON or not an object, startDate after endDate.",
    431: "A request header is over 65 KB (8 KB through the sample nginx), or there are more "
         "than 100 headers.",
    429: "Too many exports running for this admin; retry after one ends.",
    500: "An internal server error occurred (details only in the log, under the request id).",
    503: "The database is unreachable, timed out or has no free connection; retry later.",
}


def _response_name(status):
    return phrase(status).replace(" ", "").replace("-", "")


def _operation(operation, view, path_parameters):
    doc = (view.__doc__ or "").strip()
    summary = doc.splitlines()[0] if doc else view.__name__.replace("_", " ")
    permissions = getattr(view, "permissions", None)
    description = operation.description
    if permissions:
        description = f"Requires permission {' or '.join(permissions)}. {description}".strip()

    parameters = list(path_parameters)
    if operation.query is not None:
        parameters.append({"in": "query", "schema": operation.query})
    if operation.locale:
        parameters += _LOCALE_PARAMETERS
    # Any value is accepted (an ill-formed id is replaced, not refused): no constraints here.
    parameters.append({"in": "header", "name": "X-Request-Id", "required": False,
                       "schema": {"type": "string"},
                       "description": "Kept and echoed when well formed (1-128 of A-Z a-z 0-9 "
                                      ". _ : -), else replaced by a generated id."})

    statuses = {*_EVERY_ROUTE, *operation.errors}
    if permissions:
        statuses |= {401, 403}
    if path_parameters:
        statuses.add(404)
    if operation.query is not None or operation.locale:
        statuses.add(400)
    if operation.body is not None:
        statuses |= {400, 413, 415, 422}
    if operation.database:
        statuses.add(503)

    responses = {"200": operation.success or _json_success(operation)}
    responses.update({str(status): _response_name(status) for status in sorted(statuses)})
    result = {
        "tags": [operation.tag],
        "summary": summary,
        "operationId": view.__name__,
        "parameters": parameters,
        "responses": responses,
    }
    if description:
        result["description"] = description
    if permissions:
        result["security"] = [{"bearerAuth": []}]
    if operation.body is not None:
        result["requestBody"] = {"required": True,
                                 "content": {"application/json": {"schema": operation.body}}}
    return result


def _json_success(operation):
    return {
        "description": "OK",
        "headers": {"X-Request-Id": "X-Request-Id"},
        "content": {operation.content_type: {"schema": operation.response}},
    }


_LOCALE_PARAMETERS = [
    {"in": "query", "name": "localeId", "required": False, "allowEmptyValue": True,
     "schema": {"type": "integer", "minimum": 1, "maximum": 32767},  # locales.id is a smallint
     "description": "Limit to companies of this locale (400 if unknown, 403 if outside the "
                    "token's `locales`). Without it: the token's locales, else all."},
    {"in": "header", "name": "X-Locale-Id", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": 32767},
     "description": "localeId, as a header (the query parameter wins when both are given; "
                    "both are validated)."},
]


def _openapi_path(rule):
    """`/csat/<int:rating_id>` -> ("/csat/{id}", [its path parameter])."""
    parameters = []

    def replace(match):
        name = _DOCUMENTED_NAMES.get(match.group("name"), match.group("name"))
        converter = match.group("converter") or "default"
        parameters.append({"in": "path", "name": name, "required": True,
                           "schema": _converter_schema(converter, match.group("args"))})
        return "{" + name + "}"

    return _PATH_ARGUMENT.sub(replace, rule), parameters


def _converter_schema(converter, args):
    if converter != "int":
        return {"type": "string"}
    schema = {"type": "integer", "minimum": 0}
    for argument in (args or "").split(","):
        key, _, value = argument.partition("=")
        if key.strip() in ("min", "max") and value.strip().isdigit():
            schema["minimum" if key.strip() == "min" else "maximum"] = int(value)
    return schema


def _custom_field_properties(self, field, **kwargs):
    """Our own field types, recognised by shape so schemas can grow new ones freely.

    A case-insensitive choice (`.names`) is an enum; a comma-separated list (`.item`) is a
    string whose items are described.
    """
    properties = {}
    if getattr(field, "trimmed", False):
        properties["pattern"] = _trimmed_text_pattern(kwargs["ret"])
    item = getattr(field, "item", None)
    if item is not None:
        # OpenAPI's own words for `?companyId=1,2`: an array, style form, explode false.
        properties["type"] = "array"
        properties["items"] = self.field2property(item)
        properties["maxItems"] = MAX_LIST_ITEMS
        described = f" of {', '.join(item.names)}" if getattr(item, "names", None) else ""
        properties["description"] = (f"Comma-separated list{described}; empty items are "
                                     f"ignored, at most {MAX_LIST_ITEMS} items.")
    elif getattr(field, "names", None):
        properties["enum"] = list(field.names)
        properties["description"] = "Case-insensitive."
        # The default is stored as what the name maps to (a sort column): show the name.
        mapped = getattr(field, "values", {})
        names = [name for name in field.names if mapped.get(name.lower()) == field.load_default]
        if names:
            properties["default"] = names[0]
    return properties


def _query_parameter_attributes(self, field, ret, **kwargs):
    """`?startDate=` is what a cleared DataTables filter sends: a schema that drops blank
    values (ListArgs.drop_blank_values) takes an empty value of any parameter as absent.
    A comma-separated list is serialized as style form, explode false."""
    attributes = {}
    if ret.get("in") == "query" and hasattr(field.parent, "drop_blank_values"):
        attributes["allowEmptyValue"] = True
    if getattr(field, "item", None) is not None:
        attributes.update(style="form", explode=False)
    return attributes


# What str.strip() removes (every character str.isspace() is true of), spelled out so that
# every regex engine reading the document agrees with Python on what "surrounding" means.
_STRIPPED = "\\t-\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"


def _trimmed_text_pattern(properties):
    """The length limits of a text that is trimmed before it is checked, as one pattern.

    JSON Schema's minLength/maxLength would count the surrounding whitespace the service
    strips, so they are replaced by: any whitespace, then between min and max characters
    that start and end with non-whitespace, then any whitespace. NUL is excluded
    everywhere: PostgreSQL text cannot hold it, and such fields refuse it.
    """
    minimum = properties.pop("minLength", 0)
    maximum = properties.pop("maxLength", None)
    middle = "{0,%d}" % (maximum - 2) if maximum is not None else "*"
    text = f"[^{_STRIPPED}\\u0000](?:[^\\u0000]{middle}[^{_STRIPPED}\\u0000])?"
    return f"^[{_STRIPPED}]*{text if minimum >= 1 else f'(?:{text})?'}[{_STRIPPED}]*$"
