"""docs/api.md stays true to the schemas and routes it documents.

The document marks its tables and examples with HTML comments naming schema classes:
- `<!-- fields: schemas.summary.Headline schemas.summary.SummaryOut -->` before a Markdown
  table whose first column holds field names in backticks. A schema's documented fields are
  the union of every table naming it, compared with its fields' wire names (data_key), so
  one table can serve several schemas (the list's filters are the summary's too). A `Null`
  column, when present, must say `yes` exactly for the fields that allow null.
- `<!-- example: schemas.ratings.RatingPage -->` before a ```json block the schema must load.

Every schema class defined in a module of `schemas/` must be documented: a new schema or a
new field fails here until docs/api.md describes it. To document one, add a marked table
(and an example) to docs/api.md; nothing in this file needs to change. The only names
documented outside a schema are listed in DOCUMENTED_OUTSIDE_SCHEMA.
"""

import importlib
import inspect
import json
import pkgutil
import re
from collections import defaultdict

import marshmallow
import pytest

import schemas
from tests.servers import ROOT

API_DOC = ROOT / "docs" / "api.md"

# Names a schema's table documents that the schema itself does not read, and why.
DOCUMENTED_OUTSIDE_SCHEMA = {
    # localeId (query or X-Locale-Id header) is read by csat/auth.py for every filtered endpoint.
    "schemas.ratings.ListArgs": {"localeId"},
    "schemas.summary.SummaryArgs": {"localeId"},
    "schemas.themes.ThemesArgs": {"localeId"},
}

_FIELDS_MARKER = re.compile(r"^<!--\s*fields:\s*(?P<names>[\w. ]+?)\s*-->\s*$")
_EXAMPLE_MARKER = re.compile(r"^<!--\s*example:\s*(?P<name>[\w.]+)\s*-->\s*$")
_FIELD_NAME = re.compile(r"^`(?P<name>[^`]+)`")
_HEADING_OPERATION = re.compile(r"`(?P<method>GET|POST|PUT|PATCH|DELETE) (?P<path>/[^`\s]*)`")


def schema_classes():
    """{"schemas.module.Class": Class} for every Schema defined in a module of schemas/."""
    found = {}
    for module_info in pkgutil.iter_modules(schemas.__path__):
        module = importlib.import_module(f"schemas.{module_info.name}")
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, marshmallow.Schema)
                    and value.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = value
    return found


def wire_fields(schema_class):
    """{wire name: field} of a schema: the names the API sends or reads."""
    return {field.data_key or name: field for name, field in schema_class().fields.items()}


def _table_after(lines, start):
    """The Markdown table starting at or after lines[start] (blank lines skipped): its header
    cells and its body rows as lists of cells."""
    index = start
    while index < len(lines) and not lines[index].strip():
        index += 1
    table = []
    while index < len(lines) and lines[index].lstrip().startswith("|"):
        table.append([cell.strip() for cell in lines[index].strip().strip("|").split("|")])
        index += 1
    if len(table) < 3:
        return None, []
    return table[0], table[2:]  # table[1] is the |---| separator


def _json_block_after(lines, start):
    index = start
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index >= len(lines) or lines[index].strip() != "```json":
        return None
    end = lines.index("```", index + 1)
    return "\n".join(lines[index + 1:end])


def parse_doc(text):
    """(fields, examples, problems): fields = {schema: {name: null cell or None}};
    examples = [(schema, json text, line number)]; problems = malformed markers."""
    lines = text.splitlines()
    fields = defaultdict(dict)
    examples, problems = [], []
    for number, line in enumerate(lines, start=1):
        marker = _FIELDS_MARKER.match(line.strip())
        if marker:
            header, rows = _table_after(lines, number)
            if header is None:
                problems.append(f"line {number}: `fields` marker without a table after it")
                continue
            null_column = header.index("Null") if "Null" in header else None
            for row in rows:
                name = _FIELD_NAME.match(row[0])
                if name is None:
                    problems.append(f"line {number}: first cell {row[0]!r} is not a `name`")
                    continue
                null = row[null_column] if null_column is not None else None
                for schema in marker["names"].split():
                    fields[schema][name["name"]] = null
            continue
        marker = _EXAMPLE_MARKER.match(line.strip())
        if marker:
            block = _json_block_after(lines, number)
            if block is None:
                problems.append(f"line {number}: `example` marker without a ```json block after it")
            else:
                examples.append((marker["name"], block, number))
    return fields, examples, problems


