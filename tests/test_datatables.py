"""DataTables' own parameters on GET /csat: order[0][column] + columns[n][data] + order[0][dir]
stand for sortBy/sortType, search[value] for q; explicit sortBy/q win; the rest is ignored.

Each request carries the whole parameter set a stock DataTables 2.x sends (every column's
data, name, searchable, orderable and search, the global search, jQuery's `_`), so what is
checked is what a real table asks.
"""

import json

import pytest

from tests.servers import assert_boom

# The table's columns, in the order a page would declare them (DataTables sends their data).
COLUMNS = ("rating_id", "rating", "comment", "reference_id", "company_id", "company_name",
           "rating_date", "source")
# columns[n][data] -> the sortBy it stands for.
SORTABLE = {"reference_id": "reference", "rating": "rating", "company_id": "companyId",
            "company_name": "companyId", "rating_date": "ratingDate", "source": "source"}


def datatables_query(order_column=None, direction="asc", search="", draw=3, start=0, length=50):
    """The query string a stock DataTables 2.x sends for a server-side page."""
    params = {"draw": str(draw), "start": str(start), "length": str(length),
              "search[value]": search, "search[regex]": "false", "_": "1765100000000"}
    for index, data in enumerate(COLUMNS):
        params.update({f"columns[{index}][data]": data, f"columns[{index}][name]": "",
                       f"columns[{index}][searchable]": "true",
                       f"columns[{index}][orderable]": "true",
                       f"columns[{index}][search][value]": "",
                       f"columns[{index}][search][regex]": "false"})
    if order_column is not None:
        params.update({"order[0][column]": str(order_column), "order[0][dir]": direction,
                       "order[0][name]": ""})
    return params


def ids_of(client, headers, params):
    response = client.get("/csat", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return [row["rating_id"] for row in response.get_json()["data"]]


def exported_ids(client, headers, params):
    response = client.get("/csat", query_string={**params, "report": "true"}, headers=headers)
    assert response.status_code == 200
    return [row["rating_id"] for line in response.get_data(as_text=True).splitlines()
            for row in json.loads(line)]


@pytest.mark.parametrize("column", SORTABLE)
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_datatables_order_gives_the_rows_of_the_sort_it_maps_to(client, auth_headers, column,
                                                                 direction):
    headers = auth_headers()
    ordered = datatables_query(COLUMNS.index(column), direction, start=40, length=60)
    explicit = {"sortBy": SORTABLE[column], "sortType": direction, "start": 40, "length": 60}
    page = ids_of(client, headers, ordered)
    assert len(page) == 60
    assert page == ids_of(client, headers, explicit)
    # Not merely both the default order: the explicit sort of the other direction differs.
    other = "desc" if direction == "asc" else "asc"
    assert page != ids_of(client, headers, {**explicit, "sortType": other})


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_the_report_follows_the_datatables_order(client, auth_headers, direction):
    headers = auth_headers()
    ordered = datatables_query(COLUMNS.index("reference_id"), direction)
    explicit = {"sortBy": "reference", "sortType": direction}
    exported = exported_ids(client, headers, ordered)
    assert exported == exported_ids(client, headers, explicit)
    assert len(exported) > 1000


def test_search_value_is_q(client, auth_headers):
    headers = auth_headers()
    searched = ids_of(client, headers, datatables_query(search="gracias", length=1000))
    assert searched == ids_of(client, headers, {"q": "gracias", "length": 1000})
    assert 0 < len(searched) < len(ids_of(client, headers, {"length": 1000}))
    exported = exported_ids(client, headers, datatables_query(search="gracias"))
    assert sorted(exported) == sorted(exported_ids(client, headers, {"q": "gracias"}))


def test_the_summary_reads_search_value_as_q(client, auth_headers):
    headers = auth_headers()
    total = lambda params: client.get("/csat/summary", query_string=params,  # noqa: E731
                                      headers=headers).get_json()["total"]
    assert total({"search[value]": "gracias"}) == total({"q": "gracias"}) > 0


def test_explicit_sort_by_and_q_win(client, auth_headers):
    headers = auth_headers()
    # order[0] names an unsortable column: ignored (no 400) because sortBy is given.
    params = {**datatables_query(COLUMNS.index("rating_id"), "asc", search="zzzz-nothing"),
              "sortBy": "rating", "sortType": "desc", "q": "gracias"}
    assert ids_of(client, headers, params) == ids_of(
        client, headers, {"sortBy": "rating", "sortType": "desc", "q": "gracias", "length": 50})
    # An explicit sortType wins over order[0][dir] too; the column still comes from order.
    params = {**datatables_query(COLUMNS.index("source"), "asc"), "sortType": "desc"}
    assert ids_of(client, headers, params) == ids_of(
        client, headers, {"sortBy": "source", "sortType": "desc", "length": 50})


def test_a_stock_first_request_without_order_uses_the_default_sort(client, auth_headers):
    headers = auth_headers()
    assert ids_of(client, headers, datatables_query()) == ids_of(client, headers, {"length": 50})


UNSORTABLE_MESSAGE = ('"order[0][column]" must be a column whose data is one of: reference_id, '
                      'rating, company_id, company_name, rating_date, source')


@pytest.mark.parametrize("column", ["0", "2", "99", "x", "-1"],
                         ids=["rating_id", "comment", "no such column", "not a number", "negative"])
@pytest.mark.parametrize("report", [False, True])
def test_an_unsortable_column_is_400(client, auth_headers, column, report):
    params = {**datatables_query(), "order[0][column]": column, "order[0][dir]": "asc"}
    if report:
        params["report"] = "true"
    response = client.get("/csat", query_string=params, headers=auth_headers())
    body = assert_boom(response, 400, UNSORTABLE_MESSAGE)
    assert body == {"statusCode": 400, "error": "Bad Request", "message": UNSORTABLE_MESSAGE,
                    "validation": {"source": "query", "keys": ["order[0][column]"]}}


def test_an_unknown_direction_is_400(client, auth_headers):
    params = datatables_query(COLUMNS.index("rating"), "sideways")
    response = client.get("/csat", query_string=params, headers=auth_headers())
    body = assert_boom(response, 400)
    assert body == {"statusCode": 400, "error": "Bad Request",
                    "message": '"order[0][dir]" must be one of: asc, desc',
                    "validation": {"source": "query", "keys": ["order[0][dir]"]}}
