"""GET /csat/openapi.json: a valid OpenAPI 3 document that covers every registered route.

The document is compared with app.url_map, and real responses are validated against the
schemas it documents, so it cannot quietly drift from the code.
"""

import orjson
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from csat.openapi import OPERATIONS, _openapi_path, is_static
from tests.servers import bearer, make_token

IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(scope="module")
def document(app):
    response = app.test_client().get("/csat/openapi.json")  # no token
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert response.headers["X-Request-Id"]
    return response.get_json()


def registered_operations(app):
    return {
        (_openapi_path(rule.rule)[0], method.lower())
        for rule in app.url_map.iter_rules() if not is_static(rule.endpoint)
        for method in rule.methods - IGNORED_METHODS
    }


def documented_operations(document):
    return {(path, method) for path, item in document["paths"].items() for method in item
            if method in ("get", "put", "post", "delete", "patch")}


def conforms(document, instance, ref):
    """Whether `instance` is valid against the document's schema at `ref`."""
    schema = {"$ref": ref, "components": document["components"]}
    errors = list(OAS30Validator(schema).iter_errors(instance))
    assert not errors, [error.message for error in errors]
    return True


def test_the_document_is_valid_openapi_3(document):
    assert document["openapi"].startswith("3.")
    validate(document)


def test_every_registered_route_is_documented_and_nothing_else(app, document):
    assert documented_operations(document) == registered_operations(app)


def test_every_endpoint_has_a_registry_entry(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if not is_static(rule.endpoint)}
    assert endpoints - set(OPERATIONS) == set()


def test_ratings_routes_are_there(document):
    for path in ("/csat", "/csat/{id}", "/csat/ticket/{ticketId}", "/csat/comments",
                 "/csat/agents/list", "/healthz", "/readyz", "/metrics", "/csat/openapi.json"):
        assert path in document["paths"], path


def test_every_operation_documents_success_and_its_errors_as_boom(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            success = responses["200"]
            assert success["content"], (path, method)
            assert all(content["schema"] for content in success["content"].values())
            assert success["headers"]["X-Request-Id"]
            assert {"400", "405", "414", "431", "500"} <= set(responses), (path, method)
            for status, response in responses.items():
                if status != "200":
                    name = response["$ref"].rsplit("/", 1)[1]
                    component = document["components"]["responses"][name]
                    assert component["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Boom"}
                    assert "X-Request-Id" in component["headers"]
            if "security" in operation:
                assert {"401", "403"} <= set(responses), (path, method)
            if "{" in path:
                assert "404" in responses, (path, method)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= set(responses), (path, method)


@pytest.mark.parametrize("path, method, statuses", [
    ("/csat", "get", {"400", "401", "403", "422", "429", "503"}),
    ("/csat/comments", "post", {"400", "401", "403", "404", "409", "413", "415", "422", "503"}),
    ("/csat/comments", "put", {"400", "401", "403", "404", "409", "413", "415", "422", "503"}),
    ("/csat/{id}", "get", {"401", "403", "404", "503"}),
    ("/csat/{id}/follow-ups", "get", {"401", "403", "404", "503"}),
    ("/csat/ticket/{ticketId}", "get", {"401", "403", "404", "503"}),
    ("/healthz", "get", set()),
])
def test_route_specific_errors(document, path, method, statuses):
    responses = set(document["paths"][path][method]["responses"])
    assert statuses <= responses
    if path == "/healthz":
        assert responses == {"200", "400", "405", "414", "431", "500"}


def test_protected_routes_name_their_permission(document):
    operation = document["paths"]["/csat/comments"]["post"]
    assert operation["security"] == [{"bearerAuth": []}]
    assert "csat-add-comments" in operation["description"]
    assert "security" not in document["paths"]["/metrics"]["get"]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_list_parameters_come_from_the_list_args_schema(document):
    parameters = {p["name"]: p for p in document["paths"]["/csat"]["get"]["parameters"]}
    for name in ("start", "length", "draw", "sortBy", "sortType", "companyId", "source",
                 "sourcePlatform", "rating", "score", "startDate", "endDate", "agents",
                 "carrier", "report", "format", "localeId"):
        assert name in parameters, name
    assert parameters["length"]["schema"]["maximum"] == 1000
    assert parameters["report"]["schema"]["type"] == "boolean"
    assert set(parameters["sortBy"]["schema"]["enum"]) == {
        "reference", "rating", "companyId", "ratingDate", "source"}
    assert parameters["startDate"]["schema"]["format"] == "date"


def test_report_mode_is_documented(document):
    operation = document["paths"]["/csat"]["get"]
    success = operation["responses"]["200"]
    assert "report=true" in success["description"]
    assert set(success["content"]) == {
        "application/json", "application/x-ndjson", "text/csv",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    assert success["content"]["application/x-ndjson"]["schema"]["items"] == {
        "$ref": "#/components/schemas/RatingRow"}
    assert "Content-Disposition" in success["headers"]


def test_comment_body_comes_from_comment_in(document):
    body = document["paths"]["/csat/comments"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CommentIn"}
    properties = document["components"]["schemas"]["CommentIn"]["properties"]
    assert set(properties) == {"ratingId", "comments"}
    # Trimmed before the 1-2000 check: the limit is a pattern over the untrimmed text.
    assert "{0,1998}" in properties["comments"]["pattern"] and "maxLength" not in properties["comments"]


def test_real_responses_match_the_documented_schemas(client, document):
    agents = client.get("/csat/agents/list", headers=bearer(make_token()))
    assert agents.status_code == 200
    assert conforms(document, agents.get_json(), "#/components/schemas/AgentsOut")

    page = client.get("/csat?length=3", headers=bearer(make_token()))
    assert page.status_code == 200
    schema = document["paths"]["/csat"]["get"]["responses"]["200"]["content"]["application/json"]
    assert conforms(document, page.get_json(), schema["schema"]["$ref"])
    export = client.get("/csat?report=true&score=1", headers=bearer(make_token()))
    assert export.headers["Content-Type"] == "application/x-ndjson"
    for line in export.get_data().splitlines():
        rows = orjson.loads(line)
        assert isinstance(rows, list) and rows
        assert all(conforms(document, row, "#/components/schemas/RatingRow") for row in rows)
    export.close()

    for response in (client.get("/csat?length=5000", headers=bearer(make_token())),
                     client.get("/csat/agents/list"),
                     client.get("/nope")):
        assert response.status_code in (400, 401, 404)
        assert conforms(document, response.get_json(), "#/components/schemas/Boom")


@pytest.mark.parametrize("path, name", [("/csat/{id}", "id"), ("/csat/{id}/follow-ups", "id"),
                                        ("/csat/ticket/{ticketId}", "ticketId")])
def test_path_parameters_carry_the_names_the_api_documents(document, path, name):
    parameters = [p for p in document["paths"][path]["get"]["parameters"] if p["in"] == "path"]
    assert [(p["name"], p["required"], p["schema"]["type"]) for p in parameters] == [
        (name, True, "integer")]