@pytest.fixture(scope="module")
def doc_text():
    return API_DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def parsed(doc_text):
    return parse_doc(doc_text)


def test_markers_are_well_formed_and_name_real_schemas(parsed):
    fields, examples, problems = parsed
    named = set(fields) | {name for name, _, _ in examples}
    assert problems == []
    assert sorted(named - set(schema_classes())) == [], "markers naming no schema class in schemas/"


@pytest.mark.parametrize("schema_name", sorted(schema_classes()))
def test_every_schema_field_is_documented_and_nothing_else(parsed, schema_name):
    documented = parsed[0].get(schema_name)
    assert documented, (f"docs/api.md has no `<!-- fields: {schema_name} -->` table: "
                        "document the schema (see tests/test_api_docs.py)")
    schema_fields = wire_fields(schema_classes()[schema_name])
    outside = DOCUMENTED_OUTSIDE_SCHEMA.get(schema_name, set())
    assert not outside & set(schema_fields), "now a schema field: drop it from DOCUMENTED_OUTSIDE_SCHEMA"
    missing = sorted(set(schema_fields) - set(documented))
    extra = sorted(set(documented) - set(schema_fields) - outside)
    assert (missing, extra) == ([], []), (
        f"{schema_name}: fields missing from docs/api.md: {missing}; "
        f"documented but not in the schema: {extra}")


@pytest.mark.parametrize("schema_name", sorted(schema_classes()))
def test_documented_nullability_matches_the_schema(parsed, schema_name):
    documented = parsed[0].get(schema_name, {})
    schema_fields = wire_fields(schema_classes()[schema_name])
    wrong = {name: null for name, null in documented.items()
             if null is not None and name in schema_fields
             and null.lower().startswith("yes") != schema_fields[name].allow_none}
    assert wrong == {}, f"{schema_name}: the Null column disagrees with allow_none for {sorted(wrong)}"


def test_examples_load_with_their_schemas(parsed):
    known = schema_classes()
    examples = parsed[1]
    assert len(examples) >= 10
    failures = []
    for schema_name, block, line in examples:
        try:
            known[schema_name]().load(json.loads(block))
        except (marshmallow.ValidationError, json.JSONDecodeError) as exc:
            failures.append(f"line {line} ({schema_name}): {exc}")
    assert failures == []


def test_every_openapi_operation_has_a_heading_and_no_heading_is_stale(client, doc_text):
    document = client.get("/csat/openapi.json").get_json()
    operations = {f"{method.upper()} {path}"
                  for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    headed = {f"{match['method']} {match['path']}"
              for line in doc_text.splitlines() if line.startswith("#")
              for match in _HEADING_OPERATION.finditer(line)}
    assert sorted(operations - headed) == [], "operations without a heading in docs/api.md"
    assert sorted(headed - operations) == [], "headings naming an operation the service lacks"


@pytest.mark.parametrize("path", ["README.md", "docs/api.md"])
def test_the_repository_documents_itself(path):
    text = (ROOT / path).read_text(encoding="utf-8")
    assert "../shared" not in text and "shared/spec" not in text
    if path == "README.md":
        assert "(docs/api.md)" in text


def _heading_anchor(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def test_every_link_within_the_page_has_a_target(doc_text):
    lines = doc_text.splitlines()
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', doc_text))
    seen = defaultdict(int)
    for line in lines:
        if line.startswith("#"):
            anchor = _heading_anchor(line)
            anchors.add(anchor if seen[anchor] == 0 else f"{anchor}-{seen[anchor]}")
            seen[anchor] += 1
    targets = set(re.findall(r"\]\(#([^)]+)\)", doc_text))
    assert sorted(targets - anchors) == []
