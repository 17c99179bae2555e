"""The list filters of GET /csat, read once for the page, the report export and the summary.

`parse_list_args()` turns the request into the parameters of `csat_filtered_ratings(...)`
(migration 0003) plus what each caller needs around them: the sort identifiers, the page
window, `draw`, and the report switches. Callers that do not page ignore start/length/draw.
"""

from dataclasses import dataclass

from flask import current_app, request
from marshmallow import ValidationError

from csat import auth
from csat.errors import UnprocessableEntity, validation_error
from schemas.ratings import FILTER_PARAMS, ListArgs

_list_args = ListArgs()


@dataclass(frozen=True)
class RatingListArgs:
    params: dict  # the filter parameters plus the asset base URLs, ready for the SQL files
    identifiers: dict  # sort_column and sort_direction, from the whitelist in schemas.ratings
    start: int
    length: int
    draw: int
    report: bool
    format: str  # "json", "csv" or "xlsx"; only meaningful with report
    raw: bool  # format=csv: verbatim values, no BOM (for BI tools) instead of Excel-ready

    @property
    def page_params(self):
        return {**self.params, "start": self.start, "length": self.length}


def parse_list_args() -> RatingListArgs:
    """The current request's list arguments; 400/403/422 errors for bad ones."""
    args, params = parse_filter_args(_list_args)
    return RatingListArgs(
        params=params,
        identifiers={"sort_column": args["sort_column"], "sort_direction": args["sort_direction"]},
        start=args["start"],
        length=args["length"],
        draw=args["draw"],
        report=args["report"],
        format=args["format"],
        raw=args["raw"],
    )


def parse_filter_args(schema):
    """(args, params): the request read with `schema`, ListArgs or a variant of it (the
    summary's has no paging or sort to validate), and the filter parameters for the SQL files."""
    try:
        args = schema.load(request.args)
    except ValidationError as exc:
        raise validation_error(exc, "query") from None
    if args["start_date"] and args["end_date"] and args["start_date"] > args["end_date"]:
        raise UnprocessableEntity('"startDate" must not be after "endDate"')
    settings = current_app.config["CSAT"]
    args.update(
        locale_ids=auth.visible_locale_ids(request.args.get("localeId")),
        time_zone=settings.time_zone,
    )
    params = {name: args[name] for name in FILTER_PARAMS}
    params.update(flag_base_url=settings.flag_base_url,
                  carrier_logo_base_url=settings.carrier_logo_base_url)
    return args, params
